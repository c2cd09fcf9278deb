"""The integer quantized-ANN reference equals the SNN exactly where the identities say so: the
first population at T = L (I3, plain schedule, any v0 in [0, theta)) and every population plus
the logits under two_phase with window = L (SpikeConverter A, both compare modes, v0 = 0 or
theta/2); mismatch categories partition the neurons as methods.md §0.3 defines them."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Conv, Dense, IFPopulation, Schedule
from neurodeploy.ir.random_graph import random_cnn, random_inputs, random_mlp
from neurodeploy.reference import CATEGORIES, ann_reference, mismatch_categories


@pytest.mark.parametrize("make", [random_mlp, random_cnn])
@pytest.mark.parametrize("L", [1, 2, 5, 8])
def test_first_layer_i3(make, L: int) -> None:
    g = make(L)
    x = random_inputs(g, 6, L)
    first = g.populations()[0].name
    tr = simulate(g, x, L, probes=[first])
    np.testing.assert_array_equal(tr.spike_counts(first), ann_reference(g, x, L).counts[first])


@pytest.mark.parametrize("v0_zero", [False, True])
def test_two_phase_all_layers(v0_zero: bool) -> None:
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
