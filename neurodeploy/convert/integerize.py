"""Map a :class:`FloatNetwork` (a DAG) to the integer IR: the float -> integer boundary.

**Units.**  Every spike tensor carries a real unit per channel (per feature for 1-D): the
Input's grid step ``s``; a population's threshold ``lambda`` (its spike counts ``n`` stand for
``a = lambda n / L``); ``unit / (kh*kw)`` after a pool (the IR's SumPool sums); a flatten
repeats each channel's unit over H*W; a concat concatenates units.

**Merge equations.**  Population ``c`` with threshold ``lambda``, initial-potential fraction
``phi`` (+ per-neuron offset ``o``) and synapses ``i = 1..K`` (``u_i`` the unit of synapse
``i``'s source, per input channel) works in threshold units ``Theta = 2**k``::

    W_eff,i = W_i * u_i / lambda          b_eff = sum_i b_i / lambda
    W_int,i * 2**e_i = W_eff,i * Theta    (e_i >= 0, one exponent per branch)
    bias_mant * 2**bias_exp = b_eff * Theta        v0 = (phi + o) * Theta

so that, with QCFS ``y = lambda clip(floor(z L / lambda + phi), 0, L) / L`` (Bu et al., ICLR
2022) and ``z = sum_i W_i (*) a_i + b``, ``Theta z L / lambda = sum_i W_int,i 2**e_i (*) n_i +
L (bias + ...)``: the integer network counts ``n_c = floor((sum_i I_i + L bias + v0) / Theta)``
exactly.  ``k`` is chosen *jointly over all branches*: the smallest ``k >= 1`` making every
``W_eff,i * 2**k``, ``b_eff * 2**k`` and ``(phi + o) * 2**k`` an integer (power-of-two QAT
scales guarantee one; an identity shortcut from population ``a`` needs ``lambda_a Theta /
lambda`` integral, i.e. ``k >= log2(lambda / lambda_a)``), within the target's threshold and
state widths.  Otherwise (float route, BatchNorm) ``k`` gives the finest branch full weight
resolution while every branch's exponent stays within the target's range, and the per-branch
rounding error is reported (never silently: ``allow_inexact=False`` refuses).

**Current width.**  The summed synaptic current of a population is bounded by
``sum_i sum_row |W_int,i| 2**e_i * max|source_i|`` (:func:`~neurodeploy.ir.verify.summed_current_bound`), which grows
with ``Theta``.  When the exact ``Theta`` makes that bound exceed the target's current width
(e.g. Lava's stock LIF computes ``u = a << 6`` in 24 bits, so 18-bit currents), ``k`` is
lowered one step at a time until the bound fits: the weights are rounded to the coarser grid,
the layer is reported inexact with the reason, and the checked comparison with the ANN says
how much it costs.  ``allow_inexact=False`` refuses instead.  The readout
uses ``lambda = 1`` and no ``v0`` (logits scaled by ``Theta``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from neurodeploy.convert.report import BranchReport, ConversionReport, LayerReport
from neurodeploy.convert.stages import INPUT, FloatNetwork, FloatPopulation, FloatSynapse, TensorOp
from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import (BIAS_T, CompareMode, Concat, Conv, Dense, Flatten, IFPopulation, Input, Node,
                                  Readout, ResetMode, SumPool)
from neurodeploy.ir.verify import accumulator_bound, summed_current_bound, verify_graph
from neurodeploy.targets import CPU, TargetSpec

__all__ = ["BranchReport", "ConversionReport", "LayerReport", "integerize", "min_exponent", "tensor_units"]

MAX_EXACT_K = 30
PLAIN = Schedule()


def min_exponent(values: np.ndarray) -> int:
    """Smallest ``k >= 0`` with ``values * 2**k`` all integers (float64, exact bit arithmetic)."""
    a = np.asarray(values, np.float64).ravel()
    if not np.all(np.isfinite(a)):
        raise IRError("non-finite value in weights, bias or initial potential")
    a = a[a != 0]
    if a.size == 0:
        return 0
    mant, exp = np.frexp(np.abs(a))                            # |a| = mant * 2**exp, mant in [0.5, 1)
    m = (mant * 2.0**53).astype(np.int64)                      # exact 53-bit integer mantissa
    trailing = np.log2((m & -m).astype(np.float64)).astype(np.int64)
    return int(max(0, int((53 - exp - trailing).max())))


def _mantissa_exponent(target: np.ndarray, mant_t: IntT, min_exp: int = 0) -> tuple[np.ndarray, int]:
    """Smallest exponent ``e >= min_exp`` with ``rint(target / 2**e)`` inside ``mant_t``."""
    peak = float(np.abs(target).max(initial=0.0))
    exp = max(min_exp, 0 if peak <= mant_t.hi else math.ceil(math.log2(peak / mant_t.hi)) - 1)
    while True:
        mant = np.rint(target / 2.0**exp)
        if mant_t.fits(mant.astype(np.int64)):
            return mant.astype(np.int64), exp
        exp += 1


def tensor_units(op: TensorOp, units: list[np.ndarray], shapes: list[tuple[int, ...]]) -> np.ndarray:
    """Real unit per channel of a tensor op's output from its sources' (see module docstring)."""
    if op.op == "pool":
        return units[0] / (op.kernel[0] * op.kernel[1])
    if op.op == "flatten":
        return np.repeat(units[0], int(np.prod(shapes[0][1:])) if len(shapes[0]) == 3 else 1)
    return np.concatenate(units)


def _tensor_node(op: TensorOp) -> Node:
    meta = {"source_layer": op.module, **op.meta}
    if op.op == "pool":
        return SumPool(op.name, op.sources[0], kernel=op.kernel, stride=op.stride, padding=op.padding, meta=meta)
    if op.op == "flatten":
        return Flatten(op.name, op.sources[0], meta=meta)
    return Concat(op.name, op.sources, meta=meta)


def _effective_weight(syn: FloatSynapse, unit: np.ndarray, lam: float) -> np.ndarray:
    """``W * u / lambda`` with the unit of the input channel each weight reads."""
    w = np.asarray(syn.weight, np.float64)
    if syn.kind == "dense":
        if w.ndim != 2 or w.shape[1] != unit.size:
            raise IRError(f"{syn.name}: dense weight {w.shape} does not match {unit.size} input features")
        return w * unit[None, :] / lam
    co, ci_g = w.shape[:2]
    if ci_g * syn.groups != unit.size:
        raise IRError(f"{syn.name}: conv weight {w.shape} with {syn.groups} groups does not match "
                      f"{unit.size} input channels")
    channel = (np.arange(co) // (co // syn.groups))[:, None] * ci_g + np.arange(ci_g)[None, :]
    return w * unit[channel][:, :, None, None] / lam


def _choose_k(pop: FloatPopulation, w_eff: list[np.ndarray], b_eff: np.ndarray, v0_frac: np.ndarray,
              spec: TargetSpec, max_k: int, allow_inexact: bool) -> tuple[int, bool]:
    """``(k, exact)``: the smallest ``k`` making every branch integral, else a resolution choice."""
    k = max(1, *(min_exponent(a) for a in (*w_eff, b_eff, v0_frac)))
    if k <= max_k:
        return k, True
    if not allow_inexact:
        raise IRError(f"{pop.name}: no power-of-two threshold up to 2^{max_k} represents its weights, bias "
                      f"and initial potential exactly on target {spec.name}")
    hi = IntT(spec.weight_bits).hi
    ks = [math.floor(math.log2(hi / peak)) for a in w_eff if (peak := float(np.abs(a).max(initial=0.0))) > 0]
    if not ks:
        return 1, False
    return max(1, min(max(ks), min(ks) + spec.weight_exp_range[1], max_k)), False


def _broadcast(values: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """Per-channel (axis 0) or per-neuron values broadcast to the population shape."""
    v = np.asarray(values, np.float64)
    if v.ndim == 1 and len(shape) == 3 and v.size == shape[0]:
        v = v[:, None, None]
    return np.broadcast_to(v, shape)


def _synapses(pop: FloatPopulation, w_eff: list[np.ndarray], k: int, exact_k: bool,
              spec: TargetSpec) -> tuple[list[Node], list[BranchReport]]:
    """Integer synapse nodes for ``Theta = 2**k`` (``W_int * 2**e = rint(W_eff * Theta)``) and their reports."""
    weight_t = IntT(spec.weight_bits)
    syn_nodes: list[Node] = []
    branches = []
    for syn, w in zip(pop.synapses, w_eff):
        target = w * (1 << k)
        w_int, w_exp = _mantissa_exponent(target, weight_t)
        if w_exp > spec.weight_exp_range[1]:
            raise IRError(f"{syn.name}: weight exponent {w_exp} exceeds target {spec.name} range "
                          f"{spec.weight_exp_range} (Theta = 2^{k}; lower the scale of this branch)")
        err = float(np.abs(w_int * 2.0**w_exp - target).max(initial=0.0)) / (float(np.abs(target).max(initial=0.0)) or 1.0)
        meta = {"source_layer": syn.module, **({"identity": "1"} if syn.identity else {}), **syn.meta}
        if syn.kind == "conv":
            syn_nodes.append(Conv(syn.name, syn.source, w_int, stride=syn.stride, padding=syn.padding,
                                  weight_exp=w_exp, dilation=syn.dilation, groups=syn.groups, meta=meta))
        else:
            syn_nodes.append(Dense(syn.name, syn.source, w_int, weight_exp=w_exp, meta=meta))
        branches.append(BranchReport(syn.name, syn.source, syn.module, w_exp, exact_k and err == 0.0, err, 0))
    return syn_nodes, branches


def _map_target(pop: FloatPopulation, units: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
                bounds: dict[str, int], spec: TargetSpec, reset: ResetMode, compare: CompareMode,
                allow_inexact: bool, theta_caps: Mapping[str, int]) -> tuple[list[Node], Node, LayerReport]:
    """Synapse nodes, the population/readout node and its report (bounds filled in later);
    ``bounds`` are the value bounds of the nodes made so far (for the current width)."""
    lam = 1.0 if pop.is_readout else float(pop.threshold)  # type: ignore[arg-type]
    if not (math.isfinite(lam) and lam > 0):
        raise IRError(f"{pop.name}: threshold must be a finite value > 0 (set thresholds first), got {lam}")
    bias_t = IntT(min(spec.bias_mant_bits, BIAS_T.bits))
    max_k = min(MAX_EXACT_K, spec.threshold_bits - 1, spec.state_bits - 2)
    w_eff = [_effective_weight(s, units[s.source], lam) for s in pop.synapses]
    b_eff = pop.bias / lam
    with_v0 = not pop.is_readout and reset != "zero"
    offset = pop.v0_offset if with_v0 and pop.v0_offset is not None else 0.0
    v0_frac = np.asarray((pop.v0_fraction if with_v0 else 0.0) + np.asarray(offset, np.float64), np.float64)
    k, exact_k = _choose_k(pop, w_eff, b_eff, v0_frac, spec, max_k, allow_inexact)
    k_chosen, notes = k, []
    if pop.name in theta_caps and k > theta_caps[pop.name]:
        k, exact_k = max(1, theta_caps[pop.name]), False
        notes.append(f"Theta capped at 2^{k} (from 2^{k_chosen}) so that target {spec.name}'s backend accepts "
                     "the layer")
    syn_nodes, branches = _synapses(pop, w_eff, k, exact_k, spec)
    k_before = k
    current_hi = IntT(spec.current_bits).hi
    while (bound := summed_current_bound(syn_nodes, bounds)) > current_hi:
        if k <= 1 or not allow_inexact:
            raise IRError(f"{pop.name}: summed current bound {bound} exceeds {spec.current_bits}-bit currents of "
                          f"target {spec.name} at Theta = 2^{k}" + ("" if allow_inexact else
                                                                     " (an exact mapping was required)"))
        k -= 1
        syn_nodes, branches = _synapses(pop, w_eff, k, False, spec)
        exact_k = False
    if k < k_before:
        notes.append(f"Theta lowered from 2^{k_before} to 2^{k} so the summed current fits the {spec.current_bits}-bit "
                     f"currents of target {spec.name}; weights rounded to the coarser grid")
    note = "; ".join(notes)
    if note and not allow_inexact:
        raise IRError(f"{pop.name}: {note} (an exact mapping was required)")
    theta = 1 << k
    shape = syn_nodes[0].out_shape([shapes[pop.synapses[0].source]])
    bias_mant, bias_exp = _mantissa_exponent(b_eff * theta, bias_t, spec.bias_exp_range[0])
    bias_err = float(np.abs(bias_mant * 2.0**bias_exp - b_eff * theta).max(initial=0.0)) / theta
    bias_full = _broadcast(bias_mant, shape).astype(np.int64)
    sources = tuple(s.name for s in pop.synapses)
    meta = {"source_layer": pop.source_layer, **pop.meta}
    if pop.is_readout:
        target_node: Node = Readout(pop.name, sources, shape, bias_mant=bias_full, bias_exp=bias_exp, meta=meta)
    else:
        target_node = IFPopulation(
            pop.name, sources, shape, threshold=np.full(shape, theta, np.int64),
            v0=np.rint(_broadcast(v0_frac, shape) * theta).astype(np.int64), bias_mant=bias_full,
            bias_exp=bias_exp, reset=reset, compare=compare, state_t=IntT(spec.state_bits), meta=meta)
    exact = exact_k and bias_err == 0.0 and all(b.exact for b in branches)
    report = LayerReport(pop.name, pop.source_layer, theta, bias_exp, exact, bias_err, tuple(branches), note)
    return syn_nodes, target_node, report


def integerize(net: FloatNetwork, spec: TargetSpec = CPU, *, reset: ResetMode = "subtract",
               compare: CompareMode = ">=", schedule: Schedule = PLAIN,
               allow_inexact: bool = True, theta_caps: Mapping[str, int] | None = None,
               ) -> tuple[Graph, ConversionReport]:
    """Integer IR graph and per-population report for ``net`` on ``spec`` (see module docstring).

    ``theta_caps`` limits ``k`` (``Theta <= 2**cap``) per population or readout name, for
    bounds only a backend can prove (:mod:`neurodeploy.convert.fit_target`); a capped layer is
    reported inexact with the reason.

    ``reset="zero"`` maps to hard-reset neurons with ``v0 = 0`` (Lava's stock LIF mode).  Raises
    :class:`IRError` naming the node when a value cannot fit the target, or when the mapping is
    inexact and ``allow_inexact`` is false.  Node names are the FloatNetwork's.
    """
    c0 = net.input.shape[0]
    nodes: list[Node] = [Input(INPUT, tuple(net.input.shape), bits=net.input.bits, scale=net.input.scale)]
    shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(net.input.shape)}
    units: dict[str, np.ndarray] = {INPUT: np.full(c0, float(net.input.scale))}
    bounds: dict[str, int] = {INPUT: nodes[0].value_bound([])}
    reports: list[LayerReport] = []
    for fn in net.nodes:
        if isinstance(fn, TensorOp):
            node = _tensor_node(fn)
            src_shapes = [shapes[s] for s in fn.sources]
            shapes[fn.name] = node.out_shape(src_shapes)
            units[fn.name] = tensor_units(fn, [units[s] for s in fn.sources], src_shapes)
            bounds[fn.name] = node.value_bound([bounds[s] for s in fn.sources])
            nodes.append(node)
            continue
        syns, target, report = _map_target(fn, units, shapes, bounds, spec, reset, compare, allow_inexact,
                                           theta_caps or {})
        nodes.extend(syns)
        nodes.append(target)
        bounds[fn.name] = target.value_bound([])
        shapes[fn.name] = target.out_shape([s.out_shape([shapes[s.source]]) for s in syns])  # type: ignore[union-attr]
        if not fn.is_readout:
            units[fn.name] = np.full(shapes[fn.name][0], float(fn.threshold))  # type: ignore[arg-type]
        reports.append(report)
    graph = Graph(tuple(nodes), schedule=schedule,
                  meta={**net.meta, "levels": str(net.levels), "target": spec.name})
    bounds = graph.value_bounds()
    final = [replace(r, branches=tuple(
        replace(b, accumulator_bound=accumulator_bound(graph.node(b.synapse), bounds[b.source]))  # type: ignore[arg-type]
        for b in r.branches)) for r in reports]
    verify_graph(graph, spec)
    return graph, ConversionReport(tuple(final))
