"""Shared helpers for the Lava tests (no Lava import here)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurodeploy.ir.dtypes import IntT
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import Concat, Conv, Dense, Flatten, IFPopulation, Input, Node, Readout

LIF_STATE_T = IntT(18)   # stock LIF holds 64*v in 24 bits


def lif_compatible(graph: Graph) -> Graph:
    """Express a zero-reset graph in lava-sim-lif's formats without changing its semantics:
    bias folded to exponent 0 and an 18-bit state type (v is held as 64*v in 24 bits)."""
    nodes = [replace(n, state_t=LIF_STATE_T, bias_mant=n.bias, bias_exp=0)
             if isinstance(n, IFPopulation) else n for n in graph.nodes]
    return graph.with_nodes(nodes)


def _pop(rng: np.random.Generator, name: str, src: str | tuple[str, ...], shape: tuple[int, ...],
         theta: tuple[int, int] = (8, 300)) -> IFPopulation:
    th = rng.integers(*theta, size=shape)
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


def merge_net(seed: int, schedule: Schedule | None = None) -> Graph:
    """A small DAG with every construct the Lava plan splits or delays (depths in brackets):
    ``if1 [1] -> depthwise conv -> if2 [2] -> dilated conv -> if3 [3]`` plus a 1x1 shortcut
    ``if1 -> if3`` (residual merge, delay 1 through a relay); ``Concat(if1, if3)`` -> 1x1 conv
    with stride (2, 1) and padding (1, 0) -> ``if4 [4]`` (a part from if1 delayed 2);
    ``Concat(Flatten(if4), Flatten(if2))`` -> Dense ``fc`` and ``Flatten(input)`` -> Dense
    ``fc_in`` both into the readout [5] (DelayDense parts, graded input delayed 4)."""
    rng = np.random.default_rng(seed)
    w = lambda *s: rng.integers(-128, 128, s)
    nodes: list[Node] = [
        Input("input", (2, 5, 5), bits=4, scale=1 / 16),
        Conv("c1", "input", w(3, 2, 3, 3), padding=1), _pop(rng, "if1", "c1", (3, 5, 5), (200, 900)),
        Conv("c2", "if1", w(3, 1, 3, 3), padding=1, groups=3), _pop(rng, "if2", "c2", (3, 5, 5), (50, 300)),
        Conv("c3", "if2", w(3, 3, 3, 3), padding=2, dilation=2), Conv("sc", "if1", w(3, 3, 1, 1)),
        _pop(rng, "if3", ("c3", "sc"), (3, 5, 5), (50, 300)),
        Concat("cat", ("if1", "if3")),
        Conv("c4", "cat", w(2, 6, 1, 1), stride=(2, 1), padding=(1, 0)),
        _pop(rng, "if4", "c4", (2, 4, 5), (30, 200)),
        Flatten("f4", "if4"), Flatten("f2", "if2"), Concat("cat2", ("f4", "f2")),
        Dense("fc", "cat2", w(4, 40 + 75)), Flatten("fin", "input"), Dense("fc_in", "fin", w(4, 50)),
        Readout("out", ("fc", "fc_in"), (4,), bias_mant=rng.integers(-8, 9, 4)),
    ]
    return Graph(tuple(nodes), schedule=schedule or Schedule(), meta={"origin": f"merge_net({seed})"})


def lif_dag(seed: int) -> Graph:
    """:func:`merge_net` with zero reset, strict ">", one threshold per population and v0 = 0,
    in lava-sim-lif's formats: a residual/concat DAG on Lava's stock LIF."""
    g = merge_net(seed)
    nodes = [replace(n, reset="zero", compare=">", v0=np.zeros(n.shape, np.int64),
                     threshold=np.full(n.shape, int(n.threshold.max())))
             if isinstance(n, IFPopulation) else n for n in g.nodes]
    return lif_compatible(g.with_nodes(nodes))


def check_equal(graph: Graph, x: np.ndarray, steps: int, backend=None) -> None:
    """The Lava run equals the CPU simulator on every population's spikes and v and on the
    readout, at every logical step, and both mark the same first useful step."""
    from neurodeploy.backends.cpusim.simulate import simulate
    from neurodeploy.backends.lava.backend import LavaBackend
    be = backend or LavaBackend()
    assert be.check(graph) == []
    exp = simulate(graph, x, steps, probes="all", record_v=True, impl="reference")
    act = be.run(graph, x, steps, probes="all")
    assert_same(exp, act, [p.name for p in graph.populations()])
    assert act.first_useful_step == exp.first_useful_step


def assert_same(expected, actual, names) -> None:
    """Zero-tolerance comparison of two Traces on populations ``names`` and the readout."""
    for name in names:
        np.testing.assert_array_equal(actual.spikes[name], expected.spikes[name], err_msg=f"{name} spikes")
        np.testing.assert_array_equal(actual.v[name], expected.v[name], err_msg=f"{name} v")
    np.testing.assert_array_equal(actual.readout, expected.readout, err_msg="readout")
