"""Fast batched simulator: (batch x neurons) arrays, a Python loop over logical time only.

Bit-identical to :mod:`neurodeploy.backends.cpusim.reference`, but written independently of it
(its own vectorised neuron update, in place), so comparing the two checks the neuron update,
the synapse arithmetic and the delay plumbing at once.  Shared with the reference: the
schedule (:class:`~neurodeploy.ir.schedule.Schedule`, ``srp_gate``) and the trace layout.

Per population with synapses ``k`` (``D_P`` = the state dtype)::

    integrate:  v += C + sum_{k dynamic} I_k(t);  v = clip(v, state_t.lo, state_t.hi)
    fire:       s = [v >= theta] (or >);  v -= s * theta  (subtract)  or  v[s] = 0  (zero)
    SRP:        emitted = s & g  after the latch at step tau

where ``C = bias + sum_{k static} I_k`` is folded once per chunk: a node whose inputs derive
from the Input only is constant over time (``static``) and computed once per chunk.
``D_P`` is int32 when ``max|state| + sum_k B_k + max|bias| + max theta < 2**31`` (every partial
sum then fits), else int64.  Synapse arithmetic: :mod:`~neurodeploy.backends.cpusim.kernels`.

Silence: ``None`` stands for an all-zero spike tensor (a two_phase population outside its fire
window, a delayed edge before step 1); synapses and tensor ops whose inputs are all silent are
skipped.  Delays: a population read by a consumer of depth ``d_c`` gives its emitted spikes of
step ``t - edge_delay(d_s, d_c)`` from a ring buffer; tensor ops are evaluated once per step per
distinct tuple of delays of the populations they read.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from neurodeploy.backends.cpusim.kernels import Synapse, int_dtype, sum_pool
from neurodeploy.backends.cpusim.trace import Trace, new_trace, record
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation, Node
from neurodeploy.ir.schedule import srp_gate
from neurodeploy.ir.verify import target_current_bound

@dataclass(frozen=True)
class Neurons:
    """A population's parameters in its state dtype, with its vectorised in-place update."""

    threshold: np.ndarray
    bias: np.ndarray
    v0: np.ndarray
    lo: int
    hi: int
    greater_equal: bool
    subtract: bool

    @staticmethod
    def of(pop: IFPopulation, current_bound: int, force_subtract: bool) -> Neurons:
        worst = (max(-pop.state_t.lo, pop.state_t.hi) + current_bound
                 + int(np.abs(pop.bias).max(initial=0)) + int(pop.threshold.max(initial=0)))
        dt = int_dtype(worst)                          # |v + partial sums of I + bias| and theta fit
        return Neurons(pop.threshold.astype(dt), pop.bias.astype(dt), pop.v0.astype(dt),
                       pop.state_t.lo, pop.state_t.hi, pop.compare == ">=",
                       pop.reset == "subtract" or force_subtract)

    @property
    def dtype(self) -> type:
        return self.v0.dtype.type

    def integrate(self, v: np.ndarray, parts: list[np.ndarray]) -> None:
        """``v = clip(v + sum(parts), lo, hi)`` in place (``parts`` include the bias)."""
        for p in parts:
            v += p
        np.clip(v, self.lo, self.hi, out=v)

    def fire(self, v: np.ndarray) -> np.ndarray:
        """Boolean spikes ``[v >= theta]`` (or ``>``) and the reset, in place on ``v``."""
        s = v >= self.threshold if self.greater_equal else v > self.threshold
        if self.subtract:
            v -= s * self.threshold
        else:
            v[s] = 0
        return s


