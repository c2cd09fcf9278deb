"""Scaling of ``eval`` and of one QAT epoch with 1 and 2 processes under ``torchrun`` (gloo, CPU).

    python benchmarks/distributed_scaling.py [--checkpoint runs/lif/cnn_ckpt] [--graph GRAPH]
        [--samples 10000] [--steps 8] [--train-limit 10000] [--out benchmarks/results/distributed_scaling.json]

Runs the real command lines, end to end (process start, imports, data loading included):

* ``eval GRAPH --checkpoint CKPT --steps 8 --limit SAMPLES --json`` (MNIST CNN: the QAT ANN, the integer
  reference and the SNN on every sample) as one process, as one process with one thread, and as
  ``torchrun --standalone --nproc_per_node 2`` (one thread per rank, torchrun's default); the sharded output
  must equal the single-process output byte for byte (recorded as ``identical``).
* one epoch of ``train --model cnn --dataset mnist --limit TRAIN_LIMIT`` in the same three set-ups
  (``train_s``: the training loop with validation, from the command's own summary).

Without ``--graph`` the checkpoint is converted into a temporary folder first.  Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATE = "2026-12-01"
SETUPS = (("1 process", 1, None), ("1 process, 1 thread", 1, "1"), ("2 processes (torchrun)", 2, "1"))


def command(procs: int, args: list[str]) -> list[str]:
    """``python -m neurodeploy ARGS`` or the same under ``torchrun --nproc_per_node procs``."""
    if procs == 1:
        return [sys.executable, "-m", "neurodeploy", *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs),
            "-m", "neurodeploy", *args]


def timed(procs: int, threads: str | None, args: list[str]) -> tuple[float, str]:
    """``(wall seconds, stdout)`` of one run; any failure stops the benchmark with its stderr."""
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    t0 = time.perf_counter()
    proc = subprocess.run(command(procs, args), env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=Path("runs/lif/cnn_ckpt"))
    ap.add_argument("--graph", type=Path, default=None)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--train-limit", type=int, default=10000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/distributed_scaling.json"))
    args = ap.parse_args()
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        graph = args.graph
        if graph is None:
            graph = Path(tmp) / "graph"
            timed(1, None, ["convert", str(args.checkpoint), "--out", str(graph), "--json"])
        eval_args = ["eval", str(graph), "--checkpoint", str(args.checkpoint), "--steps", str(args.steps),
                     "--limit", str(args.samples), "--json"]
        outputs = []
        for name, procs, threads in SETUPS:
            wall, out = timed(procs, threads, eval_args)
            outputs.append(out)
            rows.append({"task": f"eval {args.samples} images T={args.steps}", "setup": name, "processes": procs,
                         "wall_s": round(wall, 2), "snn_acc": json.loads(out)["snn"][str(args.steps)],
                         "identical": out == outputs[0]})
        for i, (name, procs, threads) in enumerate(SETUPS):
            out_dir = Path(tmp) / f"ckpt{i}"
            wall, out = timed(procs, threads, ["train", "--model", "cnn", "--dataset", "mnist", "--epochs", "1",
                                               "--limit", str(args.train_limit), "--seed", "0",
                                               "--out", str(out_dir), "--json"])
            summary = json.loads(out)
            rows.append({"task": f"QAT 1 epoch, {args.train_limit} images", "setup": name, "processes": procs,
                         "wall_s": round(wall, 2), "train_s": round(summary["train_s"], 2),
                         "test_acc": summary["test_acc"]})
    print(f"{'task':<30}{'setup':<26}{'wall s':>8}{'train s':>9}  result")
    for r in rows:
        result = (f"SNN acc {r['snn_acc']:.4f}, identical to 1 process: {r['identical']}" if "snn_acc" in r
                  else f"test acc {r['test_acc']:.4f}")
        print(f"{r['task']:<30}{r['setup']:<26}{r['wall_s']:>8.1f}{r.get('train_s', float('nan')):>9.1f}  {result}")
    doc = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "load_average_at_start": load, "date": DATE, "checkpoint": str(args.checkpoint),
           "command": " ".join(sys.argv), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
