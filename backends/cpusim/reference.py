"""Reference interpreter: the readable executable form of the IR semantics, plain int64 numpy.

Speed is irrelevant here.  The batch is one array axis; time is a Python loop over logical
steps ``t = 1..T`` and, inside a step, over ``graph.nodes`` in topological order:

* stateless nodes (Input, synapses, pool, flatten, concat): ``node.apply`` (exact int64);
  the Input is constant, ``x(t) = x_int``.
* a population or the readout with synapses ``k``: ``I(t) = sum_k I_k(t)``.
* IF: ``u = v(t-1) + I(t) + bias``; ``v' = clip(u, state_t)``; ``s = [v' >= theta]`` or
  ``[v' > theta]``; ``v(t) = v' - s*theta`` (subtract) or ``v' * (1 - s)`` (zero).
* readout: ``acc(t) = acc(t-1) + I(t) + bias`` on the steps where it integrates.

Every schedule decision comes from :class:`~neurodeploy.ir.schedule.Schedule` with the node's
logical depth ``graph.depths[name]``: ``neuron_phase`` (two_phase: integrate without firing in
window ``d``, fire in window ``d + 1`` ignoring input and bias, resetting by subtraction as
``forces_subtract`` says), ``readout_integrates``, ``is_srp_latch`` (end of step ``tau``:
``g = srp_gate(theta, v)``, ``v = v0``, ``acc = 0``; later spikes are emitted as ``s * g``) and
``edge_delay``: a population of depth ``d_s`` is read by a synapse whose consumer has depth
``d_c`` as the spikes it emitted at step ``t - edge_delay(d_s, d_c)`` (zero before step 1).
Tensor ops between a population and a synapse are therefore evaluated once per consumer depth
(values cached by ``(node, d_c)``).

Trace conventions (:mod:`~neurodeploy.backends.cpusim.trace`): at SRP's latch ``v`` and the
readout recorded for step ``tau`` are the values *before* the reload/clear; ``current`` is the
summed synaptic input ``I(t)`` (no bias) whether or not the schedule lets the node integrate it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurodeploy.backends.cpusim.trace import Trace, new_trace, record
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation, Node
from neurodeploy.ir.schedule import srp_gate


def if_update(pop: IFPopulation, v: np.ndarray, current: np.ndarray, integrate: bool, fire: bool,
              force_subtract: bool) -> tuple[np.ndarray, np.ndarray]:
    """One IF step on int64 arrays (any leading batch axes); returns ``(v(t), s(t))``."""
    theta = pop.threshold
    u = v + current + pop.bias if integrate else v   # u = v(t-1) + I(t) + (bias_mant << bias_exp)
    v_sat = pop.state_t.saturate(u)                  # v' = clip(u, state_t.lo, state_t.hi)
    if not fire:
        return v_sat, np.zeros_like(v_sat)           # two_phase integrate window: no spikes
    if pop.compare == ">=":
        s = (v_sat >= theta).astype(np.int64)        # s = [v' >= theta]
    else:
        s = (v_sat > theta).astype(np.int64)         # s = [v' > theta]
    if pop.reset == "subtract" or force_subtract:
        return v_sat - s * theta, s                  # v = v' - s * theta
    return v_sat * (1 - s), s                        # v = v' * (1 - s)


class _StepValues:
    """Values of stateless nodes at one step, per consumer depth (cached)."""

    def __init__(self, graph: Graph, x: np.ndarray, emitted: dict[str, dict[int, np.ndarray]], t: int) -> None:
        self.graph, self.x, self.emitted, self.t = graph, x, emitted, t
        self.cache: dict[tuple[str, int], np.ndarray] = {}

    def value(self, name: str, consumer_depth: int) -> np.ndarray:
        """Output of node ``name`` as seen by a synapse feeding a node of ``consumer_depth``."""
        key = (name, consumer_depth)
        if key not in self.cache:
            self.cache[key] = self._evaluate(self.graph.node(name), consumer_depth)
        return self.cache[key]

    def _evaluate(self, n: Node, consumer_depth: int) -> np.ndarray:
        if n.role == "input":
            return self.x                                                       # x(t) = x_int
        if n.role == "population":
            delay = self.graph.schedule.edge_delay(self.graph.depths[n.name], consumer_depth)
            zeros = np.zeros((len(self.x), *n.shape), np.int64)                 # type: ignore[union-attr]
            return self.emitted[n.name].get(self.t - delay, zeros)              # s(t - delay), 0 before 1
        return n.apply([self.value(src, consumer_depth) for src in n.inputs])

    def current(self, target: Node) -> np.ndarray:
        """``I(t) = sum_k I_k(t)`` over the target's synapses."""
        d_c = self.graph.depths[target.name]
        return sum((self.value(src, d_c) for src in target.inputs),
                   np.zeros((len(self.x), *target.shape), np.int64))           # type: ignore[union-attr]


def run(graph: Graph, x: np.ndarray, total: int, probes: Sequence[str] = (),
        record_v: bool = False, record_current: bool = False) -> Trace:
    """Simulate ``x`` (batch, *input shape) for ``total`` logical steps."""
    graph.check_dataflow()
    sched, depths, batch = graph.schedule, graph.depths, len(x)
    x = np.asarray(x, np.int64)
    trace = new_trace(graph, batch, total, probes, record_v, record_current)
    pops = graph.populations()
    v = {p.name: np.broadcast_to(p.v0, (batch, *p.shape)).copy() for p in pops}       # v(0) = v0
    gate = {p.name: np.ones((batch, *p.shape), np.int64) for p in pops}                # SRP gate before tau
    emitted: dict[str, dict[int, np.ndarray]] = {p.name: {} for p in pops}             # step -> s * g
    ro = graph.readout
    acc = np.zeros((batch, *ro.shape), np.int64)                                        # acc(0) = 0
    everything = slice(None)
    for t in range(1, total + 1):
        values = _StepValues(graph, x, emitted, t)
        for n in graph.nodes:
            if n.role == "population":
                assert isinstance(n, IFPopulation)
                current = values.current(n)
                integrate, fire = sched.neuron_phase(t, depths[n.name])
                v[n.name], s = if_update(n, v[n.name], current, integrate, fire, sched.forces_subtract)
                emitted[n.name][t] = s * gate[n.name]
                record(trace, n.name, t, everything, spikes=emitted[n.name][t], v=v[n.name], current=current)
            elif n.role == "readout":
                current = values.current(n)
                if sched.readout_integrates(t, graph.depth):
                    acc = acc + current + ro.bias                                   # acc(t) = acc(t-1) + I + b
                trace.readout[t - 1] = acc
                record(trace, n.name, t, everything, current=current)
        if sched.is_srp_latch(t):                                                   # end of pre-simulation
            for p in pops:
                gate[p.name] = srp_gate(p.threshold, v[p.name])                     # g = [1000 v > theta]
                v[p.name] = np.broadcast_to(p.v0, (batch, *p.shape)).copy()         # reload v0
            acc = np.zeros_like(acc)                                                # clear the readout
    return trace
