"""Reference interpreter: one sample, one logical step at a time, plain int64 numpy.

This module is the readable executable form of the IR semantics (``neurodeploy.ir.nodes``
and ``Schedule``).  Speed is irrelevant here; every line mirrors an equation:

* synapse  ``I(t) = shift(W @ s(t), weight_exp)`` (Dense) or ``shift(conv2d(s(t), W), weight_exp)``
* pool     ``y(t) = sum of s(t) over k x k windows``; flatten = C-order reshape
* IF       ``u = v(t-1) + I(t) + bias``; ``v' = clip(u, state_t)``; ``s = cmp(v', theta)``;
  ``v(t) = v' - s*theta`` (subtract) or ``v' * (1 - s)`` (zero)
* readout  ``acc(t) = acc(t-1) + I(t) + bias``

Schedules (``Schedule`` docstring): *plain* integrates and fires every step; *srp* latches
``g = [1000 * v > theta]`` at the end of step ``tau``, reloads ``v0``, clears the readout and
then emits ``s * g``; *two_phase* lets population ``l`` integrate (no firing) in window ``l``
and fire with subtraction (input ignored) in window ``l + 1``; the readout integrates in
window ``D + 1`` only.

Trace convention at the SRP phase switch: ``v`` and ``readout`` recorded for step ``tau`` are
the values *before* the reload/clear (so the residual ``v(tau)`` that set the gate is visible);
step ``tau + 1`` starts from ``v0`` and ``acc = 0``.  ``current`` is the synapse output
``I(t)`` whether or not the schedule lets the population integrate it.

The schedule helpers and :func:`if_step` work on arrays of any shape, so the fast batched
simulator reuses them unchanged; only the synapse arithmetic differs between the two.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.dtypes import IntT, IRError, shift
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import Conv, Dense, Flatten, IFPopulation, Input, Node, Readout, SumPool

SYNAPSES = (Dense, Conv)


# ----------------------------------------------------------------------------- schedule
def neuron_mode(schedule: Schedule, t: int, layer: int) -> tuple[bool, bool]:
    """``(integrate, fire)`` for population number ``layer`` (1-based) at logical step ``t`` (1-based)."""
    if schedule.kind != "two_phase":
        return True, True
    w = schedule.window
    integrate = (layer - 1) * w < t <= layer * w      # window l: accumulate, no firing
    fire = layer * w < t <= (layer + 1) * w           # window l+1: fire, input ignored
    return integrate, fire


def readout_active(schedule: Schedule, t: int, depth: int) -> bool:
    """Whether the readout integrates at step ``t`` (two_phase: window ``D+1`` only)."""
    return schedule.kind != "two_phase" or t > depth * schedule.window


def first_useful_step(schedule: Schedule, depth: int) -> int:
    """Index of the first step whose readout feeds the prediction (0 plain, tau srp, D*window)."""
    if schedule.kind == "srp":
        return schedule.tau
    if schedule.kind == "two_phase":
        return depth * schedule.window
    return 0


def srp_gate(pop: IFPopulation, v: np.ndarray) -> np.ndarray:
    """SRP latch ``g = [1000 * v > theta]`` (exact integer form of ``v / theta > 1e-3``)."""
    return (1000 * np.asarray(v, np.int64) > pop.threshold).astype(np.int64)   # int64: no overflow


def check_structure(graph: Graph) -> dict[str, tuple[int, ...]]:
    """Shapes of every node, after checking what the simulators rely on (one clear line)."""
    _ = graph.input, graph.readout
    shapes = graph.shapes()
    consumers: dict[str, list[Node]] = {}
    for n in graph.nodes:
        if not isinstance(n, Input):
            consumers.setdefault(n.source, []).append(n)
    for n in graph.nodes:
        if isinstance(n, (IFPopulation, Readout)) and not isinstance(graph.node(n.source), SYNAPSES):
            src = graph.node(n.source)
            raise IRError(f"{n.name}.source: must be a Dense or Conv synapse, got "
                          f"{type(src).__name__} {src.name!r}")
        if isinstance(n, SumPool):
            for c in consumers.get(n.name, []):
                if not isinstance(c, (Conv, Dense, Flatten, SumPool)):
                    raise IRError(f"{n.name}: SumPool must feed a synapse (directly or via Flatten), "
                                  f"not {type(c).__name__} {c.name!r}")
    return shapes


# ----------------------------------------------------------------------------- neurons
class NeuronParams(Protocol):
    """What :func:`if_step` reads: an :class:`IFPopulation` or the fast simulator's cast copy."""

    threshold: np.ndarray
    bias: np.ndarray
    state_t: IntT
    compare: str
    reset: str


