"""fold_pooling removes every SumPool (into a Conv, a following SumPool, or Flatten -> Dense,
including padded and strided convolutions) and the folded graph simulates bit-identically;
SumPools it cannot fold are refused with the node named."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import (Conv, Dense, Flatten, Graph, IFPopulation, Input, IRError, Readout,
                            Schedule, SumPool, verify_graph)
from neurodeploy.ir.random_graph import random_cnn, random_inputs
from neurodeploy.passes.fold_pooling import fold_pooling


def pop(rng, name: str, src: str, shape: tuple[int, ...]) -> IFPopulation:
    th = rng.integers(20, 200, shape)
    return IFPopulation(name, src, shape, threshold=th, v0=th // 2, bias_mant=rng.integers(-4, 5, shape))


def pooled_net(seed: int, stride: int, padding: int) -> Graph:
    rng = np.random.default_rng(seed)
    w = lambda *s: rng.integers(-128, 128, s)  # noqa: E731
    h2 = (4 + 2 * padding - 3) // stride + 1
    nodes = [Input("input", (2, 16, 16), bits=4),
             Conv("c1", "input", w(3, 2, 3, 3), padding=1), pop(rng, "if1", "c1", (3, 16, 16)),
             SumPool("p1", "if1", 2), SumPool("p2", "p1", 2),                 # pool of pool
             Conv("c2", "p2", w(4, 3, 3, 3), stride=stride, padding=padding, weight_exp=-1),
             pop(rng, "if2", "c2", (4, h2, h2))]
    if h2 % 2 == 0:
        nodes += [SumPool("p3", "if2", 2), Flatten("flat", "p3"),
                  Dense("fc", "flat", w(5, 4 * (h2 // 2) ** 2))]
    else:
        nodes += [Flatten("flat", "if2"), Dense("fc", "flat", w(5, 4 * h2 * h2))]
    nodes.append(Readout("out", "fc", (5,), bias_mant=rng.integers(-4, 5, 5)))
    return Graph(tuple(nodes))


def assert_same_simulation(g: Graph, seed: int) -> None:
    f = fold_pooling(g)
    verify_graph(f)
    assert not any(isinstance(n, SumPool) for n in f.nodes)
    x = random_inputs(g, 5, seed)
    a = simulate(g, x, 5, probes="all", record_v=True)
    b = simulate(f, x, 5, probes="all", record_v=True)
    np.testing.assert_array_equal(a.readout, b.readout)
    for k in a.v:
        np.testing.assert_array_equal(a.v[k], b.v[k])
        np.testing.assert_array_equal(a.spikes[k], b.spikes[k])


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1), (1, 2)])
def test_fold_conv_and_dense(stride: int, padding: int) -> None:
    for seed in range(2):
        assert_same_simulation(pooled_net(seed, stride, padding), seed)


@pytest.mark.parametrize("schedule", [Schedule(), Schedule("srp", tau=2), Schedule("two_phase", window=3)])
def test_fold_random_cnn(schedule: Schedule) -> None:
    for seed in range(3):
        assert_same_simulation(random_cnn(seed, input_shape=(2, 12, 12), schedule=schedule), seed)


def test_fold_is_pure_and_keeps_names() -> None:
    g = random_cnn(0)
    f = fold_pooling(g)
    assert any(isinstance(n, SumPool) for n in g.nodes)
    assert [n.name for n in f.nodes] == [n.name for n in g.nodes if not isinstance(n, SumPool)]
    c2 = f.node("conv2")
    assert c2.weight.shape[2:] == (6, 6) and c2.stride == 2 and c2.source == "if1"


def test_unfoldable_pool_is_refused() -> None:
    rng = np.random.default_rng(0)
    nodes = [Input("input", (1, 4, 4)), Conv("c1", "input", rng.integers(-9, 9, (1, 1, 1, 1))),
             pop(rng, "if1", "c1", (1, 4, 4)), SumPool("p1", "if1", 2), Flatten("flat", "p1"),
             Conv("c2", "input", rng.integers(-9, 9, (1, 1, 1, 1)))]
    with pytest.raises(IRError, match="p1"):
        fold_pooling(Graph(tuple(nodes)))
