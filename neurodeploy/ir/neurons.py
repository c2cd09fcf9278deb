"""Nodes that integrate synaptic currents: IFPopulation and Readout (semantics in :mod:`neurodeploy.ir.nodes`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.node_base import (
    BIAS_T,
    STATE_T,
    CompareMode,
    ResetMode,
    Role,
    _MultiSource,
    _names,
    _set,
    frozen_int_array,
)


def _per_neuron(values: np.ndarray | int, shape: tuple[int, ...], where: str) -> np.ndarray:
    try:
        return frozen_int_array(np.broadcast_to(np.asarray(values), shape), where)
    except ValueError as exc:
        raise IRError(f"{where}: cannot broadcast to {shape} ({exc})") from None


class _Target(_MultiSource):
    """A node that integrates synaptic currents: several synapses sum into one compartment."""

    shape: tuple[int, ...]
    bias_mant: np.ndarray
    bias_exp: int
    bias_t: IntT

    def _check_common(self) -> None:
        _set(self, "sources", _names(self.sources, f"{self.name}.sources"))
        shape = tuple(self.shape)
        if not shape or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape):
            raise IRError(f"{self.name}.shape: expected positive ints, got {self.shape!r}")
        _set(self, "shape", tuple(int(d) for d in shape))
        _set(self, "bias_mant", _per_neuron(self.bias_mant, self.shape, f"{self.name}.bias_mant"))
        if not isinstance(self.bias_exp, (int, np.integer)) or not 0 <= self.bias_exp <= 62:
            raise IRError(f"{self.name}.bias_exp: must be an int in 0..62, got {self.bias_exp!r}")
        _set(self, "bias_exp", int(self.bias_exp))
        self.bias_t.check(self.bias_mant, f"{self.name}.bias_mant")

    @property
    def bias(self) -> np.ndarray:
        """Per-step bias current ``bias_mant << bias_exp``."""
        return self.bias_mant << self.bias_exp

    @property
    def source(self) -> str:
        """The single synapse of an unmerged node (IRError for a merge)."""
        if len(self.sources) != 1:
            raise IRError(f"{self.name}: has {len(self.sources)} sources {list(self.sources)}")
        return self.sources[0]

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        for src, shape in zip(self.sources, in_shapes):
            if tuple(shape) != self.shape:
                raise IRError(f"{self.name}: source {src!r} delivers shape {tuple(shape)}, "
                              f"but the node has shape {self.shape}")
        return self.shape


@dataclass(frozen=True, eq=False)
class IFPopulation(_Target):
    """Integer integrate-and-fire neurons; see the module docstring for the update.

    ``threshold``, ``v0`` and ``bias_mant`` are per-neuron arrays of the population's shape;
    ``sources`` are the synapses whose currents are summed each step.
    """

    name: str
    sources: tuple[str, ...]
    shape: tuple[int, ...]
    threshold: np.ndarray
    v0: np.ndarray
    bias_mant: np.ndarray
    bias_exp: int = 0
    reset: ResetMode = "subtract"
    compare: CompareMode = ">="
    state_t: IntT = STATE_T
    bias_t: IntT = BIAS_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "population"
    array_fields: ClassVar[tuple[str, ...]] = ("threshold", "v0", "bias_mant")

    def __post_init__(self) -> None:
        self._check_common()
        for fname in ("threshold", "v0"):
            _set(self, fname, _per_neuron(getattr(self, fname), self.shape, f"{self.name}.{fname}"))
        if self.reset not in ("subtract", "zero"):
            raise IRError(f"{self.name}.reset: expected 'subtract' or 'zero', got {self.reset!r}")
        if self.compare not in (">=", ">"):
            raise IRError(f"{self.name}.compare: expected '>=' or '>', got {self.compare!r}")
        if self.threshold.size and int(self.threshold.min()) < 1:
            raise IRError(f"{self.name}.threshold: must be >= 1, got min {int(self.threshold.min())}")
        self.state_t.check(self.threshold, f"{self.name}.threshold")
        self.state_t.check(self.v0, f"{self.name}.v0")

    def value_bound(self, in_bounds: list[int]) -> int:
        return 1                                                  # spikes are 0/1

    def describe(self) -> str:
        return (f"v {self.state_t.describe()}, theta {int(self.threshold.min())}.."
                f"{int(self.threshold.max())}, bias {self.bias_t.describe()} << {self.bias_exp}, "
                f"{self.reset}/{self.compare}")


@dataclass(frozen=True, eq=False)
class Readout(_Target):
    """Non-spiking output accumulator: ``acc(t) = acc(t-1) + sum_k I_k(t) + bias``."""

    name: str
    sources: tuple[str, ...]
    shape: tuple[int, ...]
    bias_mant: np.ndarray
    bias_exp: int = 0
    bias_t: IntT = BIAS_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "readout"
    array_fields: ClassVar[tuple[str, ...]] = ("bias_mant",)

    def __post_init__(self) -> None:
        self._check_common()

    def value_bound(self, in_bounds: list[int]) -> int:
        return 0

    def describe(self) -> str:
        return f"bias {self.bias_t.describe()} << {self.bias_exp}"


