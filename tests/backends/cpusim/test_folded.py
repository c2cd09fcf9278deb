"""The time-folded engine's memory controls and shortcuts do not change results: folded calls
split into one-step pieces, chunk sizes picked from a (tiny) memory budget, the clip skipped
only where the bound proves it idle, and zero-step runs."""
from __future__ import annotations

import threading

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

    def spy(self: folded._Chunk, plan: folded.Plan, x: object, rows: slice, *rest: object) -> None:
        chunks.append(rows.stop - rows.start)
        real_chunk(self, plan, x, rows, *rest)                                    # type: ignore[arg-type]

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


@pytest.mark.parametrize("min_bytes", [0, folded.THREAD_BLOCK_MIN_BYTES])
@pytest.mark.parametrize("batch,threads", [(1, 2), (5, 2), (66, 2), (66, 3), (7, 4), (4000, 2)])
def test_row_blocks_cover_rows_evenly(batch: int, threads: int, min_bytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A population's row blocks tile the chunk in order, stay within the cache budget, differ in
    size by at most one row, and come in a multiple of the thread count unless that would leave
    blocks under THREAD_BLOCK_MIN_BYTES or empty."""
    from neurodeploy.backends.cpusim.fast import NumpyOps
    monkeypatch.setattr(folded, "THREAD_BLOCK_MIN_BYTES", min_bytes)
    g = random_cnn(0)
    ops = NumpyOps(threads)
    plan = folded.Plan(g, ops, 4)
    for pop in g.populations():
        row_bytes = 8 * int(np.prod(pop.shape))
        blocks = plan.row_blocks(pop, batch)
        assert [b.start for b in blocks] == [0] + [b.stop for b in blocks[:-1]] and blocks[-1].stop == batch
        sizes = [b.stop - b.start for b in blocks]
        assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
        assert max(sizes) * row_bytes <= max(ops.state_block_bytes, row_bytes)
        fewest = -(-batch // max(1, ops.state_block_bytes // row_bytes))      # the cache budget alone
        if batch * row_bytes < threads * min_bytes:                            # too small to share
            assert len(blocks) == fewest
        else:
            assert len(blocks) % threads == 0 or len(blocks) == batch


@pytest.mark.parametrize("impl", ["fast", "torch"])
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
def test_one_row_blocks_on_three_threads(schedule: Schedule, impl: str, monkeypatch: pytest.MonkeyPatch,
                                         same_trace) -> None:
    """Every population updated one row at a time, the rows spread over three host threads: the
    reference's trace (spikes, v, currents), numpy and torch alike."""
    if impl == "torch":
        torch = pytest.importorskip("torch")
        from neurodeploy.backends.cpusim.torchsim import TorchOps
        monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
        monkeypatch.setattr(TorchOps, "__init__", _one_row_torch_init(TorchOps.__init__))
    else:
        from neurodeploy.backends.cpusim.fast import NumpyOps
        monkeypatch.setattr(NumpyOps, "state_block_bytes", 1)
        monkeypatch.setattr(array_ops, "host_cpus", lambda: 3)
    threads: set[str] = set()
    real_rows = folded._Chunk._population_rows

    def spy(self: folded._Chunk, *args: object) -> None:
        threads.add(threading.current_thread().name)
        real_rows(self, *args)                                                   # type: ignore[arg-type]

    monkeypatch.setattr(folded._Chunk, "_population_rows", spy)
    for seed in range(6):
        g = random_dag(seed, schedule=schedule)
        x = random_inputs(g, 7, seed)
        same_trace(simulate(g, x, 3, impl="reference", **KW), simulate(g, x, 3, impl=impl, **KW))
    assert len(threads) == 3


def test_torch_neuron_ops_with_many_row_blocks(monkeypatch: pytest.MonkeyPatch, same_trace) -> None:
    """Torch's own neuron update on the CPU (``torch_neurons=True``), every population split into
    one-row blocks: the blocks run in the calling thread, inside its ``inference_mode`` (a worker
    thread would be outside it, and torch refuses in-place writes to inference tensors there), and
    the trace equals the reference's."""
    pytest.importorskip("torch")
    from neurodeploy.backends.cpusim import torchsim
    monkeypatch.setattr(torchsim.TorchOps, "__init__", _one_row_torch_init(torchsim.TorchOps.__init__))
    blocks: list[slice] = []
    real_rows = folded._Chunk._population_rows

    def spy(self: folded._Chunk, pop: object, consts: object, seqs: object, out: object, blk: slice) -> None:
        assert threading.current_thread() is threading.main_thread()
        blocks.append(blk)
        real_rows(self, pop, consts, seqs, out, blk)                               # type: ignore[arg-type]

    monkeypatch.setattr(folded._Chunk, "_population_rows", spy)
    for seed in range(3):
        g = random_dag(seed)
        x = random_inputs(g, 5, seed)
        ref = simulate(g, x, 3, impl="reference", **KW)
        same_trace(ref, torchsim.run(g, x, ref.steps, list(ref.spikes), True, True, torch_neurons=True))
    assert blocks and all(b.stop - b.start == 1 for b in blocks)


def _one_row_torch_init(real):  # type: ignore[no-untyped-def]
    def init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        real(self, *args, **kwargs)
        self.state_block_bytes = 1
    return init