def if_step(pop: NeuronParams, v: np.ndarray, current: np.ndarray, integrate: bool = True,
            fire: bool = True, force_subtract: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One IF update; returns ``(v(t), s(t))`` in ``v``'s dtype.  Arrays broadcast over a batch axis."""
    theta = pop.threshold
    if integrate:
        u = v + current + pop.bias                    # u = v(t-1) + I(t) + (bias_mant << bias_exp)
    else:
        u = v                                         # two_phase fire window: input ignored
    v_sat = pop.state_t.saturate(u)                   # saturate to [state_t.lo, state_t.hi]
    if not fire:
        return v_sat, np.zeros_like(v_sat)            # two_phase accumulate window
    if pop.compare == ">=":
        s = (v_sat >= theta).astype(v_sat.dtype)      # s = [v' >= theta]
    else:
        s = (v_sat > theta).astype(v_sat.dtype)       # s = [v' > theta]
    if pop.reset == "subtract" or force_subtract:
        v_new = v_sat - s * theta                     # reset by subtraction (v' >= theta >= 1: no underflow)
    else:
        v_new = v_sat * (1 - s)                       # reset to zero
    return v_new, s


# ----------------------------------------------------------------------------- synapses
def dense_current(node: Dense, s: np.ndarray) -> np.ndarray:
    """``I = shift(W @ s, weight_exp)``: exact int64 dot products, then floor-shift."""
    acc = node.weight @ s.astype(np.int64)            # exact: |acc| <= accumulator bound < 2**63
    return shift(acc, node.weight_exp)                # << e, or >> -e (rounds toward -inf)


def conv_current(node: Conv, s: np.ndarray) -> np.ndarray:
    """``I = shift(conv2d(s, W), weight_exp)``; cross-correlation, CHW, zero padding."""
    co, _ci, kh, kw = node.weight.shape
    p, st = node.padding, node.stride
    padded = np.pad(s.astype(np.int64), ((0, 0), (p, p), (p, p)))   # zero padding both sides
    ho = (padded.shape[1] - kh) // st + 1
    wo = (padded.shape[2] - kw) // st + 1
    acc = np.zeros((co, ho, wo), np.int64)
    for i in range(ho):
        for j in range(wo):
            patch = padded[:, i * st:i * st + kh, j * st:j * st + kw]
            acc[:, i, j] = np.tensordot(node.weight, patch, axes=3)   # sum_c,dy,dx W*s, exact
    return shift(acc, node.weight_exp)


def sumpool(node: SumPool, s: np.ndarray) -> np.ndarray:
    """``y[c, i, j] = sum_{a,b < k} s[c, k*i + a, k*j + b]`` (integer, no division)."""
    c, h, w = s.shape
    k = node.kernel
    return s.astype(np.int64).reshape(c, h // k, k, w // k, k).sum(axis=(2, 4))


def flatten(s: np.ndarray) -> np.ndarray:
    """C-order reshape of (C, H, W) to (C*H*W,)."""
    return s.reshape(-1)


def synapse_current(node: Node, s: np.ndarray) -> np.ndarray:
    if isinstance(node, Dense):
        return dense_current(node, s)
    if isinstance(node, Conv):
        return conv_current(node, s)
    if isinstance(node, SumPool):
        return sumpool(node, s)
    return flatten(s)


# ----------------------------------------------------------------------------- run
def new_trace(graph: Graph, batch: int, total: int, probes: Sequence[str], record_v: bool,
              record_current: bool) -> Trace:
    """An empty trace with zero-filled arrays for the requested probes."""
    ro = graph.readout
    trace = Trace(readout=np.zeros((total, batch, *ro.shape), np.int64),
                  first_useful_step=first_useful_step(graph.schedule, graph.depth))
    for name in probes:
        shape = graph.node(name).shape
        trace.spikes[name] = np.zeros((total, batch, *shape), np.uint8)
        if record_v:
            trace.v[name] = np.zeros((total, batch, *shape), np.int64)
        if record_current:
            trace.current[name] = np.zeros((total, batch, *shape), np.int64)
    if record_current:
        trace.current[ro.name] = np.zeros((total, batch, *ro.shape), np.int64)
    return trace


def run(graph: Graph, x: np.ndarray, total: int, probes: Sequence[str] = (),
        record_v: bool = False, record_current: bool = False) -> Trace:
    """Simulate each sample of ``x`` (batch, *input shape) for ``total`` logical steps."""
    check_structure(graph)
    trace = new_trace(graph, len(x), total, probes, record_v, record_current)
    for b in range(len(x)):
        _run_sample(graph, np.asarray(x[b], np.int64), total, b, trace)
    return trace


def _run_sample(graph: Graph, x: np.ndarray, total: int, b: int, trace: Trace) -> None:
    sched, depth = graph.schedule, graph.depth
    pops = graph.populations()
    layer = {p.name: i + 1 for i, p in enumerate(pops)}
    v = {p.name: p.v0.copy() for p in pops}                      # v(0) = v0
    gate = {p.name: np.ones(p.shape, np.int64) for p in pops}    # SRP gate, all-ones before tau
    ro = graph.readout
    acc = np.zeros(ro.shape, np.int64)                           # acc(0) = 0
    for t in range(1, total + 1):
        value: dict[str, np.ndarray] = {}
        for n in graph.nodes:
            if isinstance(n, Input):
                value[n.name] = x                                # direct coding: x(t) = x_int
            elif isinstance(n, IFPopulation):
                current = value[n.source]
                integrate, fire = neuron_mode(sched, t, layer[n.name])
                v[n.name], s = if_step(n, v[n.name], current, integrate, fire,
                                       force_subtract=sched.kind == "two_phase")
                value[n.name] = s * gate[n.name]                 # emitted spike (SRP: s * g)
                if n.name in trace.spikes:
                    trace.spikes[n.name][t - 1, b] = value[n.name]
                if n.name in trace.v:
                    trace.v[n.name][t - 1, b] = v[n.name]
                if n.name in trace.current:
                    trace.current[n.name][t - 1, b] = current
            elif isinstance(n, Readout):
                current = value[n.source]
                if readout_active(sched, t, depth):
                    acc = acc + current + n.bias                 # acc(t) = acc(t-1) + I(t) + bias
                trace.readout[t - 1, b] = acc
                if n.name in trace.current:
                    trace.current[n.name][t - 1, b] = current
            else:
                value[n.name] = synapse_current(n, value[n.source])
        if sched.kind == "srp" and t == sched.tau:               # end of pre-simulation
            for p in pops:
                gate[p.name] = srp_gate(p, v[p.name])            # g = [1000 v > theta]
                v[p.name] = p.v0.copy()                          # reload v0
            acc = np.zeros(ro.shape, np.int64)                   # clear the readout
