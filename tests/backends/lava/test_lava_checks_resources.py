"""Proves the Lava plan of a DAG is what the design says, without running Lava: synapses
reading a Concat are split per source with the right weights, parts are delayed by
``d_c - 1 - d_s + edge_delay`` (DelayDense for Dense, a relay for Conv), depthwise groups and
per-axis stride/padding reach Lava in (x, y) order; refusals name layer and limit (stock-LIF
limits, a floor inside a merge, delays beyond max_delay, too many connections); importing
the backend needs no Lava; stock-LIF widths come from one TargetSpec field set; a Conv's
24-bit bound is taken on its pre-shifted (emitted) weights; a graph the converter integerised
for lava-sim-lif is accepted by that backend; the Loihi resource check counts parts, relays and delays from
TargetSpec data and refuses networks that do not fit.  Pure planning."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from lava_helpers import lif_compatible, merge_net, odd_cnn
from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.backends.lava.checks import LavaPlanError
from neurodeploy.backends.lava.emit import flatten_perm, from_lava, plan_network, to_lava
from neurodeploy.backends.lava.resources import ResourceError, map_cores, require_fit

from neurodeploy.ir.dtypes import IntT
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import IFPopulation
from neurodeploy.ir.random_graph import random_cnn, random_mlp
from neurodeploy.targets import LAVA_SIM_LIF, LAVA_SIM_SUBIF, LOIHI2

pytestmark = pytest.mark.lava


def _edit(g: Graph, name: str, **changes: object) -> Graph:
    return g.with_nodes([replace(n, **changes) if n.name == name else n for n in g.nodes])


def test_layout_helpers_roundtrip() -> None:
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert to_lava(a, 3).shape == (4, 3, 2) and to_lava(a, 3)[1, 2, 0] == a[0, 2, 1]
    np.testing.assert_array_equal(from_lava(to_lava(a, 3), 3), a)
    perm = flatten_perm((2, 3, 4))
    np.testing.assert_array_equal(a.reshape(-1)[perm], to_lava(a, 3).reshape(-1))


def test_dense_recipe_and_conv_preshift() -> None:
    plan = plan_network(odd_cnn(1), LAVA_SIM_SUBIF, 4)
    p1, p2 = plan.populations
    c1, c2 = p1.parts[0], p2.parts[0]
    assert c1.kind == "conv" and p1.in_exp == -2                       # floor in the neuron
    assert p2.in_exp == 0 and np.all(c2.weights % 2 == 0)              # << 1 pre-shifted
    assert c2.stride == (2, 2) and c2.padding == (1, 1)
    (d,) = plan.readout_projections[0].parts
    assert d.kind == "dense" and d.weight_exp == -1 and d.flatten_input and d.delay == 0
    assert int(np.abs(d.weights).max()) <= 256 and np.all(d.weights % 2 == 0)


@pytest.mark.parametrize("window", [0, 3])
def test_dag_parts_split_and_delays(window: int) -> None:
    sched = Schedule("two_phase", window=window) if window else Schedule()
    g = merge_net(0, sched)
    plan = plan_network(g, LAVA_SIM_SUBIF, 4)
    pops = {p.name: p for p in plan.populations}
    assert [p.depth for p in plan.populations] == [1, 2, 3, 4] and plan.readout_depth == 5
    extra = lambda hops: hops * (1 + window)
    # depthwise conv keeps its groups; Lava gets (x, y) pairs
    c2 = pops["if2"].parts[0]
    assert c2.groups == 3 and c2.weights.shape == (3, 3, 3, 1)
    # residual merge: two projections into if3, the shortcut delayed through a relay
    c3, sc = (pr.parts[0] for pr in pops["if3"].projections)
    assert (c3.delay, sc.delay) == (0, extra(1)) and sc.relay is not None and c3.relay is None
    # concat of (if1, if3) into a 1x1 conv: one part per source, channels split
    parts = {p.source: p for p in pops["if4"].parts}
    assert set(parts) == {"if1", "if3"} and parts["if1"].delay == extra(2) and parts["if3"].delay == 0
    w = g.node("c4").weight
    np.testing.assert_array_equal(parts["if1"].weights, w[:, :3].transpose(0, 3, 2, 1))
    np.testing.assert_array_equal(parts["if3"].weights, w[:, 3:].transpose(0, 3, 2, 1))
    assert parts["if1"].stride == (1, 2) and parts["if1"].padding == (0, 1)
    # readout: Dense parts with synaptic delays (DelayDense), graded input delayed too
    fc, fc_in = plan.readout_projections
    by_src = {p.source: p for p in fc.parts}
    assert by_src["if2"].delay == extra(2) and by_src["if4"].delay == 0
    assert all(p.relay is None and p.flatten_input for p in fc.parts)
    assert fc_in.parts[0].delay == extra(4) and fc_in.parts[0].num_message_bits == 4
    wd = g.node("fc").weight
    np.testing.assert_array_equal(by_src["if2"].weights // 2, wd[:, 40:][:, flatten_perm((3, 5, 5))])
    assert {r.source for r in plan.relays} == {"if1"} and len(plan.relays) == 2


def test_merge_refusals_name_the_layer() -> None:
    be = LavaBackend()
    g = merge_net(0)
    assert be.check(g) == []
    issues = be.check(_edit(g, "c3", weight_exp=-1))                   # floor inside a merge
    assert any(i.startswith("c3.weight_exp") and "if3" in i for i in issues), issues
    assert be.check(_edit(g, "c4", weight_exp=-1)) == []               # split, single projection
    short = LavaBackend(replace(LAVA_SIM_SUBIF, max_delay=1))
    issues = short.check(g)
    assert any("fc_in" in i and "max_delay=1" in i for i in issues), issues
    few = LavaBackend(replace(LAVA_SIM_SUBIF, max_fan_in_projections=2))
    assert any(i.startswith("out:") and "max_fan_in_projections=2" in i for i in few.check(g))


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
    """u = a << 6 must fit Lava's 24-bit register: the target's own current width (int18) refuses it."""
    z = lif_compatible(random_mlp(2, sizes=(64, 8, 3), input_bits=8, reset="zero", compare=">",
                                  per_neuron_threshold=False))
    fc1 = z.node("fc1")
    issues = LavaBackend(LAVA_SIM_LIF).check(_edit(z, "fc1", weight=np.full(fc1.weight.shape, 127)))
    assert any(i.startswith("fc1:") and "int18" in i for i in issues), issues


def test_lif_widths_have_one_source_of_truth() -> None:
    """current/state widths of the stock-LIF target are its register minus the shift, and a
    LIF target declaring more is rejected where it is defined."""
    s = LAVA_SIM_LIF
    assert s.current_bits == s.state_bits == s.register_bits - s.state_shift == 18
    with pytest.raises(ValueError, match="register_bits"):
        replace(LAVA_SIM_LIF, current_bits=24)
    with pytest.raises(ValueError, match="register_bits"):
        replace(LAVA_SIM_LIF, state_bits=17)
    z = lif_compatible(random_mlp(2, reset="zero", compare=">", per_neuron_threshold=False))
    narrow = _edit(z, "if1", state_t=IntT(16))
    assert any(i.startswith("if1.state_t") for i in LavaBackend(LAVA_SIM_LIF).check(narrow))


def test_conv_width_checked_after_preshift() -> None:
    """A Conv with weight_exp > 0 is emitted as W << e (Lava's Conv ignores weight_exp); the
    24-bit/float32 bound is computed on what is emitted, not on the mantissas."""
    g = odd_cnn(1)
    conv2 = g.node("conv2")
    w = np.full(conv2.weight.shape, 127)
    wide = replace(LAVA_SIM_SUBIF, current_bits=40, weight_exp_range=(-8, 16))   # IR bound not binding
    raw = int(np.abs(w).reshape(w.shape[0], -1).sum(1).max())                   # spikes: max input 1
    e = (1 << 23).bit_length() - raw.bit_length()                               # raw << e just >= 2**23
    assert raw < (1 << 23) <= raw << e
    issues = LavaBackend(wide).check(_edit(g, "conv2", weight=w, weight_exp=e))
    assert any(i.startswith("conv2: pre-shifted Conv sum bound") and str(raw << e) in i for i in issues), issues
    plan = plan_network(_edit(g, "conv2", weight=w, weight_exp=e - 1), wide, 2)  # one bit less: accepted
    assert int(plan.populations[1].parts[0].weights.max()) == 127 << (e - 1)
    c1 = np.full(g.node("conv1").weight.shape, 127)                           # reads the 4-bit input
    built_in = LavaBackend().check(_edit(g, "conv1", weight=c1, weight_exp=8))  # 127*18*15 << 8 > 2**23
    assert any(i.startswith("conv1:") and "int24" in i for i in built_in), built_in


def test_converter_graph_for_lif_target_is_accepted() -> None:
    """integerize with the lava-sim-lif TargetSpec (zero reset, '>') gives a graph its own
    backend accepts: widths, bias fields, one threshold, v0 = 0, drift horizon."""
    from neurodeploy.convert.integerize import integerize
    from neurodeploy.convert.stages import FloatNetwork, FloatPopulation, FloatSynapse, InputSpec
    rng = np.random.default_rng(0)

    def dense(name: str, src: str, n_out: int, n_in: int) -> FloatSynapse:
        return FloatSynapse(name, "dense", src, rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)),
                            rng.normal(0, 0.05, n_out))
    nodes = (FloatPopulation("h1", (dense("fc1", "input", 24, 16),), threshold=1.0),
             FloatPopulation("h2", (dense("fc2", "h1", 12, 24),), threshold=1.0),
             FloatPopulation("out", (dense("fc3", "h2", 4, 12),)))
    graph, _ = integerize(FloatNetwork(InputSpec((16,), 4, 1 / 16), nodes, levels=4), LAVA_SIM_LIF,
                          reset="zero", compare=">")
    assert LavaBackend(LAVA_SIM_LIF).check(graph) == []


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


def test_resources_count_dag_parts_relays_and_delays() -> None:
    g = merge_net(1)
    rep = map_cores(g, LOIHI2)
    assert rep.fits
    by = {lu.name: lu for lu in rep.layers}
    assert by["if3"].projections == 2 and by["if4"].projections == 2 and by["out"].projections == 3
    assert by["out"].max_delay == 4 and by["if4"].max_delay == 2
    relays = [lu for lu in rep.layers if lu.kind == "relay"]
    assert len(relays) == 2 and all(lu.neurons == 75 for lu in relays)
    assert by["if4"].fan_in == 2 * 75                                  # both Conv parts: whole sources
    # 1x1 taps, stride 2 / padding 1 on 5 rows: outputs 0 and 3 read padding, 2 rows x 5 cols read inputs
    assert by["if4"].synapses == int(np.count_nonzero(g.node("c4").weight)) * 2 * 5
    with pytest.raises(ResourceError, match="out: fc_in needs a delay of 4 steps > max_delay=3"):
        require_fit(g, replace(LOIHI2, max_delay=3))
    with pytest.raises(ResourceError, match="max_fan_in_projections=2"):
        require_fit(g, replace(LOIHI2, max_fan_in_projections=2))


def test_physical_step_uses_logical_depth() -> None:
    g = merge_net(0)
    be = LavaBackend()
    period = g.schedule.total_steps(5, g.depth)
    assert be.physical_step(g, 5, g.depths["if3"], 1, 2) == period + 2 + 1 + 3

