"""Proves the Lava backend (Loihi2SimCfg fixed_pt) equals the CPU simulator spike for spike,
v for v and readout for readout in logical time, several samples in ONE Lava run:
subtract/">=" custom process with per-neuron thresholds (random MLPs, a non-square CNN,
a CNN with pooling folded), SRP and two-phase schedules, and zero-reset mode on Lava's own
stock LIF (PyLifModelBitAcc via LIFReset), an oracle written by Intel, not by us."""
from __future__ import annotations

import importlib.util

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if importlib.util.find_spec("lava") is None:
    pytest.skip("lava-nc not installed", allow_module_level=True)

from lava_helpers import check_equal as _check
from lava_helpers import lif_compatible, odd_cnn
from neurodeploy.backends.lava.backend import LavaBackend

from neurodeploy.ir.graph import Schedule
from neurodeploy.ir.random_graph import random_cnn, random_inputs, random_mlp
from neurodeploy.targets import LAVA_SIM_LIF

pytestmark = pytest.mark.lava
FEW = settings(max_examples=6, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(seed=st.integers(0, 10_000), hidden=st.integers(3, 20), batch=st.integers(1, 4),
       steps=st.integers(1, 9))
def test_random_mlp_subtract_per_neuron_threshold(seed: int, hidden: int, batch: int, steps: int) -> None:
    g = random_mlp(seed, sizes=(10, hidden, 7, 3), per_neuron_threshold=True)
    _check(g, random_inputs(g, batch, seed + 1), steps)


@pytest.mark.parametrize("compare,reset", [(">", "subtract"), (">=", "zero")])
def test_random_mlp_other_modes_on_custom_process(compare: str, reset: str) -> None:
    g = random_mlp(11, reset=reset, compare=compare)
    _check(g, random_inputs(g, 3, 2), 6)


def test_cnn_non_square_conv_and_exponents() -> None:
    g = odd_cnn(3)
    _check(g, random_inputs(g, 2, 0), 5)


def test_random_cnn_with_pooling_folded() -> None:
    pytest.importorskip("neurodeploy.passes.fold_pooling")
    g = random_cnn(5)
    _check(g, random_inputs(g, 2, 1), 4)


@pytest.mark.parametrize("schedule", [Schedule("srp", tau=3), Schedule("two_phase", window=3)],
                         ids=["srp", "two_phase"])
def test_schedules(schedule: Schedule) -> None:
    g = random_mlp(21, schedule=schedule)
    _check(g, random_inputs(g, 3, 4), 5)


@FEW
@given(seed=st.integers(0, 10_000), batch=st.integers(1, 4), steps=st.integers(1, 9))
def test_zero_reset_matches_stock_lif(seed: int, batch: int, steps: int) -> None:
    g = lif_compatible(random_mlp(seed, reset="zero", compare=">", per_neuron_threshold=False))
    _check(g, random_inputs(g, batch, seed), steps, LavaBackend(LAVA_SIM_LIF))


@pytest.mark.parametrize("exp", [-3, -2, 0, 2])
def test_dense_weight_exponents_exact(exp: int) -> None:
    """The 2*q / weight_exp = e - 1 recipe is exact for negative (floor) and positive e."""
    from dataclasses import replace

    from neurodeploy.ir.nodes import Dense
    g = random_mlp(31 + exp, sizes=(9, 12, 4))
    g = g.with_nodes([replace(n, weight_exp=exp) if isinstance(n, Dense) else n for n in g.nodes])
    _check(g, random_inputs(g, 2, 3), 5)
