"""The static range proof refuses, naming node and field, every graph whose integers could
leave int64 or the target's current width — where both simulators would otherwise agree on a
wrapped value — and certifies ordinary graphs with bounds that are actually reached."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.ir import Dense, Graph, IFPopulation, Input, IntT, IRError, Readout, Schedule
from neurodeploy.ir.random_graph import random_dag
from neurodeploy.ir.ranges import INT64_MAX, prove_ranges
from neurodeploy.targets import TargetSpec


def one_neuron(bias_exp: int = 0, bias_mant: int = 1, state_bits: int = 24, weight: int = 3, schedule: Schedule = Schedule(),
               bits: int = 4) -> Graph:
    return Graph((Input("input", (1,), bits=bits),
                  Dense("fc1", "input", np.array([[weight]])),
                  IFPopulation("if1", "fc1", (1,), threshold=5, v0=2, bias_mant=[bias_mant], bias_exp=bias_exp,
                               state_t=IntT(state_bits)),
                  Dense("fc2", "if1", np.array([[1]])),
                  Readout("out", "fc2", (1,), bias_mant=[0])), schedule=schedule)


def test_ordinary_graphs_are_certified_with_tight_bounds() -> None:
    g = one_neuron()
    cert = {e.node: e for e in prove_ranges(g, 8)}
    assert cert["if1"].current_bound == 3 * 15                 # weight 3 times the largest 4-bit input
    assert cert["if1"].update_bound == (1 << 23) + 45 + 1      # saturated |v| + |I| + |bias|
    assert cert["out"].update_bound == 8 * 1                   # one spike per step into weight 1
    for seed in range(5):
        prove_ranges(random_dag(seed), 64)


def test_bias_beyond_int64_refused() -> None:
    with pytest.raises(IRError, match=r"if1: v\(t-1\) \+ I \+ bias can reach \d+, beyond int64"):
        prove_ranges(one_neuron(bias_exp=62, bias_mant=4), 4)


def test_srp_gate_of_wide_states_refused() -> None:
    prove_ranges(one_neuron(state_bits=50, schedule=Schedule("srp", tau=2)), 4)
    with pytest.raises(IRError, match=r"if1: .* beyond int64"):
        prove_ranges(one_neuron(state_bits=60, schedule=Schedule("srp", tau=2)), 4)


def test_readout_accumulation_over_many_steps_refused() -> None:
    g = Graph((Input("input", (1,), bits=16), Dense("fc", "input", np.array([[100]]), weight_exp=20),
               Readout("out", "fc", (1,), bias_mant=[0])))
    per_step = 100 * ((1 << 16) - 1) << 20
    wide = TargetSpec("wide", "test target", current_bits=63, weight_exp_range=(-30, 30))
    assert prove_ranges(g, INT64_MAX // per_step, wide)
    with pytest.raises(IRError, match=r"out: the readout after \d+ steps can reach"):
        prove_ranges(g, INT64_MAX // per_step + 1, wide)


def test_input_wider_than_target_refused() -> None:
    with pytest.raises(IRError, match=r"input\.bits: 20 > 16"):
        prove_ranges(one_neuron(bits=20), 4)


def test_simulate_refuses_graphs_beyond_int64() -> None:
    """The simulator runs the proof first: both implementations would otherwise agree on a wrapped value."""
    from neurodeploy.backends.cpusim import simulate

    x = np.zeros((1, 1), np.int64)
    for impl in ("fast", "reference"):
        with pytest.raises(IRError, match=r"if1: v\(t-1\) \+ I \+ bias can reach"):
            simulate(one_neuron(bias_exp=62, bias_mant=4), x, 4, impl=impl)
