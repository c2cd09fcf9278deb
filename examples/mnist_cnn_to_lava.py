"""MNIST CNN to a Lava deployment bundle with the command line, and the bundle checked from outside.

The commands, as you would type them (RUN is the --out folder):

    neurodeploy train   --model cnn --dataset mnist --levels 4 --limit 20000 --epochs 2 --out RUN/ckpt
    neurodeploy convert RUN/ckpt --out RUN/graph            # integer reference == Brevitas ANN, checked
    neurodeploy eval    RUN/graph --checkpoint RUN/ckpt --steps 1,2,4,8 --limit 2000
    neurodeploy verify  RUN/graph --target lava --samples 5 --steps 8
    neurodeploy build   RUN/graph --target lava --out RUN/bundle --vectors 5 --steps 8
    neurodeploy check-bundle RUN/bundle                      # manifest + hashes, then replay on Lava
    python RUN/bundle/deploy.py --check                      # the bundle's own check, no neurodeploy needed

MNIST is read from ../shared/data/mnist (checksummed, never downloaded; --data-dir elsewhere).
Run from the repository root:  python examples/mnist_cnn_to_lava.py [--quick] [--out runs/mnist_cnn]
(--quick: 2000 training images, 1 epoch, 300 test images, 1 Lava sample, and check-bundle checks the files
only, leaving the replay to deploy.py --check: a Lava run of this CNN takes about 15 s per sample).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from example_support import ROOT, fresh_run_folder, neurodeploy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subset, 1 epoch, 1 Lava sample (CI)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "mnist_cnn")
    parser.add_argument("--data-dir", type=Path, default=None, help="folder of the four MNIST IDX files")
    args = parser.parse_args()
    run = fresh_run_folder(args.out, "mnist_cnn_to_lava.py")
    ckpt, graph, bundle = str(run / "ckpt"), str(run / "graph"), str(run / "bundle")
    mnist = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    limit, epochs, test, lava = ("2000", "1", "300", "1") if args.quick else ("20000", "2", "2000", "5")

    # QAT on a seeded subset of the 60,000 training images (--limit), the CNN's MNIST recipe otherwise.
    trained = json.loads(neurodeploy("train", "--model", "cnn", "--dataset", "mnist", "--levels", "4",
                                     "--limit", limit, "--epochs", epochs, "--seed", "0", "--out", ckpt,
                                     "--json", *mnist))
    print(f"  ANN test accuracy {100 * trained['test_acc']:.2f}% after {trained['train_s']:.0f} s")
    report = json.loads(neurodeploy("convert", ckpt, "--out", graph, "--json", *mnist))
    checked = report["ann_check"]["samples"]
    print(f"  exact: {report['exact']} (integer reference vs ANN, {checked} test images)")
    # eval finds the test set through the graph's own metadata (dataset "mnist", its fingerprint checked).
    result = json.loads(neurodeploy("eval", graph, "--checkpoint", ckpt, "--steps", "1,2,4,8",
                                    "--limit", test, "--json", *mnist))
    neurodeploy("verify", graph, "--target", "lava", "--samples", lava, "--steps", "8", *mnist, echo=True)
    neurodeploy("build", graph, "--target", "lava", "--out", bundle, "--vectors", lava, "--steps", "8",
                *mnist, echo=True)
    neurodeploy("check-bundle", bundle, *(["--no-run"] if args.quick else []), echo=True)
    # The bundle is self-contained: its deploy.py checks its files and replays its test vectors on Lava.
    print(f"$ python {bundle}/deploy.py --check", flush=True)
    done = subprocess.run([sys.executable, str(run / "bundle" / "deploy.py"), "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    print(done.stdout.strip() or done.stderr.strip())
    if done.returncode != 0:
        raise SystemExit(f"deploy.py --check failed with status {done.returncode}")
    print(f"ANN {100 * result['ann']:.2f}%  integer reference {100 * result['integer_reference']:.2f}%  "
          + "  ".join(f"SNN T={t} {100 * a:.2f}%" for t, a in result["snn"].items())
          + f"  (first {result['samples']} test images)")


if __name__ == "__main__":
    main()
