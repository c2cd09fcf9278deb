"""Static range proof: every integer the IR equations compute fits its type and int64.

For each population ``p`` with synapses ``k`` (bounds from :meth:`Graph.value_bounds`)::

    |I_k|  <= B_k = max_out sum_j |w_ij| * max|x_j| * 2**max(e_k, 0)   (+1 for a floor-shift)
    |I|    <= sum_k B_k                          |bias| <= max|bias_mant| << bias_exp
    |u|    =  |v(t-1) + I + bias| <= max|state_t| + sum_k B_k + |bias|  (v is saturated each step)
    SRP:   |1000 * v| <= 1000 * max|state_t|

and for the readout after ``T`` steps ``|acc(T)| <= T * (sum_k B_k + |bias|)``.  Every bound must
be below ``2**63`` (int64, where the simulators compute), the summed current must fit the
target's signed current width, and ``v0`` and ``threshold`` must fit ``state_t``.  The result is
a certificate (per node: the bounds and the limit each was checked against) that the converter
writes into its report; :func:`prove_ranges` raises :class:`IRError` naming node and field when
a bound does not fit, so ``simulate``, ``eval``, ``build`` and ``verify`` refuse such graphs
before running them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.schedule import SRP_GATE_SCALE
from neurodeploy.targets import CPU, TargetSpec

INT64_MAX = (1 << 63) - 1
INT64_SPEC = TargetSpec("int64", "what the CPU simulators can compute exactly: every sum inside int64",
                        current_bits=63, input_bits=62)


@dataclass(frozen=True)
class RangeEntry:
    """Bounds of one population or the readout, and the limits they were proven against."""

    node: str
    current_bound: int
    bias_bound: int
    update_bound: int             # |u| for a population, |acc(T)| for the readout
    update_limit: int
    current_limit: int

    def to_json(self) -> dict[str, int | str]:
        return {k: (str(v) if isinstance(v, int) and v > (1 << 53) else v) for k, v in asdict(self).items()}


def prove_ranges(graph: Graph, total_steps: int, spec: TargetSpec = CPU) -> list[RangeEntry]:
    """The range certificate of ``graph`` run for ``total_steps`` logical steps on ``spec``.

    Raises :class:`IRError` naming the node and the field whose bound does not fit."""
    if total_steps < 0:
        raise IRError(f"steps: must be >= 0, got {total_steps}")
    if graph.input.bits > spec.input_bits:
        raise IRError(f"{graph.input.name}.bits: {graph.input.bits} > {spec.input_bits} (target {spec.name})")
    bounds = graph.value_bounds()
    current_limit = IntT(spec.current_bits).hi
    entries: list[RangeEntry] = []
    for n in graph.nodes:
        if n.role not in ("population", "readout"):
            continue
        current = sum(graph.node(s).value_bound([bounds[graph.node(s).inputs[0]]]) for s in n.inputs)
        bias = int(abs(n.bias_mant).max(initial=0)) << n.bias_exp      # type: ignore[attr-defined]
        if current > current_limit:
            raise IRError(f"{n.name}: summed current bound {current} exceeds "
                          f"{IntT(spec.current_bits).describe()} (target {spec.name})")
        if n.role == "population":
            state_t: IntT = n.state_t                                 # type: ignore[attr-defined]
            state = max(-state_t.lo, state_t.hi)
            update = state + current + bias
            if graph.schedule.kind == "srp":
                update = max(update, SRP_GATE_SCALE * state)
            for fname in ("threshold", "v0"):
                state_t.check(getattr(n, fname), f"{n.name}.{fname}")
        else:
            update = total_steps * (current + bias)
        if update > INT64_MAX:
            what = "v(t-1) + I + bias" if n.role == "population" else f"the readout after {total_steps} steps"
            raise IRError(f"{n.name}: {what} can reach {update}, beyond int64; the graph's formats are "
                          "too wide to simulate exactly")
        entries.append(RangeEntry(n.name, current, bias, update, INT64_MAX, current_limit))
    return entries
