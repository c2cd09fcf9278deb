"""fold_pooling removes every SumPool (into a Conv or Flatten -> Dense, including strided,
overlapping, padded and global pools, pools of pools and a pool read by several synapses)
and the folded graph simulates bit-identically (spikes, v, readout at every step); weights
that overlapping windows push beyond int8 are split into synapses that sum into the same
population; pools it cannot fold exactly are refused with the node named."""
from __future__ import annotations

import numpy as np
import pytest
from neurodeploy.backends.cpusim import simulate

from neurodeploy.ir import (
    Conv,
    Dense,
    Flatten,
    Graph,
    IFPopulation,
    Input,
    IRError,
    Readout,
    Schedule,
    SumPool,
    verify_graph,
)
from neurodeploy.ir.nodes import Concat
from neurodeploy.ir.random_graph import random_cnn, random_dag, random_inputs
from neurodeploy.passes.fold_pooling import fold_pooling


def pop(rng, name: str, src, shape: tuple[int, ...]) -> IFPopulation:
    th = rng.integers(20, 200, shape)
    return IFPopulation(name, src, shape, threshold=th, v0=th // 2, bias_mant=rng.integers(-4, 5, shape))


def pooled_net(seed: int, stride: int, padding: int) -> Graph:
    rng = np.random.default_rng(seed)
    w = lambda *s: rng.integers(-128, 128, s)
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


def overlap_net(seed: int, schedule: Schedule | None = None) -> Graph:
    """Overlapping padded pool (3x3, stride 2, pad 1) read by two convs (one dilated, into a
    merge), a non-square overlapping pool (2x3, stride (1, 2)) before Flatten -> Dense and a
    global pool -> Flatten -> Dense, all into the readout."""
    rng = np.random.default_rng(seed)
    w = lambda *s: rng.integers(-128, 128, s)
    nodes = [Input("input", (2, 7, 7), bits=4),
             Conv("c1", "input", w(3, 2, 3, 3), padding=1), pop(rng, "if1", "c1", (3, 7, 7)),
             SumPool("p1", "if1", kernel=3, stride=2, padding=1),             # (3, 4, 4)
             Conv("c2", "p1", w(4, 3, 3, 3), padding=1, weight_exp=1),
             Conv("c3", "p1", w(4, 3, 2, 2), padding=1, dilation=2),
             pop(rng, "if2", ("c2", "c3"), (4, 4, 4)),
             SumPool("p2", "if2", kernel=(2, 3), stride=(1, 2)), Flatten("f2", "p2"),  # (4, 3, 1)
             Dense("fc2", "f2", w(5, 12)),
             SumPool("gp", "if1", kernel=(7, 7)), Flatten("fg", "gp"), Dense("fcg", "fg", w(5, 3)),
             Readout("out", ("fc2", "fcg"), (5,), bias_mant=rng.integers(-4, 5, 5))]
    return Graph(tuple(nodes), schedule=schedule or Schedule())


def assert_same_simulation(g: Graph, seed: int) -> Graph:
    f = fold_pooling(g)
    verify_graph(f)
    assert not any(isinstance(n, SumPool) for n in f.nodes)
    x = random_inputs(g, 4, seed)
    a = simulate(g, x, 5, probes="all", record_v=True)
    b = simulate(f, x, 5, probes="all", record_v=True)
    np.testing.assert_array_equal(a.readout, b.readout)
    assert set(a.v) == set(b.v)
    for k in a.v:
        np.testing.assert_array_equal(a.v[k], b.v[k])
        np.testing.assert_array_equal(a.spikes[k], b.spikes[k])
    return f


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1), (1, 2)])
def test_fold_conv_and_dense(stride: int, padding: int) -> None:
    for seed in range(2):
        assert_same_simulation(pooled_net(seed, stride, padding), seed)


@pytest.mark.parametrize("schedule", [Schedule(), Schedule("srp", tau=2), Schedule("two_phase", window=3)])
def test_fold_random_cnn(schedule: Schedule) -> None:
    for seed in range(3):
        assert_same_simulation(random_cnn(seed, input_shape=(2, 12, 12), schedule=schedule), seed)


@pytest.mark.parametrize("schedule", [Schedule(), Schedule("two_phase", window=2)])
def test_fold_overlapping_padded_global_pools(schedule: Schedule) -> None:
    for seed in range(3):
        f = assert_same_simulation(overlap_net(seed, schedule), seed)
        c2 = f.node("c2")
        assert c2.source == "if1" and c2.stride == (2, 2) and c2.padding == (3, 3)
        assert c2.weight.shape[2:] == (7, 7) and f.node("c3").dilation == (1, 1)
        assert f.node("fcg").weight.shape == (5, 3 * 49)


def test_overlap_beyond_int8_is_split_into_summed_synapses() -> None:
    g = overlap_net(0)
    f = fold_pooling(g)
    split = [n.name for n in f.nodes if n.name.startswith("c2_fold")]
    assert split and set(f.node("if2").sources) == {"c2", "c3", *split}
    assert max(int(np.abs(f.node(n).weight).max()) for n in ("c2", *split)) <= 128
    bad = g.with_nodes([Conv("c2", "p1", np.full((4, 3, 3, 3), 100), padding=1, weight_exp=-1)
                        if n.name == "c2" else n for n in g.nodes])
    with pytest.raises(IRError, match="p1: folding into c2 .*weight_exp >= 0"):
        fold_pooling(bad)


def test_fold_random_dags() -> None:
    for seed in (3, 4, 7):
        assert_same_simulation(random_dag(seed, input_shape=(2, 5, 5), blocks=3, weight_exps=(0, 1)), seed)


def test_fold_is_pure_and_keeps_names() -> None:
    g = random_cnn(0)
    f = fold_pooling(g)
    assert any(isinstance(n, SumPool) for n in g.nodes)
    assert [n.name for n in f.nodes] == [n.name for n in g.nodes if not isinstance(n, SumPool)]
    c2 = f.node("conv2")
    assert c2.weight.shape[2:] == (6, 6) and c2.stride == (2, 2) and c2.source == "if1"


def test_unfoldable_pools_are_refused() -> None:
    rng = np.random.default_rng(0)
    base = [Input("input", (1, 6, 6)), Conv("c1", "input", rng.integers(-9, 9, (1, 1, 1, 1))),
            pop(rng, "if1", "c1", (1, 6, 6)), SumPool("p1", "if1", kernel=3, stride=2, padding=1)]
    tail = [pop(rng, "if2", "c2", (1, 3, 3)), Flatten("f", "if2"),
            Dense("fc", "f", rng.integers(-9, 9, (2, 9))), Readout("out", "fc", (2,), bias_mant=0)]
    # conv padding around an even-sized pool output would read real inputs at the far edge
    inexact = base + [Conv("c2", "p1", rng.integers(-9, 9, (1, 1, 3, 3)), padding=1)] + tail
    with pytest.raises(IRError, match="p1: folding into c2 is not exact"):
        fold_pooling(Graph(tuple(inexact)))
    into_concat = base + [Concat("cat", ("p1", "p1x")), SumPool("p1x", "if1", kernel=2, stride=2),
                          Conv("c2", "cat", rng.integers(-9, 9, (1, 2, 1, 1)))] + tail
    with pytest.raises(IRError, match="p1x?: cannot fold a SumPool into Concat"):
        fold_pooling(Graph(tuple(into_concat)))
