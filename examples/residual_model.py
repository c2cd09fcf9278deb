"""Your own residual model, from its Python file to a bit-exact SNN verified on Lava.

The model is ``examples/my_resnet.py:tiny_resnet`` (a Brevitas ResNet whose ``forward`` uses
``+``).  The script runs the CLI exactly as you would type it:

    neurodeploy train   --model examples.my_resnet:tiny_resnet --dataset digits --input-shape 1,8,8 \
                        --levels 4 --out RUN/ckpt
    neurodeploy convert RUN/ckpt --out RUN/graph          # traced with torch.fx, merges aligned
    neurodeploy inspect RUN/graph                         # shows each merge and its branch exponents
    neurodeploy eval    RUN/graph --checkpoint RUN/ckpt --steps 1,2,4,8
    neurodeploy verify  RUN/graph --target lava --samples 10 --steps 8

Run from the repository root:  python examples/residual_model.py [--quick] [--out runs/own_resnet]
(about two minutes on 2 cores; --quick trains for 6 epochs and verifies 3 samples).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def neurodeploy(*args: str) -> str:
    """Run one CLI command from the repository root; stop with its message if it fails."""
    cmd = [sys.executable, "-m", "neurodeploy", *args]
    print("$ neurodeploy", " ".join(args), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"neurodeploy {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 epochs, 3 Lava samples (CI smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "own_resnet")
    args = parser.parse_args()
    run = args.out.resolve()
    if run.exists() and (run / ".example-run").is_file():
        shutil.rmtree(run)                       # only a folder this script created earlier
    run.mkdir(parents=True, exist_ok=False)
    (run / ".example-run").write_text("created by examples/residual_model.py\n")
    epochs = "6" if args.quick else "30"
    neurodeploy("train", "--model", "examples.my_resnet:tiny_resnet", "--dataset", "digits", "--input-shape", "1,8,8",
                "--levels", "4", "--epochs", epochs, "--lr", "5e-3", "--seed", "0", "--out", str(run / "ckpt"), "--json")
    report = json.loads(neurodeploy("convert", str(run / "ckpt"), "--out", str(run / "graph"), "--json"))
    print(neurodeploy("inspect", str(run / "graph")))
    result = json.loads(neurodeploy("eval", str(run / "graph"), "--checkpoint", str(run / "ckpt"),
                                    "--steps", "1,2,4,8", "--json"))
    print(neurodeploy("verify", str(run / "graph"), "--target", "lava", "--samples", "3" if args.quick else "10",
                      "--steps", "8"))
    print(f"conversion exact (integer reference == Brevitas ANN, checked): {report['exact']}")
    print(f"ANN {100 * result['ann']:.2f}%  integer reference {100 * result['integer_reference']:.2f}%  "
          + "  ".join(f"SNN T={t} {100 * a:.2f}%" for t, a in result["snn"].items()))


if __name__ == "__main__":
    main()
