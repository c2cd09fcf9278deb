"""Shared helpers for the Lava tests (no Lava import here)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurodeploy.ir.dtypes import IntT
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, IFPopulation, Input, Node, Readout

LIF_STATE_T = IntT(18)   # stock LIF holds 64*v in 24 bits


def lif_compatible(graph: Graph) -> Graph:
    """Express a zero-reset graph in lava-sim-lif's formats without changing its semantics:
    bias folded to exponent 0 and an 18-bit state type (v is held as 64*v in 24 bits)."""
    nodes = [replace(n, state_t=LIF_STATE_T, bias_mant=n.bias, bias_exp=0)
             if isinstance(n, IFPopulation) else n for n in graph.nodes]
    return graph.with_nodes(nodes)


def _pop(rng: np.random.Generator, name: str, src: str, shape: tuple[int, ...]) -> IFPopulation:
    th = rng.integers(8, 300, size=shape)
    return IFPopulation(name, src, shape, th, th // 2, rng.integers(-8, 9, size=shape), bias_exp=1)


def odd_cnn(seed: int) -> Graph:
    """A CNN without pooling on a non-square 2x7x6 input: 3x3 conv (pad 1, weight_exp -2),
    3x2 conv (stride 2, pad 1, weight_exp +1), flatten, dense readout.  Non-square shapes and
    kernels catch XYC transposes and kernel flips; negative/positive exponents both paths."""
    rng = np.random.default_rng(seed)
    nodes: list[Node] = [
        Input("input", (2, 7, 6), bits=4, scale=1 / 16),
        Conv("conv1", "input", rng.integers(-128, 128, (3, 2, 3, 3)), stride=1, padding=1, weight_exp=-2),
        _pop(rng, "if1", "conv1", (3, 7, 6)),
        Conv("conv2", "if1", rng.integers(-128, 128, (4, 3, 3, 2)), stride=2, padding=1, weight_exp=1),
        _pop(rng, "if2", "conv2", (4, 4, 4)),
        Flatten("flat", "if2"),
        Dense("fc", "flat", rng.integers(-128, 128, (5, 64)), weight_exp=0),
        Readout("out", "fc", (5,), bias_mant=rng.integers(-8, 9, 5)),
    ]
    return Graph(tuple(nodes), meta={"origin": f"odd_cnn({seed})"})


def assert_same(expected, actual, names) -> None:
    """Zero-tolerance comparison of two Traces on populations ``names`` and the readout."""
    for name in names:
        np.testing.assert_array_equal(actual.spikes[name], expected.spikes[name], err_msg=f"{name} spikes")
        np.testing.assert_array_equal(actual.v[name], expected.v[name], err_msg=f"{name} v")
    np.testing.assert_array_equal(actual.readout, expected.readout, err_msg="readout")
