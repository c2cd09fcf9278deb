"""What :func:`~neurodeploy.convert.integerize.integerize` did, per population and per branch.

One :class:`LayerReport` per IF population and for the readout, with one :class:`BranchReport`
per incoming synapse (a residual merge has several).  Nothing is silently approximated: a layer
is ``exact`` only when every branch's weights, the bias and the initial potential are
represented without error on the chosen integer grid.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class BranchReport:
    """One synapse into a population.

    ``max_weight_error`` = ``max |W_int * 2**e - W_eff * Theta| / max |W_eff * Theta|``;
    ``accumulator_bound`` = ``max_out sum_j |w_ij| * max|s_j| * 2**weight_exp`` (exact int).
    """

    synapse: str
    source: str
    source_layer: str
    weight_exp: int
    exact: bool
    max_weight_error: float
    accumulator_bound: int


@dataclass(frozen=True)
class LayerReport:
    """How one population (or the readout) was mapped: ``threshold`` = ``Theta = 2**k``,
    ``max_bias_error`` = ``max |bias_int - b_eff * Theta| / Theta`` (threshold units)."""

    name: str
    source_layer: str
    threshold: int
    bias_exp: int
    exact: bool
    max_bias_error: float
    branches: tuple[BranchReport, ...]
    note: str = ""                  # why the mapping is inexact when the cause is the target

    @property
    def weight_exp(self) -> int:
        """Largest weight exponent over the branches."""
        return max(b.weight_exp for b in self.branches)

    @property
    def max_weight_error(self) -> float:
        """Largest relative weight error over the branches."""
        return max(b.max_weight_error for b in self.branches)

    @property
    def accumulator_bound(self) -> int:
        """Bound of the summed synaptic current (sum over the branches)."""
        return sum(b.accumulator_bound for b in self.branches)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "weight_exp": self.weight_exp, "max_weight_error": self.max_weight_error,
                "accumulator_bound": self.accumulator_bound}


@dataclass(frozen=True)
class ConversionReport:
    """Per-layer reports in forward order; ``exact`` when every layer is."""

    layers: tuple[LayerReport, ...]

    @property
    def exact(self) -> bool:
        return all(layer.exact for layer in self.layers)

    def layer(self, name: str) -> LayerReport:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"report: no layer named {name!r}")

    def to_json(self) -> dict[str, Any]:
        return {"exact": self.exact, "layers": [layer.to_json() for layer in self.layers]}

    def summary_rows(self) -> list[str]:
        """Human-readable lines: one per layer, plus one per branch of a merge."""
        rows = []
        for r in self.layers:
            rows.append(f"{r.name:<12} theta={r.threshold:<8} w_exp={r.weight_exp:<3} bias_exp={r.bias_exp:<3} "
                        f"exact={r.exact} max_w_err={r.max_weight_error:.2e} acc_bound={r.accumulator_bound}")
            if r.note:
                rows.append(f"  ! {r.note}")
            if len(r.branches) > 1:
                rows.extend(f"  + {b.synapse:<12} from {b.source:<12} w_exp={b.weight_exp:<3} exact={b.exact} "
                            f"max_w_err={b.max_weight_error:.2e} acc_bound={b.accumulator_bound}" for b in r.branches)
        return rows
