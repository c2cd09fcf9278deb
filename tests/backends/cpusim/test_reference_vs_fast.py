"""The fast batched simulator is bit-identical to the reference interpreter.

Random MLPs and CNNs (random_graph) under every schedule (plain, srp, two_phase), both reset
modes and both compare modes: emitted spikes, membrane potentials, synaptic currents and the
readout agree at every logical step, for any chunk size.
"""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Dense, Flatten, Graph, IFPopulation, Input, IRError, Readout, SumPool
from neurodeploy.ir.graph import Schedule
from neurodeploy.ir.random_graph import random_cnn, random_inputs, random_mlp

SCHEDULES = [Schedule(), Schedule("srp", tau=3), Schedule("two_phase", window=3)]


def assert_same(a, b) -> None:
    np.testing.assert_array_equal(a.readout, b.readout)
    assert a.first_useful_step == b.first_useful_step
    for field in ("spikes", "v", "current"):
        da, db = getattr(a, field), getattr(b, field)
        assert da.keys() == db.keys()
        for k in da:
            np.testing.assert_array_equal(da[k], db[k], err_msg=f"{field}[{k}]")


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("compare", [">=", ">"])
@pytest.mark.parametrize("make", [random_mlp, random_cnn], ids=["mlp", "cnn"])
def test_fast_equals_reference(schedule, reset, compare, make) -> None:
    for seed in range(2):
        g = make(seed, reset=reset, compare=compare, schedule=schedule)
        x = random_inputs(g, 4, seed + 100)
        kw = dict(probes="all", record_v=True, record_current=True)
        ref = simulate(g, x, 5, impl="reference", **kw)
        fast = simulate(g, x, 5, impl="fast", chunk=3, **kw)
        assert_same(ref, fast)
        assert ref.steps == g.schedule.total_steps(5, g.depth)


def test_probes_subset_and_errors() -> None:
    g = random_mlp(3)
    x = random_inputs(g, 2, 0)
    tr = simulate(g, x, 4, probes=["if2"])
    assert set(tr.spikes) == {"if2"} and not tr.v
    with pytest.raises(ValueError, match="nope"):
        simulate(g, x, 4, probes=["nope"])
    with pytest.raises(ValueError, match="input"):
        simulate(g, x[:, :3], 4)
    with pytest.raises(ValueError, match="input"):
        simulate(g, x + 100, 4)       # 4-bit input type exceeded
    with pytest.raises(ValueError, match="impl"):
        simulate(g, x, 4, impl="gpu")


def test_structure_errors_name_the_node() -> None:
    inp = Input("input", (1, 4, 4), bits=4)
    bad = IFPopulation("if_bad", "pool", (1, 2, 2), threshold=1, v0=0, bias_mant=0)
    g = Graph((inp, SumPool("pool", "input", 2), bad, Flatten("flat", "if_bad"),
               Dense("fc", "flat", np.ones((1, 4), np.int64)), Readout("out", "fc", (1,), 0)))
    with pytest.raises(IRError, match="pool: SumPool must feed a synapse.*'if_bad'"):
        simulate(g, np.zeros((1, 1, 4, 4), np.int64), 2)


def test_first_useful_step() -> None:
    x = random_inputs(random_mlp(0), 1, 0)
    assert simulate(random_mlp(0), x, 4).first_useful_step == 0
    assert simulate(random_mlp(0, schedule=Schedule("srp", tau=2)), x, 4).first_useful_step == 2
    tp = simulate(random_mlp(0, schedule=Schedule("two_phase", window=4)), x, 4)
    assert tp.first_useful_step == 2 * 4 and tp.steps == 3 * 4
