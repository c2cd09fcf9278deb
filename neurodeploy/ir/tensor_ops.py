"""Input and the synapse-free tensor nodes: SumPool, Flatten, Concat (semantics in :mod:`neurodeploy.ir.nodes`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.node_base import NodeBase, Pair, Role, _MultiSource, _names, _set, _SingleSource, as_pair


@dataclass(frozen=True)
class Input(NodeBase):
    """Direct input: unsigned ``bits``-bit integers of ``shape``, real value ``x_int * scale``."""

    name: str
    shape: tuple[int, ...]
    bits: int = 8
    scale: float = 1.0 / 256
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "input"

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if not shape or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape):
            raise IRError(f"{self.name}.shape: expected positive ints, got {self.shape!r}")
        _set(self, "shape", tuple(int(d) for d in shape))
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 62:
            raise IRError(f"{self.name}.bits: expected an int in 1..62, got {self.bits!r}")

    @property
    def value_t(self) -> IntT:
        return IntT(self.bits, signed=False)

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return self.shape

    def value_bound(self, in_bounds: list[int]) -> int:
        return self.value_t.hi

    def describe(self) -> str:
        return f"{self.value_t.describe()} x {self.scale:g}"


@dataclass(frozen=True)
class SumPool(_SingleSource):
    """Integer sum over ``kernel`` windows with per-axis ``stride`` (default = kernel) and zero
    ``padding`` (the ANN's AvgPool with ``count_include_pad``; ``1/(kh*kw)`` is carried by the
    next synapse).  A kernel equal to the input's (H, W) is a global pool."""

    name: str
    source: str
    kernel: Pair = (2, 2)
    stride: Pair | None = None
    padding: Pair = (0, 0)
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "tensor"

    def __post_init__(self) -> None:
        _set(self, "kernel", as_pair(self.kernel, f"{self.name}.kernel", 1))
        stride = self.kernel if self.stride is None else self.stride
        _set(self, "stride", as_pair(stride, f"{self.name}.stride", 1))
        _set(self, "padding", as_pair(self.padding, f"{self.name}.padding", 0))

    @property
    def area(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        src = in_shapes[0]
        if len(src) != 3:
            raise IRError(f"{self.name}: SumPool needs a (C,H,W) input, got {src}")
        assert self.stride is not None
        sizes = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(src[1:], self.kernel, self.stride, self.padding)]
        if min(sizes) < 1:
            raise IRError(f"{self.name}: kernel {self.kernel} does not fit input {src}")
        return (src[0], sizes[0], sizes[1])

    def value_bound(self, in_bounds: list[int]) -> int:
        return in_bounds[0] * self.area

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        """``y[b,c,i,j] = sum_{a<kh, e<kw} xpad[b, c, i*sh + a, j*sw + e]`` (exact int64)."""
        x = values[0].astype(np.int64)
        (ph, pw), (kh, kw) = self.padding, self.kernel
        assert self.stride is not None
        sh, sw = self.stride
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        _, ho, wo = self.out_shape([tuple(x.shape[1:])])
        out = np.zeros((x.shape[0], x.shape[1], ho, wo), np.int64)
        for a in range(kh):
            for e in range(kw):
                out += xp[:, :, a:a + sh * (ho - 1) + 1:sh, e:e + sw * (wo - 1) + 1:sw]
        return out

    def fanout_back(self, out_fanout: np.ndarray, in_shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        """Fan-out of each input element when each output element has ``out_fanout``: the transpose
        of the pool, ``f_in[c, y, x] = sum of out_fanout[c, i, j] over the windows holding (y, x)``
        (an event passes through every window it lies in)."""
        assert self.stride is not None
        (ph, pw), (kh, kw), (sh, sw) = self.padding, self.kernel, self.stride
        c, h, w = in_shapes[0]
        _, ho, wo = out_fanout.shape
        acc = np.zeros((c, h + 2 * ph, w + 2 * pw), np.int64)
        for a in range(kh):
            for e in range(kw):
                acc[:, a:a + sh * (ho - 1) + 1:sh, e:e + sw * (wo - 1) + 1:sw] += out_fanout
        return [acc[:, ph:ph + h, pw:pw + w]]

    def describe(self) -> str:
        return f"sum {self.kernel[0]}x{self.kernel[1]}, stride {self.stride}, pad {self.padding}"


@dataclass(frozen=True)
class Flatten(_SingleSource):
    """C-order reshape to one dimension."""

    name: str
    source: str
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "tensor"

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return (int(np.prod(in_shapes[0])),)

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        return values[0].reshape(values[0].shape[0], -1)

    def fanout_back(self, out_fanout: np.ndarray, in_shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        """An element keeps its fan-out (the reshape's transpose)."""
        return [out_fanout.reshape(in_shapes[0])]


@dataclass(frozen=True)
class Concat(_MultiSource):
    """Concatenation of its sources along axis 0 (channels of CHW, features of 1-D)."""

    name: str
    sources: tuple[str, ...]
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "tensor"

    def __post_init__(self) -> None:
        _set(self, "sources", _names(self.sources, f"{self.name}.sources"))

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        first = in_shapes[0]
        for src, shape in zip(self.sources, in_shapes):
            if len(shape) != len(first) or tuple(shape[1:]) != tuple(first[1:]):
                raise IRError(f"{self.name}: cannot concatenate {src!r} of shape {shape} with "
                              f"{self.sources[0]!r} of shape {first} (only axis 0 may differ)")
        return (sum(s[0] for s in in_shapes), *first[1:])

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(values, axis=1)

    def fanout_back(self, out_fanout: np.ndarray, in_shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        """Each source gets its own slice along axis 0 (the concatenation's transpose)."""
        cuts = np.cumsum([s[0] for s in in_shapes])[:-1]
        return list(np.split(out_fanout, cuts, axis=0))


