"""The integer quantized-ANN reference equals the SNN exactly where the identities say so: the
first population at T = L (I3, plain schedule, any v0 in [0, theta)) and every population plus
the logits under two_phase with window = L (SpikeConverter A, both compare modes, v0 = 0 or
theta/2), on chains and on DAGs whose shortcuts are delayed edges and whose merges sum analog
and spiking synapses; a synapse reading both the Input and spikes is refused; mismatch
categories partition the neurons as methods.md §0.3 defines them."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Concat, Conv, Dense, Graph, IFPopulation, Input, IRError, Readout, Schedule
from neurodeploy.ir.random_graph import random_cnn, random_dag, random_inputs, random_mlp
from neurodeploy.reference import CATEGORIES, ann_reference, mismatch_categories


@pytest.mark.parametrize("make", [random_mlp, random_cnn])
@pytest.mark.parametrize("L", [1, 2, 5, 8])
def test_first_layer_i3(make, L: int) -> None:
    """I3: the first population's spike counts at T = L equal the ANN counts (plain schedule)."""
    g = make(L)
    x = random_inputs(g, 6, L)
    first = g.populations()[0].name
    tr = simulate(g, x, L, probes=[first])
    np.testing.assert_array_equal(tr.spike_counts(first), ann_reference(g, x, L).counts[first])


@pytest.mark.parametrize("v0_zero", [False, True])
def test_two_phase_all_layers(v0_zero: bool) -> None:
    """Chains under two_phase at window L: every population's counts and the logits match."""
    L = 4
    for seed in range(4):
        g = random_cnn(seed, schedule=Schedule("two_phase", window=L), compare=">" if seed % 2 else ">=")
        nodes = []
        for n in g.nodes:
            if isinstance(n, (Dense, Conv)):
                n = dataclasses.replace(n, weight_exp=max(n.weight_exp, 0))
            if isinstance(n, IFPopulation) and v0_zero:
                n = dataclasses.replace(n, v0=np.zeros(n.shape, np.int64))
            nodes.append(n)
        g = g.with_nodes(nodes)
        x = random_inputs(g, 4, seed)
        tr = simulate(g, x, L, probes="all")
        ann = ann_reference(g, x, L)
        assert set(ann.counts) == set(tr.spikes)
        for name, n in ann.counts.items():
            np.testing.assert_array_equal(tr.spike_counts(name), n, err_msg=name)
        np.testing.assert_array_equal(tr.readout[-1], ann.logits)


def test_mismatch_categories() -> None:
    """The five categories of methods.md §0.3 on a hand-made example; shape mismatch refused."""
    ann = np.array([0, 0, 3, 2, 1, 2, 4])
    snn = np.array([0, 2, 1, 3, 0, 2, 4])
    cats = mismatch_categories(ann, snn)
    assert tuple(cats) == CATEGORIES
    assert cats == {"match": 3, "ann0_snn_pos": 1, "under": 1, "over": 1, "ann_pos_snn0": 1}
    with pytest.raises(ValueError, match="shapes"):
        mismatch_categories(ann, snn[:3])


def test_readout_from_analog_input() -> None:
    """A readout fed straight from the Input integrates L * (shift(W x) + bias)."""
    g = random_mlp(0, sizes=(6, 3))
    x = random_inputs(g, 3, 0)
    np.testing.assert_array_equal(simulate(g, x, 5).readout[-1], ann_reference(g, x, 5).logits)


def assert_snn_equals_ann(g: Graph, x: np.ndarray, L: int) -> None:
    """Two_phase SNN at window L == ANN reference on every population and the logits, after
    checking the precondition that no membrane state reached its saturation bounds."""
    tr = simulate(g, x, L, probes="all", record_v=True)
    for p in g.populations():
        assert p.state_t.lo < tr.v[p.name].min() and tr.v[p.name].max() < p.state_t.hi, p.name
    ann = ann_reference(g, x, L)
    assert set(ann.counts) == {p.name for p in g.populations()}
    for name, n in ann.counts.items():
        np.testing.assert_array_equal(tr.spike_counts(name), n, err_msg=name)
    np.testing.assert_array_equal(tr.readout[-1], ann.logits)


@pytest.mark.parametrize("L", [2, 4])
@pytest.mark.parametrize("reset, compare", [("subtract", ">="), ("zero", ">")])
def test_two_phase_dag_equals_ann(L: int, reset: str, compare: str) -> None:
    """DAGs (residual shortcuts skipping populations, concat, depthwise, pools) with weight_exp
    in {0, 1}: the SNN under two_phase at window L equals the ANN reference, so each delayed
    shortcut delivers all its source's spikes inside its consumer's integration window."""
    for seed in range(8):
        g = random_dag(seed, reset=reset, compare=compare, weight_exps=(0, 1), input_bits=2,
                       schedule=Schedule("two_phase", window=L))
        assert_snn_equals_ann(g, random_inputs(g, 3, seed), L)


def analog_and_spiking_graph(L: int) -> Graph:
    """``B`` sums a spiking synapse (from ``A``) and an analog one (from the Input); the readout
    reads ``B`` and, analog again, the Input."""
    rng = np.random.default_rng(L)
    nodes = [Input("input", (3,), bits=4),
             Dense("fa", "input", rng.integers(-20, 40, (4, 3))),
             IFPopulation("A", "fa", (4,), threshold=rng.integers(50, 90, 4), v0=0, bias_mant=rng.integers(-4, 5, 4)),
             Dense("fb", "A", rng.integers(-60, 90, (5, 4)), weight_exp=1),
             Dense("fx", "input", rng.integers(-9, 10, (5, 3))),
             IFPopulation("B", ("fb", "fx"), (5,), threshold=rng.integers(60, 120, 5), v0=rng.integers(0, 30, 5),
                          bias_mant=rng.integers(-4, 5, 5), compare=">"),
             Dense("fo", "B", rng.integers(-50, 50, (2, 5))),
             Dense("fi", "input", rng.integers(-5, 5, (2, 3))),
             Readout("out", ("fo", "fi"), (2,), bias_mant=[3, -2])]
    return Graph(tuple(nodes), schedule=Schedule("two_phase", window=L))


@pytest.mark.parametrize("L", [1, 3, 6])
def test_analog_plus_spiking_merge(L: int) -> None:
    """V = sum spiking I + L * (sum analog I + bias) for a population and the readout that merge
    an Input synapse with a spiking one (and the counts are not all 0 or all L)."""
    g = analog_and_spiking_graph(L)
    x = random_inputs(g, 16, L)
    assert_snn_equals_ann(g, x, L)
    counts = ann_reference(g, x, L).counts["B"]
    assert 0 < counts.mean() < L


def test_mixed_synapse_refused() -> None:
    """A synapse reading a Concat of the Input and a population has no ANN form: IRError names it."""
    nodes = [Input("input", (2,), bits=4), Dense("fa", "input", np.ones((2, 2), np.int64)),
             IFPopulation("A", "fa", (2,), threshold=10, v0=0, bias_mant=0), Concat("cat", ("input", "A")),
             Dense("fmix", "cat", np.ones((2, 4), np.int64)), Readout("out", "fmix", (2,), bias_mant=0)]
    g = Graph(tuple(nodes))
    x = np.ones((1, 2), np.int64)
    simulate(g, x, 2)                                          # the SNN itself runs fine
    with pytest.raises(IRError, match=r"^fmix: reads both the analog Input and spikes") as exc:
        ann_reference(g, x, 2)
    assert "\n" not in str(exc.value)
