"""CPU-simulator throughput on the MNIST CNN against T x the float32 forward pass of the same
network and batch, measured side by side in one run (the ratio is what we track).

    python benchmarks/cpusim_throughput.py [--graph runs/mnist/graph] [--samples 10000] [--steps 8] [--impl torch]

Without ``--graph`` a random-weight integer CNN of the MNIST zoo shape is used
(conv16 5x5 - pool - conv32 5x5 - pool - fc128 - fc10) with random 8-bit inputs; with a graph
folder from ``neurodeploy convert`` and MNIST at ../shared/data/mnist the real test images are used.
Prints a table and writes JSON (``--out``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Conv, Dense, Flatten, Graph, IFPopulation, Input, Readout, SumPool, load_graph


def mnist_shaped_graph(seed: int = 0) -> Graph:
    """Random integer weights in the shape of the zoo's MNIST CNN."""
    rng = np.random.default_rng(seed)

    def pop(name: str, src: str, shape: tuple[int, ...], theta: int) -> IFPopulation:
        return IFPopulation(name, src, shape, threshold=np.full(shape, theta), v0=np.full(shape, theta // 2),
                            bias_mant=rng.integers(-4, 5, shape))

    nodes = [Input("input", (1, 28, 28), bits=8, scale=1 / 256),
             Conv("conv1", "input", rng.integers(-40, 41, (16, 1, 5, 5)), padding=2),
             pop("if1", "conv1", (16, 28, 28), 1 << 16), SumPool("pool1", "if1", 2),
             Conv("conv2", "pool1", rng.integers(-40, 41, (32, 16, 5, 5)), padding=2),
             pop("if2", "conv2", (32, 14, 14), 1 << 9), SumPool("pool2", "if2", 2), Flatten("flat", "pool2"),
             Dense("fc1", "flat", rng.integers(-40, 41, (128, 1568))), pop("if3", "fc1", (128,), 1 << 9),
             Dense("fc2", "if3", rng.integers(-40, 41, (10, 128))),
             Readout("out", "fc2", (10,), bias_mant=np.zeros(10, np.int64))]
    return Graph(tuple(nodes), meta={"origin": "random MNIST-shaped CNN"})


def float_forward_seconds(graph: Graph, x: np.ndarray, repeats: int) -> float:
    """Time one float32 forward pass of the same layers (torch, same batch), best of ``repeats``."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(os.cpu_count() or 1)
    params = {n.name: torch.tensor(n.weight, dtype=torch.float32) for n in graph.nodes
              if isinstance(n, (Dense, Conv))}
    xt = torch.tensor(x, dtype=torch.float32)

    def forward() -> torch.Tensor:
        h = xt
        for n in graph.nodes:
            if isinstance(n, Conv):
                h = F.conv2d(h, params[n.name], stride=n.stride, padding=n.padding)
            elif isinstance(n, Dense):
                h = h @ params[n.name].T
            elif isinstance(n, IFPopulation):
                h = torch.clamp(torch.floor(h / 64.0 + 0.5), 0, 4)
            elif isinstance(n, SumPool):
                h = F.avg_pool2d(h, n.kernel)
            elif isinstance(n, Flatten):
                h = h.flatten(1)
        return h

    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            forward()
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", type=Path, default=None, help="graph folder (default: random MNIST-shaped CNN)")
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--impl", default="fast", choices=["fast", "torch"], help="simulator implementation")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/cpusim_throughput.json"))
    args = ap.parse_args()
    graph = load_graph(args.graph) if args.graph else mnist_shaped_graph()
    if args.graph and graph.meta.get("dataset") == "mnist":
        from neurodeploy.data import load_dataset

        x = load_dataset("mnist").x_test[: args.samples]
    else:
        x = np.random.default_rng(1).integers(0, 256, size=(args.samples, 1, 28, 28))
    t0 = time.perf_counter()
    simulate(graph, x, args.steps, impl=args.impl)
    sim_s = time.perf_counter() - t0
    fwd_s = float_forward_seconds(graph, x, repeats=2)
    row = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
           "date": date.today().isoformat(), "graph": str(args.graph or "random MNIST-shaped CNN"),
           "samples": int(len(x)), "steps": args.steps, "impl": args.impl, "cpusim_s": round(sim_s, 2),
           "float_forward_s": round(fwd_s, 3), "T_x_forward_s": round(args.steps * fwd_s, 2),
           "ratio_cpusim_to_T_x_forward": round(sim_s / (args.steps * fwd_s), 2),
           "samples_per_s": round(len(x) / sim_s, 1)}
    print(f"{'samples':>8} {'T':>3} {'cpusim s':>9} {'T x fwd s':>10} {'ratio':>6} {'samples/s':>10}")
    print(f"{row['samples']:>8} {args.steps:>3} {row['cpusim_s']:>9} {row['T_x_forward_s']:>10} "
          f"{row['ratio_cpusim_to_T_x_forward']:>6} {row['samples_per_s']:>10}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
