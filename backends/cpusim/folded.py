"""Time-folded evaluation of the integer IR: the engine behind ``impl="fast"`` and ``impl="torch"``.

The IR is feed-forward in logical time: a node's value at step ``t`` depends on its sources at
step ``t``, a population's also on its own state at ``t - 1`` and on spikes emitted
``edge_delay(d_s, d_c)`` steps earlier by populations of lower depth.  So each node can run all
``T`` steps of a chunk of ``B`` samples before the next node starts (topological order):

* a value is a time series over steps ``1..T``: :class:`Const` (input-derived, the same at every
  step, held once as ``(B, *shape)``), :class:`Seq` (``(L, B, *shape)`` for steps
  ``start..start+L-1``, zero at the other steps) or ``None`` (zero at every step);
* a stateless node (synapse, pool, flatten, concat) maps a ``Seq`` by folding time into the batch,
  ``y[(t, b)] = f(x[(t, b)])``: one large matmul/conv over the ``(L x B)`` axis (in pieces whose
  working set stays below :data:`FOLD_BYTES`), exact by the kernels' bound rule;
* a reader of depth ``d_c`` sees population ``p``'s emitted series shifted by
  ``edge_delay(d_p, d_c)``: ``Seq(start + delay, data)`` cropped to ``T`` (two_phase shortcuts);
* a population runs its integer recurrence (a Python loop over ``t``, vectorised over batch and
  neurons) with ``(integrate, fire) = schedule.neuron_phase(t, d)``::

      integrate:  v' = clip(v + C + sum_k I_k(t), state_t.lo, state_t.hi)      C = bias + sum_{k Const} I_k
      fire:       s = [v' >= theta] (or >);  v = v' - s * theta (subtract) or v' * (1 - s) (zero)
      emitted:    e(t) = s(t) & g;  g = 1 until SRP's latch at the end of step tau sets
                  g = [1000 v > theta] and reloads v = v0

  The clip is skipped where it provably never acts: ``max|v0| + T (B_I + max|bias|)`` within
  ``state_t`` (|v| grows by at most ``B_I + |bias|`` per step; both resets shrink it).
* the readout: ``acc(t) = sum_{u <= t} [integrates(u)] (I(u) + bias)``, a cumulative sum over
  time restarted after SRP's step ``tau`` (the value recorded at ``tau`` is before the clear).

Array work goes through an :class:`ArrayOps` (numpy: :mod:`.fast`, torch: :mod:`.torchsim`);
every schedule decision comes from :class:`~neurodeploy.ir.schedule.Schedule`.  Chunks are
sized so the live series of one chunk fit :data:`MEMORY_BUDGET`; probes are written into the
trace chunk by chunk.
"""
from __future__ import annotations

import contextlib

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodeploy.backends.cpusim.array_ops import ArrayOps, NeuronOps, state_bound
from neurodeploy.backends.cpusim.host_memory import MMAP_THRESHOLD, reuse_freed_memory
from neurodeploy.backends.cpusim.kernels import matmul_dtype
from neurodeploy.backends.cpusim.trace import Trace, new_trace
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, IFPopulation, Node, SumPool
from neurodeploy.ir.verify import target_current_bound

MEMORY_BUDGET = 64 << 20       # bytes of live time series per chunk (picks the chunk size)
FOLD_BYTES = MMAP_THRESHOLD    # working set of one folded stateless-node call: recycled heap blocks
THREAD_BLOCK_MIN_BYTES = 1 << 20   # smaller row blocks lose more to the GIL than threads gain (measured)


@dataclass(frozen=True)
class Const:
    """A value that is the same at every step: ``data`` is ``(B, *shape)``."""

    data: Any


@dataclass(frozen=True)
class Seq:
    """Steps ``start .. start + L - 1`` of a value (``data`` is ``(L, B, *shape)``); zero elsewhere."""

    start: int
    data: Any

    @property
    def stop(self) -> int:
        return self.start + int(self.data.shape[0])


Value = Const | Seq | None


