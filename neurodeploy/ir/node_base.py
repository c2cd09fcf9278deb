"""Shared helpers, integer formats and the :class:`NodeBase` protocol of IR nodes."""
from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError

WEIGHT_T = IntT(8)
STATE_T = IntT(24)
BIAS_T = IntT(16)
ResetMode = Literal["subtract", "zero"]
CompareMode = Literal[">=", ">"]
Role = Literal["input", "synapse", "tensor", "population", "readout"]
Pair = tuple[int, int]


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


def as_pair(value: int | tuple[int, ...] | list[int], where: str, minimum: int) -> Pair:
    """``value`` as a per-axis ``(h, w)`` pair of ints ``>= minimum`` (an int means both axes)."""
    vals = list(value) if isinstance(value, (tuple, list)) else [value, value]
    if len(vals) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in vals):
        raise IRError(f"{where}: expected an int or two ints, got {value!r}")
    pair = (int(vals[0]), int(vals[1]))
    if min(pair) < minimum:
        raise IRError(f"{where}: must be >= {minimum}, got {pair}")
    return pair


def _names(value: tuple[str, ...] | list[str] | str, where: str) -> tuple[str, ...]:
    vals = (value,) if isinstance(value, str) else tuple(value)
    if not vals or not all(isinstance(v, str) and v for v in vals):
        raise IRError(f"{where}: expected one or more node names, got {value!r}")
    if len(set(vals)) != len(vals):
        raise IRError(f"{where}: a source is named twice in {list(vals)}")
    return vals


def _set(node: object, name: str, value: object) -> None:
    object.__setattr__(node, name, value)


class NodeBase:
    """Behaviour every node provides; subclasses override what applies to them."""

    role: ClassVar[Role]
    array_fields: ClassVar[tuple[str, ...]] = ()
    name: str

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the nodes this node reads (empty for the Input)."""
        return ()

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        """Per-sample output shape from the input shapes; :class:`IRError` naming the node."""
        raise NotImplementedError

    def value_bound(self, in_bounds: list[int]) -> int:
        """Largest magnitude this node can emit, given its inputs' bounds."""
        return max(in_bounds, default=0)

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        """Exact int64 value for a batch (leading axis), stateless nodes only."""
        raise IRError(f"{self.name}: {type(self).__name__} is stateful and has no apply()")

    def describe(self) -> str:
        """Integer formats in one line, for ``inspect``."""
        return ""

    def synapse_count(self, out_shape: tuple[int, ...]) -> int:
        """Nonzero synapses this node instantiates (0 unless it is a synapse)."""
        return 0


class _SingleSource(NodeBase):
    source: str

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.source,)


class _MultiSource(NodeBase):
    sources: tuple[str, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.sources


