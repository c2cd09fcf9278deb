"""Proves the Lava backend refuses what it cannot express exactly, naming layer and limit
(stock-LIF bias/threshold/v0/wrap/schedule limits, per-neuron thresholds), that importing
the backend needs no Lava, and that the Loihi resource check maps layers to cores from
TargetSpec data and refuses networks that do not fit.  No Lava run: pure planning."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from lava_helpers import lif_compatible, odd_cnn

from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.backends.lava.checks import LavaPlanError
from neurodeploy.backends.lava.emit import flatten_perm, from_lava, plan_network, to_lava
from neurodeploy.backends.lava.resources import ResourceError, map_cores, require_fit
from neurodeploy.ir.graph import Schedule
from neurodeploy.ir.nodes import IFPopulation
from neurodeploy.ir.random_graph import random_cnn, random_mlp
from neurodeploy.targets import LAVA_SIM_LIF, LAVA_SIM_SUBIF, LOIHI2

pytestmark = pytest.mark.lava


def test_layout_helpers_roundtrip() -> None:
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert to_lava(a, 3).shape == (4, 3, 2) and to_lava(a, 3)[1, 2, 0] == a[0, 2, 1]
    np.testing.assert_array_equal(from_lava(to_lava(a, 3), 3), a)
    perm = flatten_perm((2, 3, 4))
    np.testing.assert_array_equal(a.reshape(-1)[perm], to_lava(a, 3).reshape(-1))


def test_dense_recipe_and_conv_preshift() -> None:
    plan = plan_network(odd_cnn(1), LAVA_SIM_SUBIF, 4)
    c1, c2 = plan.populations[0].synapse, plan.populations[1].synapse
    assert c1.kind == "conv" and c1.post_exp == -2                     # floor in the neuron
    assert c2.post_exp == 0 and np.all(c2.weights % 2 == 0)            # << 1 pre-shifted
    d = plan.readout_synapse
    assert d.kind == "dense" and d.weight_exp == -1 and d.flatten_input
    assert int(np.abs(d.weights).max()) <= 256 and np.all(d.weights % 2 == 0)


def test_stock_lif_refusals_name_layer() -> None:
    be = LavaBackend(LAVA_SIM_LIF)
    g = random_mlp(1)                                                  # subtract, per-neuron
    assert any("if1" in i for i in be.check(g))
    z = lif_compatible(random_mlp(2, reset="zero", compare=">", per_neuron_threshold=False))
    assert be.check(z) == []
    p = z.node("if1")
    assert isinstance(p, IFPopulation)
    cases = {
        "v0": replace(p, v0=np.ones(p.shape, np.int64)),
        "threshold": replace(p, threshold=np.arange(1, p.threshold.size + 1).reshape(p.shape)),
    }
    for what, bad in cases.items():
        issues = be.check(z.with_nodes([bad if n.name == "if1" else n for n in z.nodes]))
        assert issues and any("if1" in i and what in i for i in issues), (what, issues)
    assert any("schedule" in i for i in be.check(z.with_schedule(Schedule("srp", tau=2))))
    with pytest.raises(LavaPlanError, match="if1"):
        plan_network(g, LAVA_SIM_LIF, 4)


def test_lif_accumulator_wrap_refused() -> None:
    z = lif_compatible(random_mlp(2, sizes=(64, 8, 3), input_bits=8, reset="zero", compare=">",
                                  per_neuron_threshold=False))
    fc1 = z.node("fc1")
    big = replace(fc1, weight=np.full(fc1.weight.shape, 127), weight_exp=0)
    issues = LavaBackend(LAVA_SIM_LIF).check(z.with_nodes([big if n.name == "fc1" else n for n in z.nodes]))
    assert any("fc1" in i and "wrap" in i for i in issues), issues


def test_resources_fit_and_refusal() -> None:
    g = random_cnn(3)
    rep = map_cores(g, LOIHI2)
    assert rep.fits and rep.total_cores == len(rep.layers) == 3
    assert {lu.name for lu in rep.layers} == {"if1", "if2", "out"}
    assert "synapse_words_per_core" in rep.unknown_limits
    tiny = replace(LOIHI2, neurons_per_core=16, cores_per_chip=8, fan_in_axons_per_core=None)
    rep = map_cores(g, tiny)
    if1 = next(lu for lu in rep.layers if lu.name == "if1")
    assert if1.cores == (3 * 8 * 8 + 15) // 16 and "neurons_per_core=16" in if1.limited_by
    with pytest.raises(ResourceError, match="cores_per_chip"):
        require_fit(g, tiny)
    fan = replace(LOIHI2, fan_in_axons_per_core=10)
    with pytest.raises(ResourceError, match="fan_in_axons_per_core=10"):
        require_fit(g, fan)
    syn = replace(LOIHI2, synapse_words_per_core=50)
    assert any(lu.limited_by.startswith("synapse_words") for lu in map_cores(g, syn).layers)
