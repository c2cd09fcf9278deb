"""The time-folded engine's memory controls and shortcuts do not change results: folded calls
split into one-step pieces, chunk sizes picked from a (tiny) memory budget, the clip skipped
only where the bound proves it idle, and zero-step runs."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.backends.cpusim import array_ops, folded, simulate
from neurodeploy.ir import Schedule
from neurodeploy.ir.random_graph import random_cnn, random_dag, random_inputs, random_mlp
from neurodeploy.ir.verify import target_current_bound

SCHEDULES = [Schedule(), Schedule("srp", tau=2), Schedule("two_phase", window=2)]
KW = {"probes": "all", "record_v": True, "record_current": True}


@pytest.mark.parametrize("impl", ["fast", "torch"])
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
def test_pieces_and_budget_chunks(schedule: Schedule, impl: str, monkeypatch: pytest.MonkeyPatch, same_trace) -> None:
    """FOLD_BYTES = 1 (one step per folded call) and MEMORY_BUDGET = 1 (one sample per chunk, the
    budget read when the run starts) give the reference's trace, numpy and torch alike."""
    if impl == "torch":
        pytest.importorskip("torch")
    monkeypatch.setattr(folded, "FOLD_BYTES", 1)
    monkeypatch.setattr(folded, "MEMORY_BUDGET", 1)
    chunks: list[int] = []
    real_chunk = folded._Chunk.__init__

    def spy(self: folded._Chunk, plan: folded.Plan, x: object, rows: slice, trace: object) -> None:
        chunks.append(rows.stop - rows.start)
        real_chunk(self, plan, x, rows, trace)                                    # type: ignore[arg-type]

    monkeypatch.setattr(folded._Chunk, "__init__", spy)
    for seed in range(8):
        g = random_dag(seed, schedule=schedule)
        x = random_inputs(g, 3, seed)
        same_trace(simulate(g, x, 3, impl="reference", **KW), simulate(g, x, 3, impl=impl, **KW))
    assert chunks == [1] * 24


def test_chunk_size_follows_budget() -> None:
    """More memory, bigger chunks, never more than the batch or fewer than one sample."""
    g = random_cnn(0)
    from neurodeploy.backends.cpusim.fast import NumpyOps
    plan = folded.Plan(g, NumpyOps(), 8)
    per = plan.bytes_per_sample()
    assert plan.chunk_size(10_000, budget=1) == 1
    assert plan.chunk_size(10_000, budget=per * 37) == 37
    assert plan.chunk_size(5, budget=1 << 40) == 5


def test_clip_skipped_only_when_idle() -> None:
    """``clip_can_act`` is False exactly when max|v0| + T (B_I + max|bias|) fits the state type."""
    g = random_mlp(2)
    pop = g.populations()[0]
    cb = target_current_bound(g, pop.name)
    room = min(pop.state_t.hi, -pop.state_t.lo)
    grow = int(np.abs(pop.v0).max()) + cb + int(np.abs(pop.bias).max())
    assert grow <= room and not array_ops.clip_can_act(pop, cb, 1)
    t_over = (room - int(np.abs(pop.v0).max())) // (cb + int(np.abs(pop.bias).max())) + 1
    assert array_ops.clip_can_act(pop, cb, t_over) and not array_ops.clip_can_act(pop, cb, t_over - 1)


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_zero_steps(impl: str) -> None:
    """steps = 0: an empty plain run; SRP still runs its tau pre-simulation steps."""
    g = random_mlp(0)
    x = random_inputs(g, 2, 0)
    assert simulate(g, x, 0, impl=impl, probes="all").readout.shape == (0, 2, 4)
    srp = g.with_schedule(Schedule("srp", tau=3))
    np.testing.assert_array_equal(simulate(srp, x, 0, impl=impl).readout,
                                  simulate(srp, x, 0, impl="reference").readout)
