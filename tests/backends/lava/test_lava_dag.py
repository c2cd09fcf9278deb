"""Proves the Lava backend is bit-exact on DAGs: random residual/concat/depthwise/pooled
networks (``random_dag``) and a hand-built DAG with every split and delay the plan makes
(residual merge with a relayed shortcut, Concat of sources at different depths into a Conv
and into a Dense, graded input delayed by DelayDense, per-axis stride/padding) equal the
CPU simulator on every population's spikes and v and on the readout at every logical step,
under plain, SRP and two_phase schedules, several samples in one Lava run; the same DAG in
zero-reset form runs on Lava's own stock LIF (an oracle written by Intel, not by us)."""
from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("lava") is None:
    pytest.skip("lava-nc not installed", allow_module_level=True)

from lava_helpers import check_equal, lif_dag, merge_net
from neurodeploy.backends.lava.backend import LavaBackend

from neurodeploy.ir.graph import Schedule
from neurodeploy.ir.random_graph import random_dag, random_inputs
from neurodeploy.targets import LAVA_SIM_LIF

pytestmark = pytest.mark.lava
SCHEDULES = {"plain": Schedule(), "srp": Schedule("srp", tau=2), "two_phase": Schedule("two_phase", window=2)}
# (seed, schedule, weight exponents): each graph holds a residual merge or a concat, and
# together they cover depthwise and strided convs and overlapping padded pools (folded).
RANDOM_CASES = [(10, "plain", (0, 1)), (3, "srp", (0, 1)), (7, "two_phase", (0, 1)),
                (6, "two_phase", (0, 1)), (9, "srp", (-1, 1))]


@pytest.mark.parametrize("seed,schedule,exps", RANDOM_CASES, ids=[f"{s}-{k}" for s, k, _ in RANDOM_CASES])
def test_random_dag_matches_cpu_simulator(seed: int, schedule: str, exps: tuple[int, int]) -> None:
    g = random_dag(seed, input_shape=(2, 5, 5), blocks=3, schedule=SCHEDULES[schedule], weight_exps=exps)
    check_equal(g, random_inputs(g, 2, seed), 4)


@pytest.mark.parametrize("schedule", ["plain", "two_phase"])
def test_merge_net_matches_cpu_simulator(schedule: str) -> None:
    g = merge_net(2, SCHEDULES[schedule])
    check_equal(g, random_inputs(g, 2, 1), 4)


def test_dag_on_stock_lif() -> None:
    g = lif_dag(3)
    check_equal(g, random_inputs(g, 2, 2), 5, LavaBackend(LAVA_SIM_LIF))
