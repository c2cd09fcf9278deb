"""Global graph invariants, checked after every pass.

:func:`verify_graph` proves, for a graph and a :class:`~neurodeploy.targets.TargetSpec`:
structure (``Input`` first, ``Readout`` last, every population fed by a synapse), shapes
chain, every integer fits its type and the target, and every synaptic accumulator is
bounded: ``B = max_out sum_j |w_ij| * max|x_j| * 2**max(weight_exp, 0)`` fits the target's
signed current width, so no sum can wrap on any backend.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, IFPopulation, Input, Readout, SumPool
from neurodeploy.targets import CPU, TargetSpec


def value_bounds(graph: Graph) -> dict[str, int]:
    """Largest magnitude each node can emit to a synapse (spikes are 0/1)."""
    out: dict[str, int] = {}
    for n in graph.nodes:
        if isinstance(n, Input):
            out[n.name] = n.value_t.hi
        elif isinstance(n, IFPopulation):
            out[n.name] = 1
        elif isinstance(n, SumPool):
            out[n.name] = out[n.source] * n.kernel * n.kernel
        elif isinstance(n, Flatten):
            out[n.name] = out[n.source]
        else:
            out[n.name] = 0
    return out


def accumulator_bound(synapse: Dense | Conv, max_input: int) -> int:
    """``max_out sum_j |w_ij| * max_input``, shifted left by a positive ``weight_exp``."""
    w = np.abs(synapse.weight)
    per_out = w.reshape(w.shape[0], -1).sum(axis=1) if w.size else np.zeros(1, np.int64)
    bound = int(per_out.max(initial=0)) * int(max_input)
    return bound << max(synapse.weight_exp, 0)


def verify_graph(graph: Graph, spec: TargetSpec = CPU) -> None:
    """Raise :class:`IRError` naming node and field at the first violated invariant."""
    if not graph.nodes:
        raise IRError("graph: empty")
    _ = graph.input, graph.readout
    graph.shapes()
    if graph.schedule.kind not in spec.schedules:
        raise IRError(f"graph.schedule: {graph.schedule.kind!r} not supported by target {spec.name}")
    bounds = value_bounds(graph)
    by_name = {n.name: n for n in graph.nodes}
    weight_t = IntT(spec.weight_bits)
    current_t = IntT(spec.current_bits)
    for n in graph.nodes:
        if isinstance(n, Input) and n.bits > 16:
            raise IRError(f"{n.name}.bits: {n.bits} > 16 input bits")
        if isinstance(n, (Dense, Conv)):
            weight_t.check(n.weight, f"{n.name}.weight (target {spec.name})")
            lo, hi = spec.weight_exp_range
            if not lo <= n.weight_exp <= hi:
                raise IRError(f"{n.name}.weight_exp: {n.weight_exp} outside {lo}..{hi} ({spec.name})")
            b = accumulator_bound(n, bounds[n.source])
            if b > current_t.hi:
                raise IRError(f"{n.name}: accumulator bound {b} exceeds {current_t.describe()} "
                              f"(target {spec.name}); lower the scale of this layer")
        if isinstance(n, (IFPopulation, Readout)):
            src = by_name[n.source]
            if not isinstance(src, (Dense, Conv)):
                raise IRError(f"{n.name}.source: must be a Dense or Conv synapse, got "
                              f"{type(src).__name__} {src.name!r}")
            IntT(spec.bias_mant_bits).check(n.bias_mant, f"{n.name}.bias_mant (target {spec.name})")
            lo, hi = spec.bias_exp_range
            if not lo <= n.bias_exp <= hi:
                raise IRError(f"{n.name}.bias_exp: {n.bias_exp} outside {lo}..{hi} ({spec.name})")
        if isinstance(n, IFPopulation):
            _verify_population(n, spec)


def _verify_population(n: IFPopulation, spec: TargetSpec) -> None:
    if n.reset not in spec.reset_modes:
        raise IRError(f"{n.name}.reset: {n.reset!r} not supported by target {spec.name}")
    if n.compare not in spec.compare_modes:
        raise IRError(f"{n.name}.compare: {n.compare!r} not supported by target {spec.name}")
    if int(n.threshold.max(initial=1)) >= 1 << spec.threshold_bits:
        raise IRError(f"{n.name}.threshold: {int(n.threshold.max())} needs more than "
                      f"{spec.threshold_bits} bits (target {spec.name})")
    if not spec.per_neuron_threshold and np.unique(n.threshold).size > 1:
        raise IRError(f"{n.name}.threshold: per-neuron thresholds not supported by {spec.name}")
    state_t = IntT(spec.state_bits)
    if n.state_t.bits > spec.state_bits:
        raise IRError(f"{n.name}.state_t: {n.state_t.describe()} wider than {spec.name}'s "
                      f"{state_t.describe()}")
    state_t.check(n.v0, f"{n.name}.v0 (target {spec.name})")
