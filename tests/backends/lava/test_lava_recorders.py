"""Proves the streamed read-back of recorded state (:mod:`neurodeploy.backends.lava.recorders`):
the recorded spikes and potentials of a Lava run equal the CPU simulator's for both neuron
processes (SubIF and the stock LIF) over several samples and a multi-layer DAG, and a Lava
process that dies mid-run is reported as a stall naming the layer and step within the bound
instead of hanging the host."""
from __future__ import annotations

import importlib.util
import multiprocessing
from dataclasses import replace

import numpy as np
import pytest

if importlib.util.find_spec("lava") is None:
    pytest.skip("lava-nc not installed", allow_module_level=True)

from neurodeploy.backends.cpusim.simulate import simulate
from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.backends.lava.network import run_plan
from neurodeploy.backends.lava.recorders import LavaRunError
from neurodeploy.ir.random_graph import random_inputs, random_mlp
from neurodeploy.targets import LAVA_SIM_LIF

from lava_helpers import lif_dag, merge_net

pytestmark = pytest.mark.lava


def _assert_same_state(graph, backend: LavaBackend, samples: int, steps: int) -> None:
    x = random_inputs(graph, samples, seed=3)
    lava = backend.run(graph, x, steps, probes="all")
    cpu = simulate(graph, x, steps, probes="all", record_v=True, impl="reference")
    assert set(lava.spikes) == {p.name for p in graph.populations()}
    for name in lava.spikes:
        np.testing.assert_array_equal(lava.spikes[name], cpu.spikes[name], err_msg=f"{name} spikes")
        np.testing.assert_array_equal(lava.v[name], cpu.v[name], err_msg=f"{name} v")
    np.testing.assert_array_equal(lava.readout, cpu.readout)


def test_streamed_subif_state_equals_the_simulator_on_a_dag() -> None:
    _assert_same_state(merge_net(5), LavaBackend(), samples=3, steps=4)


def test_streamed_lif_state_equals_the_simulator_on_a_dag() -> None:
    _assert_same_state(lif_dag(1), LavaBackend(LAVA_SIM_LIF), samples=2, steps=4)


def test_a_dead_lava_process_is_reported_not_hung() -> None:
    graph = random_mlp(0, sizes=(16, 8, 4), input_bits=4)
    plan = replace(LavaBackend().plan(graph, 4), period=0)    # the neuron divides by period: dies at step 1
    before = len(multiprocessing.active_children())
    with pytest.raises(LavaRunError, match=r"Lava step \d+: no record from Lava for 3 s"):
        run_plan(plan, random_inputs(graph, 2, seed=0), record=True, stall_s=3)
    assert len(multiprocessing.active_children()) <= before          # the aborted run left nothing


def test_recording_runs_leave_no_processes_behind() -> None:
    """The stock LIF's VarWire receivers start their own shared-memory managers; every run stops them."""
    graph, backend = lif_dag(1), LavaBackend(LAVA_SIM_LIF)
    x = random_inputs(graph, 2, seed=3)
    backend.run(graph, x, 3, probes="all")
    after_first = len(multiprocessing.active_children())
    for _ in range(2):
        backend.run(graph, x, 3, probes="all")
    assert len(multiprocessing.active_children()) <= after_first
