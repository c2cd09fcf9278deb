"""NIR export checked by a peer: the MNIST CNN exported with ``neurodeploy export --format nir`` and
re-simulated in Norse 1.1.0's NIR importer, against the integer simulator on MNIST test images.

    python benchmarks/nir_peer.py                                  # runs/lif/cnn_ckpt, 1,000 images, T = 8
    python benchmarks/nir_peer.py --samples 200 --no-lossy --out /tmp/quick.json

Steps (each a real CLI command, printed): convert the checkpoint with ``--neuron zero`` (target
``loihi2``: the default ``lava-sim-lif`` target of zero-reset graphs refuses this CNN's 18-bit
accumulator), export it, then :func:`neurodeploy.interop.nir_peer.compare` per dtype: every
sample fed unbatched to ``norse.torch.from_nir``'s module for ``T`` steps, predictions, readout
values and spike trains compared with the simulator's.  ``--lossy`` also converts the default
subtractive-reset graph and exports it with ``--allow-loss`` to measure what that loss costs.
``--dag-seeds`` adds random zero-reset residual/concat DAGs, run by ``from_nir`` and by Norse's
modules in topological order (``nir_to_torch``), to show that the DAG differences are the edges
nirtorch's depth-first executor delays.  Norse, nirtorch: the ``nir-peer`` extra plus
``pip install --no-deps norse==1.1.0`` (``make setup`` does both).  Writes JSON (``--out``) and
prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "neurodeploy"]


def run_cli(args: list[str]) -> str:
    """Run one ``neurodeploy`` command (printed), stop on failure; returns its output."""
    print("$ neurodeploy " + " ".join(args), flush=True)
    proc = subprocess.run(CLI + args, check=False, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout + proc.stderr


def graph_and_file(ckpt: Path, work: Path, neuron: str, reuse: bool) -> tuple[Path, Path, list[str]]:
    """Convert ``ckpt`` with ``--neuron`` and export it; returns the graph folder, the file, the commands."""
    graph_dir, nir_file = work / f"cnn_{neuron}", work / f"cnn_{neuron}.nir"
    convert = ["convert", str(ckpt), "--out", str(graph_dir), "--neuron", neuron, "--target", "loihi2"]
    export = ["export", str(graph_dir), "--format", "nir", "--out", str(nir_file)]
    if neuron != "zero":
        export.append("--allow-loss")
    if not (reuse and (graph_dir / "graph.json").is_file()):
        run_cli(convert)
    print(run_cli(export).strip())
    return graph_dir, nir_file, ["neurodeploy " + " ".join(c) for c in (convert, export)]


def measure(graph_dir: Path, nir_file: Path, samples: int, steps: int, dtype: str) -> dict[str, Any]:
    from neurodeploy.interop.nir_peer import compare
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import load_test_data

    graph = load_graph(graph_dir)
    x, y = load_test_data(graph)
    x, y = x[:samples], y[:samples]
    t0 = time.perf_counter()
    report = compare(graph, nir_file, x, steps, dtype=dtype, labels=y)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def dag_rows(seeds: list[int], work: Path) -> list[dict[str, Any]]:
    """Random zero-reset DAGs (per-channel biases, no grouped conv or padded pool: Norse imports neither)."""
    import dataclasses

    import numpy as np

    from neurodeploy.interop.nir_export import write_nir
    from neurodeploy.interop.nir_peer import compare
    from neurodeploy.ir.nodes import IFPopulation, SumPool
    from neurodeploy.ir.random_graph import random_dag, random_inputs

    rows = []
    for seed in seeds:
        g = random_dag(seed, reset="zero", compare=">", weight_exps=(0, 1))
        if any(getattr(n, "groups", 1) != 1 or (isinstance(n, SumPool) and n.padding != (0, 0)) for n in g.nodes):
            continue
        g = g.with_nodes([dataclasses.replace(n, bias_mant=np.broadcast_to(
            n.bias_mant.reshape(n.shape[0], -1)[:, :1, None], n.shape)) if isinstance(n, IFPopulation)
            and len(n.shape) == 3 else n for n in g.nodes])
        path = work / f"dag{seed}.nir"
        edges = write_nir(g, path).graph.edges
        x = random_inputs(g, 200, seed)
        for executor in ("from_nir", "nir_to_torch"):
            r = compare(g, path, x, 8, executor=executor)
            rows.append({"seed": seed, "executor": executor, "edges": len(edges),
                         "late_edges": r["peer_late_edges"], "samples": r["samples"],
                         "readout_equal": r["readout_equal_samples"], "predictions_agree": r["predictions_agree"],
                         "unexplained": len(r["unexplained_samples"])})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt", type=Path, default=ROOT / "runs/lif/cnn_ckpt")
    ap.add_argument("--work", type=Path, default=Path("/tmp/nir_peer"))
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    ap.add_argument("--lossy", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--dag-seeds", type=int, nargs="*", default=[1, 5, 8, 12, 27, 30])
    ap.add_argument("--reuse", action="store_true", help="Reuse converted graphs found in --work.")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/nir_peer.json")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    from neurodeploy.interop.nir_peer import peer_versions

    rows, commands = [], []
    for neuron in ["zero"] + (["subtract"] if args.lossy else []):
        graph_dir, nir_file, cmds = graph_and_file(args.ckpt, args.work, neuron, args.reuse)
        commands += cmds
        for dtype in (args.dtypes if neuron == "zero" else args.dtypes[:1]):
            r = measure(graph_dir, nir_file, args.samples, args.steps, dtype)
            rows.append({"neuron": neuron, **r})
    dags = dag_rows(args.dag_seeds, args.work)
    doc = {"date": str(date.today()), "machine": platform.platform(), "cpus": os.cpu_count(),
           "python": platform.python_version(), "peer": "Norse (norse.torch.from_nir)", "versions": peer_versions(),
           "commands": commands, "benchmark": "python benchmarks/nir_peer.py " + " ".join(sys.argv[1:]),
           "results": rows, "dags": dags}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nNorse {doc['versions']['norse']} (nir {doc['versions']['nir']}, nirtorch {doc['versions']['nirtorch']}), "
          f"T = {args.steps}")
    print("| graph | dtype | images | predictions agree | every step | readout equal | spike trains equal "
          "(per layer) | saturated | unexplained | accuracy IR / peer | s |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---|---:|")
    for r in rows:
        trains = ", ".join(f"{p['trains_equal_samples']}" for p in r["populations"].values())
        print(f"| CNN {r['neuron']} | {r['dtype']} | {r['samples']} | {r['predictions_agree']} | "
              f"{r['predictions_agree_every_step']} | {r['readout_equal_samples']} | {trains} | "
              f"{r['saturated_samples']} | {len(r['unexplained_samples'])} | "
              f"{100 * r['accuracy_ir']:.1f} / {100 * r['accuracy_peer']:.1f} | {r['seconds']} |")
    if dags:
        print("\n| DAG seed | executor | late edges | readout equal | predictions agree | of |")
        print("|---:|---|---:|---:|---:|---:|")
        for d in dags:
            print(f"| {d['seed']} | {d['executor']} | {len(d['late_edges'])} | {d['readout_equal']} | "
                  f"{d['predictions_agree']} | {d['samples']} |")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
