"""Nodes of the integer IR.

A graph is a chain ``Input -> (synapse | SumPool | Flatten | IFPopulation)* -> Readout``.
Time is *logical*: every node computes its value for step ``t`` from its source's value at
the same step ``t`` (no hop delay).  Backends that pipeline (Lava adds one step per
synaptic hop) map logical time to their own and report traces back in logical time.

Integer semantics, per sample and per logical step ``t = 1..T`` (all arithmetic exact in
int64 before any saturation):

* ``Input``: ``x(t) = x_int`` for every ``t`` (direct, "analog" coding); ``x_int`` is an
  unsigned ``bits``-wide integer and the real value is ``x_int * scale``.
* ``Dense``: ``I(t) = shift(W @ s(t), weight_exp)``; ``W`` is an int mantissa of
  ``weight_t`` bits, ``shift`` multiplies by ``2**weight_exp`` (floor for negative exps).
* ``Conv``: ``I(t) = shift(conv2d(s(t), W, stride, padding), weight_exp)``; torch's
  cross-correlation convention, CHW layout, zero padding.
* ``SumPool``: ``y(t) = sum of s(t) over each k x k window`` (stride k).  It represents the
  ANN's AvgPool; the ``1/k**2`` is carried by the next synapse's scale, so the pool stays
  an exact integer operation.  The ``fold_pooling`` pass expands it into the next synapse.
* ``Flatten``: C-order reshape of ``(C, H, W)`` to ``(C*H*W,)``.
* ``IFPopulation`` (one neuron per element of its source's shape)::

      v(0)  = v0
      u     = v(t-1) + I(t) + (bias_mant << bias_exp)
      v'    = clip(u, state_t.lo, state_t.hi)                 (saturating state)
      s(t)  = [v' >= theta]   (compare ">=")  or  [v' > theta]  (compare ">")
      v(t)  = v' - s(t) * theta   (reset "subtract")  or  v' * (1 - s(t))  (reset "zero")

* ``Readout`` (non-spiking accumulator)::

      acc(0) = 0;   acc(t) = acc(t-1) + I(t) + (bias_mant << bias_exp)

  and the prediction after ``t`` steps is ``argmax acc(t)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError

WEIGHT_T = IntT(8)
STATE_T = IntT(24)
BIAS_T = IntT(16)
ResetMode = Literal["subtract", "zero"]
CompareMode = Literal[">=", ">"]


def frozen_int_array(values: np.ndarray, where: str) -> np.ndarray:
    """Copy ``values`` to a read-only int64 array, refusing non-integral data."""
    a = np.asarray(values)
    if a.dtype.kind not in "iub":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise IRError(f"{where}: expected integers, got dtype {a.dtype}")
    a = np.array(a, dtype=np.int64, copy=True)
    a.flags.writeable = False
    return a


def _freeze_weight(node: "Dense | Conv", ndim: int, layout: str) -> None:
    """Replace ``node.weight`` by a read-only int64 copy after checking rank and ``weight_t``."""
    w = frozen_int_array(node.weight, f"{node.name}.weight")
    if w.ndim != ndim:
        raise IRError(f"{node.name}.weight: expected {ndim}-D {layout}, got shape {w.shape}")
    node.weight_t.check(w, f"{node.name}.weight")
    object.__setattr__(node, "weight", w)


@dataclass(frozen=True)
class Input:
    """Direct input: unsigned ``bits``-bit integers of ``shape``, real value ``x_int * scale``."""

    name: str
    shape: tuple[int, ...]
    bits: int = 8
    scale: float = 1.0 / 256
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def value_t(self) -> IntT:
        return IntT(self.bits, signed=False)


@dataclass(frozen=True, eq=False)
class Dense:
    """Fully connected synapse: ``I = shift(W @ s, weight_exp)``; ``W`` shape (n_out, n_in)."""

    name: str
    source: str
    weight: np.ndarray
    weight_exp: int = 0
    weight_t: IntT = WEIGHT_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _freeze_weight(self, 2, "(n_out, n_in)")


@dataclass(frozen=True, eq=False)
class Conv:
    """2-D convolution synapse (cross-correlation, CHW): ``I = shift(conv(s, W), weight_exp)``.

    ``weight`` has shape (C_out, C_in, kh, kw); zero ``padding`` on both sides.
    """

    name: str
    source: str
    weight: np.ndarray
    stride: int = 1
    padding: int = 0
    weight_exp: int = 0
    weight_t: IntT = WEIGHT_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.stride < 1 or self.padding < 0:
            raise IRError(f"{self.name}: stride must be >= 1 and padding >= 0")
        _freeze_weight(self, 4, "(C_out, C_in, kh, kw)")


@dataclass(frozen=True)
class SumPool:
    """Integer sum over non-overlapping ``kernel`` x ``kernel`` windows (the ANN's AvgPool
    with its ``1/kernel**2`` carried by the next synapse's scale)."""

    name: str
    source: str
    kernel: int = 2
    meta: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Flatten:
    """C-order reshape to one dimension."""

    name: str
    source: str
    meta: dict[str, str] = field(default_factory=dict, compare=False)


def _per_neuron(values: np.ndarray | int, shape: tuple[int, ...], where: str) -> np.ndarray:
    a = frozen_int_array(np.broadcast_to(np.asarray(values), shape), where)
    return a


@dataclass(frozen=True, eq=False)
class IFPopulation:
    """Integer integrate-and-fire neurons; see the module docstring for the update.

    ``threshold``, ``v0`` and ``bias_mant`` are per-neuron arrays of the population's shape.
    """

    name: str
    source: str
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

    def __post_init__(self) -> None:
        shape = tuple(int(d) for d in self.shape)
        object.__setattr__(self, "shape", shape)
        for fname in ("threshold", "v0", "bias_mant"):
            where = f"{self.name}.{fname}"
            object.__setattr__(self, fname, _per_neuron(getattr(self, fname), shape, where))
        if self.reset not in ("subtract", "zero"):
            raise IRError(f"{self.name}.reset: expected 'subtract' or 'zero', got {self.reset!r}")
        if self.compare not in (">=", ">"):
            raise IRError(f"{self.name}.compare: expected '>=' or '>', got {self.compare!r}")
        if self.threshold.size and int(self.threshold.min()) < 1:
            raise IRError(f"{self.name}.threshold: must be >= 1, got min {int(self.threshold.min())}")
        if self.bias_exp < 0:
            raise IRError(f"{self.name}.bias_exp: must be >= 0, got {self.bias_exp}")
        self.state_t.check(self.threshold, f"{self.name}.threshold")
        self.state_t.check(self.v0, f"{self.name}.v0")
        self.bias_t.check(self.bias_mant, f"{self.name}.bias_mant")

    @property
    def bias(self) -> np.ndarray:
        """Per-step bias current ``bias_mant << bias_exp``."""
        return self.bias_mant << self.bias_exp


@dataclass(frozen=True, eq=False)
class Readout:
    """Non-spiking output accumulator: ``acc(t) = acc(t-1) + I(t) + bias``."""

    name: str
    source: str
    shape: tuple[int, ...]
    bias_mant: np.ndarray
    bias_exp: int = 0
    bias_t: IntT = BIAS_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        shape = tuple(int(d) for d in self.shape)
        object.__setattr__(self, "shape", shape)
        where = f"{self.name}.bias_mant"
        object.__setattr__(self, "bias_mant", _per_neuron(self.bias_mant, shape, where))
        if self.bias_exp < 0:
            raise IRError(f"{self.name}.bias_exp: must be >= 0, got {self.bias_exp}")
        self.bias_t.check(self.bias_mant, where)

    @property
    def bias(self) -> np.ndarray:
        return self.bias_mant << self.bias_exp


Synapse = Union[Dense, Conv]
Node = Union[Input, Dense, Conv, SumPool, Flatten, IFPopulation, Readout]
NODE_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (Input, Dense, Conv, SumPool, Flatten, IFPopulation, Readout)
}
ARRAY_FIELDS: dict[type, tuple[str, ...]] = {
    Dense: ("weight",),
    Conv: ("weight",),
    IFPopulation: ("threshold", "v0", "bias_mant"),
    Readout: ("bias_mant",),
}