class Plan:
    """What the chunks share: kernels, neuron parameters, fire ranges, delays and lifetimes."""

    def __init__(self, graph: Graph, ops: ArrayOps, total: int) -> None:
        graph.check_dataflow()
        self.graph, self.ops, self.total = graph, ops, total
        sched, depths = graph.schedule, graph.depths
        bounds, self.shapes = graph.value_bounds(), graph.shapes()
        self.static: set[str] = set()
        for n in graph.nodes:
            if n.role == "input" or (n.role in ("synapse", "tensor") and all(s in self.static for s in n.inputs)):
                self.static.add(n.name)
        self.state_dtype: dict[str, str] = {}
        self.neurons: dict[str, NeuronOps] = {}
        for p in graph.populations():
            cb = target_current_bound(graph, p.name, bounds)
            self.state_dtype[p.name] = ops.exact_dtype(state_bound(p, cb))
            self.neurons[p.name] = ops.neurons(p, cb, sched.forces_subtract, total, self.state_dtype[p.name])
        self.synapses: dict[str, Callable[[Any], Any]] = {}
        for n in graph.nodes:
            if n.role == "synapse":
                consumer = graph.consumers[n.name][0].name
                self.synapses[n.name] = ops.synapse(n, bounds[n.inputs[0]], self.state_dtype.get(consumer, "int64"))
        self.tensor_dtype = {n.name: ops.exact_dtype(bounds[n.name]) for n in graph.nodes if n.role == "tensor"}
        self.value_bytes = {n.name: np.dtype(matmul_dtype(n.raw_bound(bounds[n.inputs[0]]))).itemsize  # type: ignore[attr-defined]
                            for n in graph.nodes if n.role == "synapse"}
        self.value_bytes.update({k: np.dtype(v).itemsize for k, v in self.tensor_dtype.items()})
        self.targets = [n for n in graph.nodes if n.role in ("population", "readout")]
        self.fire_range: dict[str, tuple[int, int] | None] = {}
        for p in graph.populations():
            steps = [t for t in range(1, total + 1) if sched.neuron_phase(t, depths[p.name])[1]]
            self.fire_range[p.name] = (steps[0], steps[-1]) if steps else None
        self.last_reader: dict[str, int] = {}
        for i, tgt in enumerate(self.targets):
            for syn in tgt.inputs:
                for src in graph.spike_sources(syn):
                    if graph.node(src).role == "population":
                        self.last_reader[src] = i

    def delays(self, name: str, d_c: int) -> tuple[int, ...]:
        """Edge delays of the populations node ``name`` reads, towards a consumer of depth ``d_c``."""
        g = self.graph
        return tuple(g.schedule.edge_delay(g.depths[p], d_c) for p in g.spike_sources(name)
                     if g.node(p).role == "population")

    def bytes_per_sample(self) -> int:
        """Estimated live bytes per sample: emitted spikes of every population plus the largest
        target's dynamic synapse outputs and float accumulators, and its state."""
        size = {k: int(np.prod(v)) for k, v in self.shapes.items()}
        spikes = sum(size[p] * (r[1] - r[0] + 1) for p, r in self.fire_range.items() if r)
        work = max((sum(size[s] for s in t.inputs if s not in self.static) * 16 * self.total + size[t.name] * 8
                    for t in self.targets), default=0)
        return max(1, spikes + work)

    def row_blocks(self, pop: IFPopulation, batch: int) -> list[slice]:
        """Row blocks of a population updated together through all steps, as even as possible:
        each keeps its state within ``ops.state_block_bytes`` (cache-sized on the CPU; the whole
        chunk when ``None``); their number is rounded up to a multiple of ``ops.host_threads``
        where every block still holds :data:`THREAD_BLOCK_MIN_BYTES` (8 bytes a neuron counted)."""
        limit = self.ops.state_block_bytes
        if limit is None:
            return [slice(0, batch)]
        row_bytes = 8 * int(np.prod(pop.shape))
        count = -(-batch // max(1, limit // row_bytes))
        shared = -(-count // self.ops.host_threads) * self.ops.host_threads
        if batch * row_bytes >= shared * THREAD_BLOCK_MIN_BYTES:
            count = min(batch, shared)
        edges = [batch * i // count for i in range(count + 1)]
        return [slice(a, b) for a, b in zip(edges, edges[1:])]

    def chunk_size(self, batch: int, budget: int | None = None) -> int:
        """Samples per chunk: as many as ``budget`` (default :data:`MEMORY_BUDGET`, read at call time) holds."""
        budget = MEMORY_BUDGET if budget is None else budget
        return int(max(1, min(batch, budget // self.bytes_per_sample())))

    def fold_steps(self, node: Node, batch: int) -> int:
        """Steps per folded call of ``node`` so its working set stays below :data:`FOLD_BYTES`
        (input and output in the node's arithmetic dtype, float32 / float64 / int64 for a synapse;
        a conv's input ``kw`` times where the kernel unrolls it)."""
        inp = int(np.prod(self.shapes[node.inputs[0]]))
        taps = int(node.weight.shape[3]) if isinstance(node, Conv) and self.ops.unrolls_conv_input else 1
        per_row = self.value_bytes[node.name] * (inp * taps + int(np.prod(self.shapes[node.name])))
        return max(1, FOLD_BYTES // max(1, per_row * batch))


def run(graph: Graph, x: np.ndarray, total: int, ops: ArrayOps, probes: Sequence[str] = (),
        record_v: bool = False, record_current: bool = False, chunk: int | None = None,
        progress: bool = False) -> Trace:
    """Simulate ``x`` (batch, *input shape) for ``total`` logical steps, a chunk of samples at a
    time (``chunk`` samples, or as many as :data:`MEMORY_BUDGET` allows when ``None``)."""
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk: must be >= 1, got {chunk}")
    plan = Plan(graph, ops, total)
    trace = new_trace(graph, len(x), total, probes, record_v, record_current)
    size = chunk if chunk is not None else plan.chunk_size(len(x))
    starts: Sequence[int] = range(0, len(x), size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="cpusim", unit="chunk")
    # freed arrays recycled, not page-faulted anew; row blocks of a population on host threads
    # (none with one thread: the blocks then run in this thread, inside any thread-local mode
    # such as torch's inference_mode that the caller entered)
    threads = ThreadPoolExecutor(ops.host_threads, "cpusim") if ops.host_threads > 1 else None
    with reuse_freed_memory(), (threads or contextlib.nullcontext()) as pool:
        for start in starts:
            rows = slice(start, min(start + size, len(x)))
            _Chunk(plan, ops.asarray(np.asarray(x[rows], np.int64)), rows, trace, pool).run()
    return trace


class _Chunk:
    """One chunk of samples through every node, in topological order."""

    def __init__(self, plan: Plan, x: Any, rows: slice, trace: Trace,
                 pool: ThreadPoolExecutor | None) -> None:
        self.plan, self.ops, self.x, self.rows, self.trace, self.pool = plan, plan.ops, x, rows, trace, pool
        self.batch = int(x.shape[0])
        self.consts: dict[str, Const] = {}
        self.emitted: dict[str, Seq | None] = {}

    def run(self) -> None:
        g = self.plan.graph
        for i, tgt in enumerate(self.plan.targets):
            d_c = g.depths[tgt.name]
            cache: dict[tuple[str, tuple[int, ...]], Value] = {}
            parts = [self.value(s, d_c, cache) for s in tgt.inputs]
            if tgt.role == "readout":
                self.readout(tgt, parts)
            else:
                assert isinstance(tgt, IFPopulation)
                self.emitted[tgt.name] = self.population(tgt, parts)
            for p, last in self.plan.last_reader.items():
                if last == i:
                    self.emitted.pop(p, None)                    # no later target reads it

    # -- stateless nodes -------------------------------------------------------------------
    def value(self, name: str, d_c: int, cache: dict[tuple[str, tuple[int, ...]], Value]) -> Value:
        """Node ``name`` over all steps, as read towards a consumer of depth ``d_c``."""
        plan, g = self.plan, self.plan.graph
        node = g.node(name)
        if name in plan.static:
            if name not in self.consts:
                if node.role == "input":
                    self.consts[name] = Const(self.x)
                else:
                    self.consts[name] = self.apply(node, [self.value(s, d_c, cache) for s in node.inputs])  # type: ignore[assignment]
            return self.consts[name]
        if node.role == "population":
            seq = self.emitted[name]
            delay = g.schedule.edge_delay(g.depths[name], d_c)
            if seq is None or seq.start + delay > plan.total:
                return None
            return Seq(seq.start + delay, seq.data[:plan.total - seq.start - delay + 1])
        key = (name, plan.delays(name, d_c))
        if key not in cache:
            cache[key] = self.apply(node, [self.value(s, d_c, cache) for s in node.inputs])
        return cache[key]

    def apply(self, node: Node, values: list[Value]) -> Value:
        """A stateless node on time series; silent in, silent out."""
        if all(v is None for v in values):
            return None
        kind = type(node).__name__
        if node.role == "synapse":
            fn: Callable[[Any], Any] = self.plan.synapses[node.name]
        elif kind == "SumPool":
            def fn(a: Any) -> Any:
                return self.ops.sum_pool(node, a, self.plan.tensor_dtype[node.name])  # type: ignore[arg-type]
        elif kind == "Flatten":
            def fn(a: Any) -> Any:
                return a.reshape(a.shape[0], -1)
        else:
            return self.merge(node, values)
        v = values[0]
        if isinstance(v, Const):
            return Const(fn(v.data))
        assert isinstance(v, Seq)
        return Seq(v.start, self.fold(node, fn, v.data))

    def fold(self, node: Node, fn: Callable[[Any], Any], data: Any) -> Any:
        """``fn`` on ``data`` (L, B, ...) with time folded into the batch, in pieces of steps."""
        steps, b = int(data.shape[0]), self.batch
        per = self.plan.fold_steps(node, b)
        out = None
        for i in range(0, steps, per):
            j = min(i + per, steps)
            y = fn(data[i:j].reshape((j - i) * b, *data.shape[2:]))
            if out is None and j == steps:
                return y.reshape(steps, b, *y.shape[1:])
            if out is None:
                out = self.ops.empty((steps, b, *y.shape[1:]), str(y.dtype).replace("torch.", ""))
            out[i:j] = y.reshape(j - i, b, *y.shape[1:])
        return out

    def merge(self, node: Node, values: list[Value]) -> Value:
        """Multi-input tensor ops (Concat; any other via its exact int64 ``apply``) on the union
        of the inputs' step ranges."""
        if all(isinstance(v, Const) for v in values):
            return Const(self.combine(node, [v.data for v in values]))  # type: ignore[union-attr]
        if any(isinstance(v, Const) for v in values):
            lo, hi = 1, self.plan.total + 1
        else:
            lo = min(v.start for v in values if isinstance(v, Seq))
            hi = max(v.stop for v in values if isinstance(v, Seq))
        dense = [self.align(v, s, lo, hi) for v, s in zip(values, node.inputs)]
        n = hi - lo
        flat = self.combine(node, [d.reshape(n * self.batch, *d.shape[2:]) for d in dense])
        return Seq(lo, flat.reshape(n, self.batch, *flat.shape[1:]))

    def combine(self, node: Node, arrays: list[Any]) -> Any:
        if type(node).__name__ == "Concat":
            if not all(self.ops.is_bool(a) for a in arrays):
                arrays = [self.ops.cast(a, self.plan.tensor_dtype[node.name]) for a in arrays]
            return self.ops.concat(arrays, 1)
        out = node.apply([self.ops.to_numpy(a).astype(np.int64) for a in arrays])
        return self.ops.cast(self.ops.asarray(out), "int64")

    def align(self, v: Value, name: str, lo: int, hi: int) -> Any:
        """``v`` as a dense ``(hi - lo, B, *shape)`` array over steps ``lo .. hi - 1``."""
        shape = (hi - lo, self.batch, *self.plan.shapes[name])
        if isinstance(v, Seq) and (v.start, v.stop) == (lo, hi):
            return v.data
        if isinstance(v, Const):
            out = self.ops.zeros(shape, "int64")
            out[...] = v.data
            return out
        out = self.ops.zeros(shape, "bool" if v is not None and self.ops.is_bool(v.data) else "int64")
        if isinstance(v, Seq):
            out[v.start - lo:v.stop - lo] = v.data
        return out

    # -- targets ---------------------------------------------------------------------------
    @staticmethod
    def _step_parts(seqs: list[Seq], t: int, blk: slice) -> list[Any]:
        return [s.data[t - s.start][blk] for s in seqs if s.start <= t < s.stop]

    def _current(self, consts: list[Any], seqs: list[Seq], t: int, blk: slice) -> np.ndarray:
        """``I(t) = sum_k I_k(t)`` of rows ``blk`` in int64 numpy (for the trace)."""
        cur: np.ndarray | int = 0
        for a in consts + self._step_parts(seqs, t, blk):
            cur = cur + self.ops.to_numpy(a).astype(np.int64)              # integer-valued (float state)
        return np.asarray(cur)

    def population(self, pop: IFPopulation, parts: list[Value]) -> Seq | None:
        """The population's recurrence over all steps, a block of rows at a time (its state
        stays in cache across the steps); returns its emitted spikes."""
        plan = self.plan
        consts = [p.data for p in parts if isinstance(p, Const)]
        seqs = [p for p in parts if isinstance(p, Seq)]
        span = plan.fire_range[pop.name]
        out = self.ops.zeros((span[1] - span[0] + 1, self.batch, *pop.shape), "bool") if span else None
        blocks = plan.row_blocks(pop, self.batch)
        if len(blocks) == 1 or self.pool is None:
            for b in blocks:
                self._population_rows(pop, consts, seqs, out, b)
        else:                         # independent rows: numpy releases the GIL inside each update
            for done in [self.pool.submit(self._population_rows, pop, consts, seqs, out, b) for b in blocks]:
                done.result()
        if pop.name in self.trace.spikes and out is not None and span is not None:
            self.trace.spikes[pop.name][span[0] - 1:span[1], self.rows] = self.ops.to_numpy(out)
        return Seq(span[0], out) if out is not None and span is not None else None

    def _population_rows(self, pop: IFPopulation, consts: list[Any], seqs: list[Seq], out: Any, blk: slice) -> None:
        """All steps of rows ``blk`` of the chunk (see module docstring for the update)."""
        plan, trace, name = self.plan, self.trace, pop.name
        sched, d, span = plan.graph.schedule, plan.graph.depths[name], plan.fire_range[name]
        nr = plan.neurons[name]
        consts = [c[blk] for c in consts]
        drive = nr.drive(consts)
        v = nr.initial(blk.stop - blk.start)
        rows = slice(self.rows.start + blk.start, self.rows.start + blk.stop)     # rows of the trace
        gate = None
        for t in range(1, plan.total + 1):
            integrate, fire = sched.neuron_phase(t, d)
            if integrate:
                nr.integrate(v, drive, self._step_parts(seqs, t, blk))
            if fire:
                assert out is not None and span is not None
                nr.fire(v, out[t - span[0]][blk], gate)
            if name in trace.v:
                trace.v[name][t - 1, rows] = self.ops.to_numpy(v)
            if name in trace.current:
                trace.current[name][t - 1, rows] = self._current(consts, seqs, t, blk)
            if sched.is_srp_latch(t):
                gate = nr.latch(v)

    def readout(self, ro: Node, parts: list[Value]) -> None:
        """``acc(t)``: cumulative sum of ``I(u) + bias`` over integrating steps (int64 numpy)."""
        plan, total = self.plan, self.plan.total
        g, sched = plan.graph, plan.graph.schedule
        cur = np.zeros((total, self.batch, *plan.shapes[ro.name]), np.int64)
        for p in parts:
            if isinstance(p, Const):
                cur += self.ops.to_numpy(p.data)
            elif isinstance(p, Seq):
                cur[p.start - 1:p.stop - 1] += self.ops.to_numpy(p.data)
        if ro.name in self.trace.current:
            self.trace.current[ro.name][:, self.rows] = cur
        integrates = np.array([sched.readout_integrates(t, g.depth) for t in range(1, total + 1)], bool)
        cur += ro.bias                                                         # type: ignore[union-attr]
        cur[~integrates] = 0
        cut = sched.tau if sched.kind == "srp" else 0                           # SRP clears after tau
        acc = np.concatenate([np.cumsum(cur[:cut], axis=0), np.cumsum(cur[cut:], axis=0)])
        self.trace.readout[:, self.rows] = acc