def _zeros_for_silent(values: list[np.ndarray | None], shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """``values`` with each silent (``None``) entry replaced by zeros of its shape."""
    batch = next(len(v) for v in values if v is not None)
    return [v if v is not None else np.zeros((batch, *sh), np.int32) for v, sh in zip(values, shapes)]


class Plan:
    """What the chunks share: cast parameters, synapse kernels, static nodes and edge delays."""

    def __init__(self, graph: Graph) -> None:
        graph.check_dataflow()
        self.graph, sched, depths = graph, graph.schedule, graph.depths
        bounds, self.shapes = graph.value_bounds(), graph.shapes()
        self.static: set[str] = set()
        for n in graph.nodes:
            if n.role == "input" or (n.role in ("synapse", "tensor") and all(s in self.static for s in n.inputs)):
                self.static.add(n.name)
        self.neurons = {p.name: Neurons.of(p, target_current_bound(graph, p.name, bounds), sched.forces_subtract)
                        for p in graph.populations()}
        self.synapses: dict[str, Synapse] = {}
        for n in graph.nodes:
            if n.role == "synapse":
                consumer = graph.consumers[n.name][0].name
                out_dtype = self.neurons[consumer].dtype if consumer in self.neurons else np.int64
                self.synapses[n.name] = Synapse(n, bounds[n.inputs[0]], out_dtype)  # type: ignore[arg-type]
        self.pool_dtype = {n.name: int_dtype(bounds[n.name]) for n in graph.nodes if n.role == "tensor"}
        self.targets = [n for n in graph.nodes if n.role in ("population", "readout")]
        self.keep = {p.name: 1 for p in graph.populations()}       # ring buffer lengths
        self.delay: dict[tuple[str, int], int] = {}
        self.key: dict[tuple[str, int], tuple[str, tuple[int, ...]]] = {}
        for tgt in self.targets:
            for syn in tgt.inputs:
                self._walk(syn, depths[tgt.name])

    def _walk(self, name: str, d_c: int) -> None:
        """Record delays and cache keys of the dynamic nodes read on the way to a consumer of depth ``d_c``."""
        g = self.graph
        if name in self.static or (name, d_c) in self.key or (name, d_c) in self.delay:
            return
        if g.node(name).role == "population":
            delay = g.schedule.edge_delay(g.depths[name], d_c)
            self.delay[(name, d_c)] = delay
            self.keep[name] = max(self.keep[name], delay + 1)
            return
        pops = [p for p in g.spike_sources(name) if g.node(p).role == "population"]
        self.key[(name, d_c)] = (name, tuple(g.schedule.edge_delay(g.depths[p], d_c) for p in pops))
        for src in g.node(name).inputs:
            self._walk(src, d_c)

    def apply(self, n: Node, values: list[np.ndarray | None]) -> np.ndarray | None:
        """A stateless node's value; ``None`` (silent) when all its inputs are silent."""
        if all(v is None for v in values):
            return None
        if n.role == "synapse":
            return self.synapses[n.name](values[0])                 # type: ignore[arg-type]
        kind = type(n).__name__
        if kind == "SumPool":
            return sum_pool(n, values[0], self.pool_dtype[n.name])  # type: ignore[arg-type]
        if kind == "Flatten":
            return values[0].reshape(len(values[0]), -1)            # type: ignore[union-attr]
        dense = _zeros_for_silent(values, [self.shapes[s] for s in n.inputs])
        if kind == "Concat":
            return np.concatenate(dense, axis=1)
        return n.apply(dense)                                       # any other tensor op: exact int64

    def constants(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Values of the static nodes (those that depend on the Input only) for one chunk."""
        const: dict[str, np.ndarray] = {}
        for n in self.graph.nodes:
            if n.name in self.static:
                const[n.name] = x if n.role == "input" else self.apply(n, [const[s] for s in n.inputs])  # type: ignore[assignment]
        return const


def run(graph: Graph, x: np.ndarray, total: int, probes: Sequence[str] = (), record_v: bool = False,
        record_current: bool = False, chunk: int = 1000, progress: bool = False) -> Trace:
    """Simulate ``x`` (batch, *input shape) for ``total`` logical steps, ``chunk`` samples at a time."""
    if chunk < 1:
        raise ValueError(f"chunk: must be >= 1, got {chunk}")
    plan = Plan(graph)
    trace = new_trace(graph, len(x), total, probes, record_v, record_current)
    starts: Sequence[int] = range(0, len(x), chunk)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="cpusim", unit="chunk")
    for start in starts:
        rows = slice(start, min(start + chunk, len(x)))
        _run_chunk(plan, np.asarray(x[rows], np.int64), total, rows, trace)
    return trace


def _run_chunk(plan: Plan, x: np.ndarray, total: int, rows: slice, trace: Trace) -> None:
    graph, sched, depths, batch = plan.graph, plan.graph.schedule, plan.graph.depths, len(x)
    const = plan.constants(x)
    fixed: dict[str, list[np.ndarray]] = {}          # static currents per target
    dynamic: dict[str, list[str]] = {}               # synapses evaluated every step
    for tgt in plan.targets:
        fixed[tgt.name] = [const[s] for s in tgt.inputs if s in const]
        dynamic[tgt.name] = [s for s in tgt.inputs if s not in const]
    bias = {tgt.name: plan.neurons[tgt.name].bias if tgt.name in plan.neurons else tgt.bias for tgt in plan.targets}
    drive = {name: sum(fixed[name], b) for name, b in bias.items()}          # C = bias + static I
    v = {p: np.broadcast_to(nr.v0, (batch, *nr.v0.shape)).copy() for p, nr in plan.neurons.items()}
    gate: dict[str, np.ndarray | None] = {p: None for p in plan.neurons}
    history: dict[str, deque[np.ndarray | None]] = {p: deque(maxlen=k) for p, k in plan.keep.items()}
    ro = graph.readout
    acc = np.zeros((batch, *ro.shape), np.int64)
    for t in range(1, total + 1):
        cache: dict[tuple[str, tuple[int, ...]], np.ndarray | None] = {}
        value = _step_reader(plan, const, history, cache, t)
        for tgt in plan.targets:
            name, d_c = tgt.name, depths[tgt.name]
            parts = [c for c in (value(s, d_c) for s in dynamic[name]) if c is not None]
            current = _sum(fixed[name] + parts) if name in trace.current else None
            if tgt.role == "readout":
                if sched.readout_integrates(t, graph.depth):
                    for p in [drive[name], *parts]:
                        acc += p
                trace.readout[t - 1, rows] = acc
                record(trace, name, t, rows, current=current)
                continue
            nr, vv = plan.neurons[name], v[name]
            integrate, fire = sched.neuron_phase(t, d_c)
            if integrate:
                nr.integrate(vv, [drive[name], *parts])
            s = nr.fire(vv) if fire else None
            if s is not None and gate[name] is not None:
                s &= gate[name]                                               # SRP: emitted = s * g
            history[name].append(s)
            record(trace, name, t, rows, spikes=s, v=vv, current=current)
        if sched.is_srp_latch(t):
            for p, nr in plan.neurons.items():
                gate[p] = srp_gate(nr.threshold, v[p]).astype(bool)            # g = [1000 v > theta]
                v[p][...] = nr.v0                                               # reload v0
            acc[...] = 0                                                        # clear the readout


def _sum(parts: list[np.ndarray]) -> np.ndarray | None:
    return sum(parts[1:], parts[0].astype(np.int64)) if parts else None


def _step_reader(plan: Plan, const: dict[str, np.ndarray], history: dict[str, deque[np.ndarray | None]],
                 cache: dict[tuple[str, tuple[int, ...]], np.ndarray | None],
                 t: int) -> Callable[[str, int], np.ndarray | None]:
    """``value(name, d_c)``: node ``name`` at step ``t`` as read towards a consumer of depth ``d_c``."""

    def value(name: str, d_c: int) -> np.ndarray | None:
        if name in const:
            return const[name]
        delay = plan.delay.get((name, d_c))
        if delay is not None:                                                   # a population
            return history[name][-1 - delay] if t - delay >= 1 else None
        key = plan.key[(name, d_c)]
        if key not in cache:
            node = plan.graph.node(name)
            cache[key] = plan.apply(node, [value(s, d_c) for s in node.inputs])
        return cache[key]

    return value
