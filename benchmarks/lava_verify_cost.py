"""What verification costs on Lava: ``verify`` (every layer's spikes and ``v`` streamed back,
compared with the CPU simulator) against an unprobed Lava run (readout only) of the same
samples, in one process, alternating A B A B; medians and the ratio.

    python benchmarks/lava_verify_cost.py GRAPH_DIR [--samples 50] [--steps 8] [--repeats 2]
                                          [--out benchmarks/results/lava_verify_cost.json]

Issue target: ``verify`` at most 2x the unprobed run (MNIST CNN, 50 samples x 8 steps).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.harness.verify import verify_backend
from neurodeploy.ir.serialize import load_graph
from neurodeploy.pipeline import load_test_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graph", type=Path)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/lava_verify_cost.json"))
    args = ap.parse_args()
    graph = load_graph(args.graph)
    x = load_test_data(graph)[0][:args.samples]
    backend = LavaBackend()
    unprobed, verified, timings = [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        backend.run(graph, x, args.steps, probes=())
        unprobed.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        report = verify_backend(graph, x, args.steps, backend=backend)
        verified.append(time.perf_counter() - t0)
        timings.append(backend.last_timings)
        if not report.ok:
            raise SystemExit(f"verification failed: {report.to_json()['first_divergence']}")
    a, b = statistics.median(unprobed), statistics.median(verified)
    print(f"{'run':<34}{'median s':>10}")
    print(f"{'Lava, unprobed (readout only)':<34}{a:>10.2f}")
    print(f"{'verify (all layers streamed)':<34}{b:>10.2f}")
    print(f"ratio verify / unprobed: {b / a:.2f}  (bit-exact on {args.samples} samples x {args.steps} steps)")
    doc = {"graph": str(args.graph), "samples": args.samples, "steps": args.steps,
           "unprobed_s": unprobed, "verify_s": verified, "ratio": b / a, "verify_timings": timings,
           "machine": platform.platform(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
