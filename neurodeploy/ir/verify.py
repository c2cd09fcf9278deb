"""Global graph invariants against a :class:`~neurodeploy.targets.TargetSpec`.

:func:`verify_graph` proves, for a graph and a target: the dataflow structure
(:meth:`Graph.check_dataflow`: acyclic, one Input and one Readout, populations fed by
synapses, nothing dangling), shapes agree at every node and merge, every integer fits its
type and the target, and every synaptic accumulator is bounded: per synapse
``B = max_out sum_j |w_ij| * max|x_j| * 2**max(weight_exp, 0)``, and per population the sum
of its synapses' bounds, fit the target's signed current width, so no sum can wrap on any
backend.  All limits are read from the TargetSpec.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, Node
from neurodeploy.targets import CPU, TargetSpec


def value_bounds(graph: Graph) -> dict[str, int]:
    """Largest magnitude each node can emit to a synapse (spikes are 0/1)."""
    return graph.value_bounds()


def accumulator_bound(synapse: Dense | Conv, max_input: int) -> int:
    """``max_out sum_j |w_ij| * max_input``, shifted left by a positive ``weight_exp``."""
    return synapse.raw_bound(max_input) << max(synapse.weight_exp, 0)


def summed_current_bound(synapses: Sequence[Node], bounds: Mapping[str, int]) -> int:
    """Bound of the current these synapses sum into one target, given their sources' value bounds."""
    return sum(accumulator_bound(s, bounds[s.inputs[0]]) for s in synapses)  # type: ignore[arg-type]


def target_current_bound(graph: Graph, name: str, bounds: dict[str, int] | None = None) -> int:
    """Bound of the summed synaptic current into population/readout ``name``."""
    bounds = graph.value_bounds() if bounds is None else bounds
    return summed_current_bound([graph.node(s) for s in graph.node(name).inputs], bounds)


def verify_graph(graph: Graph, spec: TargetSpec = CPU) -> None:
    """Raise :class:`IRError` naming node and field at the first violated invariant."""
    graph.check_dataflow()
    if graph.schedule.kind not in spec.schedules:
        raise IRError(f"graph.schedule: {graph.schedule.kind!r} not supported by target {spec.name}")
    bounds = graph.value_bounds()
    current_t = IntT(spec.current_bits)
    for n in graph.nodes:
        CHECKS[n.role](n, graph, spec, bounds, current_t)


def _check_input(n: Node, graph: Graph, spec: TargetSpec, bounds: dict[str, int], current_t: IntT) -> None:
    if n.bits > spec.input_bits:                                        # type: ignore[union-attr]
        raise IRError(f"{n.name}.bits: {n.bits} > {spec.input_bits} input bits "  # type: ignore[union-attr]
                      f"(target {spec.name})")


def _check_synapse(n: Node, graph: Graph, spec: TargetSpec, bounds: dict[str, int], current_t: IntT) -> None:
    assert isinstance(n, (Dense, Conv))
    IntT(spec.weight_bits).check(n.weight, f"{n.name}.weight (target {spec.name})")
    lo, hi = spec.weight_exp_range
    if not lo <= n.weight_exp <= hi:
        raise IRError(f"{n.name}.weight_exp: {n.weight_exp} outside {lo}..{hi} ({spec.name})")
    if isinstance(n, Conv) and n.groups > 1 and not spec.grouped_conv:
        raise IRError(f"{n.name}.groups: grouped convolution not supported by target {spec.name}")
    b = accumulator_bound(n, bounds[n.source])
    if b > current_t.hi:
        raise IRError(f"{n.name}: accumulator bound {b} exceeds {current_t.describe()} "
                      f"(target {spec.name}); lower the scale of this layer")


def _check_target(n: Node, graph: Graph, spec: TargetSpec, bounds: dict[str, int], current_t: IntT) -> None:
    total = target_current_bound(graph, n.name, bounds)
    if total > current_t.hi:
        raise IRError(f"{n.name}: summed current bound {total} of its {len(n.inputs)} synapses exceeds "
                      f"{current_t.describe()} (target {spec.name})")
    if len(n.inputs) > spec.max_fan_in_projections:
        raise IRError(f"{n.name}.sources: {len(n.inputs)} projections > {spec.max_fan_in_projections} "
                      f"(target {spec.name})")
    IntT(spec.bias_mant_bits).check(n.bias_mant, f"{n.name}.bias_mant (target {spec.name})")  # type: ignore[union-attr]
    lo, hi = spec.bias_exp_range
    if not lo <= n.bias_exp <= hi:                                      # type: ignore[union-attr]
        raise IRError(f"{n.name}.bias_exp: {n.bias_exp} outside {lo}..{hi} ({spec.name})")  # type: ignore[union-attr]
    if isinstance(n, IFPopulation):
        _check_population(n, spec)


def _check_population(n: IFPopulation, spec: TargetSpec) -> None:
    if n.reset not in spec.reset_modes:
        raise IRError(f"{n.name}.reset: {n.reset!r} not supported by target {spec.name}")
    if n.compare not in spec.compare_modes:
        raise IRError(f"{n.name}.compare: {n.compare!r} not supported by target {spec.name}")
    if int(n.threshold.max(initial=1)) >= 1 << spec.threshold_bits:
        raise IRError(f"{n.name}.threshold: {int(n.threshold.max())} needs more than "
                      f"{spec.threshold_bits} bits (target {spec.name})")
    if not spec.per_neuron_threshold and n.threshold.size and int(n.threshold.min()) != int(n.threshold.max()):
        raise IRError(f"{n.name}.threshold: per-neuron thresholds not supported by {spec.name}")
    state_t = IntT(spec.state_bits)
    if n.state_t.bits > spec.state_bits:
        raise IRError(f"{n.name}.state_t: {n.state_t.describe()} wider than {spec.name}'s "
                      f"{state_t.describe()}")
    state_t.check(n.v0, f"{n.name}.v0 (target {spec.name})")


def _no_check(n: Node, graph: Graph, spec: TargetSpec, bounds: dict[str, int], current_t: IntT) -> None:
    """Tensor ops (pool, flatten, concat) carry no integer format of their own."""


CHECKS = {"input": _check_input, "synapse": _check_synapse, "tensor": _no_check,
          "population": _check_target, "readout": _check_target}
