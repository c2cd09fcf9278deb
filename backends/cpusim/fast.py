"""Fast batched simulator: (batch x neurons) arrays, a Python loop over logical time only.

Bit-identical to :mod:`neurodeploy.backends.cpusim.reference` (it reuses the reference's
neuron update, schedule helpers and SRP gate; only the synapse arithmetic is vectorised).

BLAS exactness: a float matmul of integers is exact, in any summation order, while every
partial sum is an integer the mantissa represents.  Per synapse the bound
``B = max_out sum_j |w_ij| * max|x_j|`` (``accumulator_bound`` without the weight shift)
selects the arithmetic once: ``B < 2**24`` float32, ``B < 2**53`` float64, else int64 (no
BLAS).  Results go back to int64 *before* the ``shift`` by ``weight_exp``, saturation and
comparisons.  Nodes that depend only on the Input (the first synapse's current, and any
pool/flatten of the input) are constant over time and computed once per chunk.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neurodeploy.backends.cpusim.reference import (
    check_structure,
    if_step,
    neuron_mode,
    new_trace,
    readout_active,
    srp_gate,
)
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.dtypes import IntT, shift
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, Input, Node, Readout, SumPool
from neurodeploy.ir.verify import accumulator_bound, value_bounds

FLOAT32_EXACT = 1 << 24
FLOAT64_EXACT = 1 << 53


def matmul_dtype(bound: int) -> type:
    """Cheapest exact accumulation type for sums bounded by ``bound`` in magnitude."""
    if bound < FLOAT32_EXACT:
        return np.float32
    if bound < FLOAT64_EXACT:
        return np.float64
    return np.int64


def raw_bound(node: Dense | Conv, max_input: int) -> int:
    """``max_out sum_j |w_ij| * max_input`` before the (int64) shift by ``weight_exp``."""
    return accumulator_bound(node, max_input) >> max(node.weight_exp, 0)


def conv_rows(x: np.ndarray, taps: list[np.ndarray], kw: int, stride: int, padding: int) -> np.ndarray:
    """Cross-correlation of ``x`` (B, C, H, W) by row-unrolled im2col, returned as (B, C_out, Ho, Wo).

    ``rows[b, y, j, (dx, c)] = xpad[b, c, y, stride*j + dx]`` unrolls only the kernel width (a
    ``kw``-times copy instead of ``kh*kw``); then ``out = sum_dy rows[:, stride*i + dy] @ taps[dy]``
    with ``taps[dy][(dx, c), o] = W[o, c, dy, dx]``.  Every partial sum is bounded by the layer
    bound, so float accumulation is exact whenever the bound selected a float type.
    """
    p, b, c = padding, x.shape[0], x.shape[1]
    xp = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (p, p), (p, p), (0, 0)))     # NHWC, zero pad
    hp, wp = xp.shape[1], xp.shape[2]
    kh = len(taps)
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    win = sliding_window_view(xp, kw, axis=2)[:, :, ::stride][:, :, :wo]       # (B, Hp, Wo, C, kw)
    rows = win.transpose(0, 1, 2, 4, 3).reshape(b, hp, wo, kw * c)
    out: np.ndarray | None = None
    for dy, tap in enumerate(taps):
        a = rows[:, dy:dy + stride * (ho - 1) + 1:stride].reshape(b, ho * wo, kw * c)
        term = a @ tap                                                          # (B, Ho*Wo, C_out)
        out = term if out is None else np.add(out, term, out=out)
    assert out is not None
    return out.reshape(b, ho, wo, -1).transpose(0, 3, 1, 2)


@dataclass(frozen=True)
class _Neurons:
    """A population's parameters cast to its state dtype (int32 when every sum provably fits)."""

    threshold: np.ndarray
    bias: np.ndarray
    v0: np.ndarray
    state_t: IntT
    compare: str
    reset: str

    @staticmethod
    def of(pop: IFPopulation, current_bound: int) -> "_Neurons":
        worst = (max(-pop.state_t.lo, pop.state_t.hi) + current_bound
                 + int(np.abs(pop.bias).max(initial=0)) + int(pop.threshold.max(initial=0)))
        dt = np.int32 if worst < 1 << 31 else np.int64   # |v + I + bias| and theta fit int32
        return _Neurons(pop.threshold.astype(dt), pop.bias.astype(dt), pop.v0.astype(dt),
                        pop.state_t, pop.compare, pop.reset)


class Synapse:
    """A Dense/Conv with its weight matrix pre-cast to the exact accumulation type."""

    def __init__(self, node: Dense | Conv, max_input: int, out_dtype: type = np.int64) -> None:
        self.node = node
        self.out_dtype = out_dtype
        self.dtype = matmul_dtype(raw_bound(node, max_input))
        w = node.weight
        if isinstance(node, Conv):                      # taps[dy][(dx, c), o] = W[o, c, dy, dx]
            co, ci, kh, kw = w.shape
            self.taps = [np.ascontiguousarray(w[:, :, dy, :].transpose(2, 1, 0).reshape(kw * ci, co),
                                              dtype=self.dtype) for dy in range(kh)]
        else:
            self.matrix = np.ascontiguousarray(w.T, dtype=self.dtype)        # (fan_in, n_out)

    def __call__(self, s: np.ndarray) -> np.ndarray:
        node = self.node
        xs = s.astype(self.dtype, copy=False)
        if isinstance(node, Dense):
            acc = xs @ self.matrix                                    # exact (bound check)
        else:
            acc = conv_rows(xs, self.taps, node.weight.shape[3], node.stride, node.padding)
        out = shift(acc.astype(np.int64), node.weight_exp)            # int64, then floor-shift
        return out.astype(self.out_dtype, copy=False)                  # consumer's state dtype


