"""Per-sample time of Lava's CPU simulation (Loihi2SimCfg fixed_pt, all samples in one run)
vs the neurodeploy CPU simulator (fast mode) on the same network, inputs and T, side by side.

    python benchmarks/lava_vs_cpusim.py [--samples 10] [--steps 8] [--out results.json]
                                        [--graph DIR ...] [--nets mlp,cnn]

Without ``--graph`` random integer networks are used, shaped like the digits MLP
(64-128-64-10, 4-bit inputs) and the MNIST CNN (1x28x28 -> conv16 5x5 pad2 -> IF -> pool2 ->
conv32 5x5 pad2 -> IF -> pool2 -> flatten -> 128 -> IF -> 10, 8-bit inputs).  Lava runs with
probes off (readout only), as a verification subset would; the readouts of both are compared
exactly and the result is reported.  Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from neurodeploy.backends.cpusim.simulate import simulate
from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, IFPopulation, Input, Readout, SumPool
from neurodeploy.ir.random_graph import random_inputs, random_mlp
from neurodeploy.ir.serialize import load_graph


def _pop(rng: np.random.Generator, name: str, src: str, shape: tuple[int, ...], theta: int) -> IFPopulation:
    th = np.full(shape, theta)
    return IFPopulation(name, src, shape, th, th // 2, rng.integers(-4, 5, size=shape))


def mnist_cnn(seed: int = 0) -> Graph:
    """Random integer CNN of the MNIST shape (see the module docstring)."""
    rng = np.random.default_rng(seed)
    w = lambda *s: rng.integers(-64, 65, size=s)  # noqa: E731
    nodes = [
        Input("input", (1, 28, 28), bits=8, scale=1 / 256),
        Conv("conv1", "input", w(16, 1, 5, 5), padding=2, weight_exp=-2),
        _pop(rng, "if1", "conv1", (16, 28, 28), 2000),
        SumPool("pool1", "if1", 2),
        Conv("conv2", "pool1", w(32, 16, 5, 5), padding=2, weight_exp=0),
        _pop(rng, "if2", "conv2", (32, 14, 14), 400),
        SumPool("pool2", "if2", 2),
        Flatten("flat", "pool2"),
        Dense("fc1", "flat", w(128, 32 * 7 * 7), weight_exp=0),
        _pop(rng, "if3", "fc1", (128,), 300),
        Dense("fc2", "if3", w(10, 128), weight_exp=0),
        Readout("out", "fc2", (10,), bias_mant=np.zeros(10, np.int64)),
    ]
    return Graph(tuple(nodes), meta={"origin": f"mnist_cnn(seed={seed})"})


def digits_mlp(seed: int = 0) -> Graph:
    return random_mlp(seed, sizes=(64, 128, 64, 10), input_bits=4)


def bench(name: str, graph: Graph, samples: int, steps: int) -> dict[str, object]:
    x = random_inputs(graph, samples, seed=1)
    simulate(graph, x[:1], steps)                                  # warm-up (imports, BLAS)
    t0 = time.perf_counter()
    ref = simulate(graph, x, steps)
    t_cpu = time.perf_counter() - t0
    be = LavaBackend()
    t0 = time.perf_counter()
    act = be.run(graph, x, steps)
    t_lava = time.perf_counter() - t0
    run_s = be.last_timings.get("run_s", float("nan"))
    return {
        "net": name, "samples": samples, "steps": steps, "depth": graph.depth,
        "physical_steps": int(be.last_timings.get("physical_steps", 0)),
        "cpusim_per_sample_ms": 1e3 * t_cpu / samples,
        "lava_per_sample_ms": 1e3 * t_lava / samples,
        "lava_run_per_step_ms": 1e3 * run_s / max(be.last_timings.get("physical_steps", 1), 1),
        "lava_total_s": t_lava, "cpusim_total_s": t_cpu,
        "ratio_lava_over_cpusim": t_lava / t_cpu if t_cpu > 0 else float("inf"),
        "readout_identical": bool(np.array_equal(ref.readout, act.readout)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/lava_vs_cpusim.json"))
    ap.add_argument("--graph", type=Path, action="append", default=[], help="saved graph folder(s)")
    ap.add_argument("--nets", default="mlp,cnn", help="random nets to run without --graph")
    args = ap.parse_args()
    nets: list[tuple[str, Graph]] = [(str(p), load_graph(p)) for p in args.graph]
    if not nets:
        builders = {"mlp": ("digits-mlp 64-128-64-10", digits_mlp), "cnn": ("mnist-cnn", mnist_cnn)}
        nets = [(builders[k][0], builders[k][1]()) for k in args.nets.split(",") if k]
    rows = [bench(name, g, args.samples, args.steps) for name, g in nets]
    hdr = f"{'network':28s} {'T':>3s} {'N':>4s} {'cpusim ms/sample':>17s} {'lava ms/sample':>15s} " \
          f"{'lava ms/step':>13s} {'ratio':>7s} {'equal':>6s}"
    print(hdr)
    for r in rows:
        print(f"{r['net']:28s} {r['steps']:>3d} {r['samples']:>4d} {r['cpusim_per_sample_ms']:>17.2f} "
              f"{r['lava_per_sample_ms']:>15.1f} {r['lava_run_per_step_ms']:>13.2f} "
              f"{r['ratio_lava_over_cpusim']:>7.0f} {str(r['readout_identical']):>6s}")
    doc = {"machine": platform.platform(), "python": platform.python_version(),
           "cpus": __import__("os").cpu_count(), "results": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
