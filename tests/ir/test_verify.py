"""verify_graph refuses, naming the layer: an accumulator bound that exceeds the target's
current width (and accepts the bound right at the limit), weights outside 8 bits, a
population fed by something other than a synapse, and a merge whose summed current bound
exceeds the target although each branch fits."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.ir import (Dense, Graph, IFPopulation, Input, IntT, IRError, Readout, SumPool,
                            accumulator_bound, verify_graph)
from neurodeploy.ir.random_graph import random_cnn, random_mlp
from neurodeploy.targets import CPU


def dense_net(n_in: int, weight: int, bits: int = 8, weight_t: IntT = IntT(8)) -> Graph:
    inp = Input("input", (n_in,), bits=bits)
    fc = Dense("fc_big", "input", np.full((2, n_in), weight), weight_t=weight_t)
    return Graph((inp, fc, Readout("out", "fc_big", (2,), bias_mant=[0, 0])))


def test_random_graphs_verify() -> None:
    for seed in range(3):
        verify_graph(random_mlp(seed))
        verify_graph(random_cnn(seed))


def test_accumulator_overflow_refused_naming_layer() -> None:
    limit = IntT(CPU.current_bits).hi                      # 2**23 - 1
    n_ok = limit // (127 * 255)
    g_ok = dense_net(n_ok, 127)
    assert accumulator_bound(g_ok.nodes[1], 255) <= limit
    verify_graph(g_ok)
    with pytest.raises(IRError, match=r"fc_big: accumulator bound \d+ exceeds int24"):
        verify_graph(dense_net(n_ok + 1, 127))


def test_weight_out_of_8_bits_refused() -> None:
    g = dense_net(4, 300, weight_t=IntT(16))               # legal IR type, illegal for the target
    with pytest.raises(IRError, match=r"fc_big\.weight \(target cpu\)"):
        verify_graph(g)
    with pytest.raises(IRError, match=r"fc_big\.weight"):
        Dense("fc_big", "input", np.full((1, 2), 128))     # default int8 type refuses at build time


def test_population_must_follow_synapse() -> None:
    inp = Input("input", (1, 4, 4))
    pop = IFPopulation("if_bad", "pool", (1, 2, 2), threshold=1, v0=0, bias_mant=0)
    g = Graph((inp, SumPool("pool", "input", 2), pop, Readout("out", "if_bad", (1, 2, 2), 0)))
    with pytest.raises(IRError, match="if_bad.sources: 'pool' is a SumPool"):
        verify_graph(g)


def test_merge_sum_bound_refused_naming_population() -> None:
    """Two projections into one population: each fits int24, their sum does not."""
    limit = IntT(CPU.current_bits).hi
    n = limit // (127 * 255)
    inp = Input("input", (n,), bits=8)
    a = Dense("a", "input", np.full((2, n), 127))
    b = Dense("b", "input", np.full((2, n), 127))
    pop = IFPopulation("merge", ("a", "b"), (2,), threshold=1 << 10, v0=0, bias_mant=0)
    out = Readout("out", "fc", (2,), bias_mant=0)
    g = Graph((inp, a, b, pop, Dense("fc", "merge", np.ones((2, 2), np.int64)), out))
    with pytest.raises(IRError, match=r"merge: summed current bound \d+ of its 2 synapses exceeds int24"):
        verify_graph(g)