def sum_pool(node: SumPool, s: np.ndarray) -> np.ndarray:
    """``y = sum of s over k x k windows`` as k*k strided adds, exact in ``s``'s integer dtype
    (int64 inputs/counts, or 0/1 int32 spikes whose sums are at most k*k)."""
    k = node.kernel
    out = s[:, :, 0::k, 0::k].copy()
    for a in range(k):
        for b in range(k):
            if a or b:
                out += s[:, :, a::k, b::k]
    return out


def run(graph: Graph, x: np.ndarray, total: int, probes: Sequence[str] = (), record_v: bool = False,
        record_current: bool = False, chunk: int = 1000, progress: bool = False) -> Trace:
    """Simulate ``x`` (batch, *input shape) for ``total`` logical steps, ``chunk`` samples at a time."""
    if chunk < 1:
        raise ValueError(f"chunk: must be >= 1, got {chunk}")
    check_structure(graph)
    bounds = value_bounds(graph)
    neurons = {p.name: _Neurons.of(p, accumulator_bound(graph.node(p.source),
                                                        bounds[graph.node(p.source).source]))
               for p in graph.populations()}
    consumer_dtype = {p.source: neurons[p.name].v0.dtype.type for p in graph.populations()}
    synapses = {n.name: Synapse(n, bounds[n.source], consumer_dtype.get(n.name, np.int64))
                for n in graph.nodes if isinstance(n, (Dense, Conv))}
    trace = new_trace(graph, len(x), total, probes, record_v, record_current)
    starts = range(0, len(x), chunk)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="cpusim", unit="chunk")
    for start in starts:
        sl = slice(start, min(start + chunk, len(x)))
        _run_chunk(graph, np.asarray(x[sl], np.int64), total, sl, trace, synapses, neurons)
    return trace


def _run_chunk(graph: Graph, x: np.ndarray, total: int, sl: slice, trace: Trace,
               synapses: dict[str, Synapse], neurons: dict[str, _Neurons]) -> None:
    sched, depth, batch = graph.schedule, graph.depth, len(x)
    pops = graph.populations()
    layer = {p.name: i + 1 for i, p in enumerate(pops)}
    v = {p.name: np.broadcast_to(neurons[p.name].v0, (batch, *p.shape)).copy() for p in pops}
    gate: dict[str, np.ndarray | int] = {p.name: 1 for p in pops}
    ro = graph.readout
    acc = np.zeros((batch, *ro.shape), np.int64)
    static: dict[str, np.ndarray] = {}                       # nodes that depend on the Input only
    for n in graph.nodes:
        if isinstance(n, Input):
            static[n.name] = x
        elif not isinstance(n, (IFPopulation, Readout)) and n.source in static:
            static[n.name] = _apply(n, static[n.source], synapses)
    for t in range(1, total + 1):
        value = dict(static)
        for n in graph.nodes:
            if n.name in static:
                continue
            if isinstance(n, IFPopulation):
                current = value[n.source]
                integrate, fire = neuron_mode(sched, t, layer[n.name])
                v[n.name], s = if_step(neurons[n.name], v[n.name], current, integrate, fire,
                                       force_subtract=sched.kind == "two_phase")
                value[n.name] = s * gate[n.name] if sched.kind == "srp" else s
                _record(trace, n.name, t, sl, value[n.name], v[n.name], current)
            elif isinstance(n, Readout):
                current = value[n.source]
                if readout_active(sched, t, depth):
                    acc = acc + current + n.bias
                trace.readout[t - 1, sl] = acc
                if n.name in trace.current:
                    trace.current[n.name][t - 1, sl] = current
            else:
                value[n.name] = _apply(n, value[n.source], synapses)
        if sched.kind == "srp" and t == sched.tau:
            for p in pops:
                gate[p.name] = srp_gate(p, v[p.name]).astype(v[p.name].dtype)
                v[p.name] = np.broadcast_to(neurons[p.name].v0, (batch, *p.shape)).copy()
            acc = np.zeros_like(acc)


def _apply(n: Node, s: np.ndarray, synapses: dict[str, Synapse]) -> np.ndarray:
    if isinstance(n, (Dense, Conv)):
        return synapses[n.name](s)
    if isinstance(n, SumPool):
        return sum_pool(n, s)
    return s.reshape(s.shape[0], -1)                         # Flatten: C-order per sample


def _record(trace: Trace, name: str, t: int, sl: slice, s: np.ndarray, v: np.ndarray,
            current: np.ndarray) -> None:
    if name in trace.spikes:
        trace.spikes[name][t - 1, sl] = s
    if name in trace.v:
        trace.v[name][t - 1, sl] = v
    if name in trace.current:
        trace.current[name][t - 1, sl] = current
