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
from neurodeploy.ir.dtypes import shift
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, Input, Readout, SumPool
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


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> np.ndarray:
    """Patches of ``x`` (B, C, H, W) as rows (B*Ho*Wo, C*kh*kw), zero padded, C-major columns."""
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    b, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(b * ho * wo, c * kh * kw)


class _Synapse:
    """A Dense/Conv with its weight matrix pre-cast to the exact accumulation type."""

    def __init__(self, node: Dense | Conv, max_input: int) -> None:
        self.node = node
        self.dtype = matmul_dtype(raw_bound(node, max_input))
        self.matrix = np.ascontiguousarray(node.weight.reshape(node.weight.shape[0], -1).T,
                                           dtype=self.dtype)   # (fan_in, n_out)

    def __call__(self, s: np.ndarray) -> np.ndarray:
        node = self.node
        xs = s.astype(self.dtype, copy=False)
        if isinstance(node, Dense):
            acc = xs @ self.matrix                                    # exact (bound check)
        else:
            _co, _ci, kh, kw = node.weight.shape
            cols = im2col(xs, kh, kw, node.stride, node.padding)
            b = s.shape[0]
            ho = (s.shape[2] + 2 * node.padding - kh) // node.stride + 1
            wo = (s.shape[3] + 2 * node.padding - kw) // node.stride + 1
            acc = (cols @ self.matrix).reshape(b, ho, wo, -1).transpose(0, 3, 1, 2)
        return shift(acc.astype(np.int64), node.weight_exp)           # int64, then floor-shift


def _pool(node: SumPool, s: np.ndarray) -> np.ndarray:
    b, c, h, w = s.shape
    k = node.kernel
    return s.reshape(b, c, h // k, k, w // k, k).sum(axis=(3, 5), dtype=np.int64)


def run(graph: Graph, x: np.ndarray, total: int, probes: Sequence[str] = (), record_v: bool = False,
        record_current: bool = False, chunk: int = 1000, progress: bool = False) -> Trace:
    """Simulate ``x`` (batch, *input shape) for ``total`` logical steps, ``chunk`` samples at a time."""
    if chunk < 1:
        raise ValueError(f"chunk: must be >= 1, got {chunk}")
    check_structure(graph)
    bounds = value_bounds(graph)
    synapses = {n.name: _Synapse(n, bounds[n.source]) for n in graph.nodes
                if isinstance(n, (Dense, Conv))}
    trace = new_trace(graph, len(x), total, probes, record_v, record_current)
    starts = range(0, len(x), chunk)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="cpusim", unit="chunk")
    for start in starts:
        sl = slice(start, min(start + chunk, len(x)))
        _run_chunk(graph, np.asarray(x[sl], np.int64), total, sl, trace, synapses)
    return trace


def _run_chunk(graph: Graph, x: np.ndarray, total: int, sl: slice, trace: Trace,
               synapses: dict[str, _Synapse]) -> None:
    sched, depth, batch = graph.schedule, graph.depth, len(x)
    pops = graph.populations()
    layer = {p.name: i + 1 for i, p in enumerate(pops)}
    v = {p.name: np.broadcast_to(p.v0, (batch, *p.shape)).copy() for p in pops}
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
                v[n.name], s = if_step(n, v[n.name], current, integrate, fire,
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
                gate[p.name] = srp_gate(p, v[p.name])
                v[p.name] = np.broadcast_to(p.v0, (batch, *p.shape)).copy()
            acc = np.zeros_like(acc)


def _apply(n, s: np.ndarray, synapses: dict[str, _Synapse]) -> np.ndarray:
    if isinstance(n, (Dense, Conv)):
        return synapses[n.name](s)
    if isinstance(n, SumPool):
        return _pool(n, s)
    return s.reshape(s.shape[0], -1)                         # Flatten: C-order per sample


def _record(trace: Trace, name: str, t: int, sl: slice, s: np.ndarray, v: np.ndarray,
            current: np.ndarray) -> None:
    if name in trace.spikes:
        trace.spikes[name][t - 1, sl] = s
    if name in trace.v:
        trace.v[name][t - 1, sl] = v
    if name in trace.current:
        trace.current[name][t - 1, sl] = current
