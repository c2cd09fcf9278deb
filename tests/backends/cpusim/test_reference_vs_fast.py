"""The fast batched simulator is bit-identical to the reference interpreter on chains.

Random MLPs and CNNs (random_graph) under every schedule (plain, srp, two_phase), both reset
modes and both compare modes: emitted spikes, membrane potentials, synaptic currents and the
readout agree at every logical step, for any chunk size.  (DAGs: test_random_dag.py.)
"""
from __future__ import annotations

import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir.graph import Schedule
from neurodeploy.ir.random_graph import random_cnn, random_inputs, random_mlp

SCHEDULES = [Schedule(), Schedule("srp", tau=3), Schedule("two_phase", window=3)]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("compare", [">=", ">"])
@pytest.mark.parametrize("make", [random_mlp, random_cnn], ids=["mlp", "cnn"])
def test_fast_equals_reference(schedule: Schedule, reset: str, compare: str, make, same_trace) -> None:
    """Chains: fast (chunk 3 over 4 samples) == reference at every step, and the run lasts
    ``total_steps(5, depth)``."""
    for seed in range(2):
        g = make(seed, reset=reset, compare=compare, schedule=schedule)
        x = random_inputs(g, 4, seed + 100)
        kw = dict(probes="all", record_v=True, record_current=True)
        ref = simulate(g, x, 5, impl="reference", **kw)
        fast = simulate(g, x, 5, impl="fast", chunk=3, **kw)
        same_trace(ref, fast)
        assert ref.steps == g.schedule.total_steps(5, g.depth)


def test_probes_subset_and_errors() -> None:
    """Probes select populations; unknown probes, wrong input shapes/ranges and impls are refused."""
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


def test_first_useful_step() -> None:
    """first_useful_step is 0 (plain), tau (srp), D*window (two_phase); two_phase lasts (D+1)*W."""
    x = random_inputs(random_mlp(0), 1, 0)
    assert simulate(random_mlp(0), x, 4).first_useful_step == 0
    assert simulate(random_mlp(0, schedule=Schedule("srp", tau=2)), x, 4).first_useful_step == 2
    tp = simulate(random_mlp(0, schedule=Schedule("two_phase", window=4)), x, 4)
    assert tp.first_useful_step == 2 * 4 and tp.steps == 3 * 4
