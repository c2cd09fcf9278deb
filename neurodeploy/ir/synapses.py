"""Synapse nodes: Dense and Conv (semantics in :mod:`neurodeploy.ir.nodes`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError, shift
from neurodeploy.ir.node_base import WEIGHT_T, Pair, Role, _set, _SingleSource, as_pair, frozen_int_array


class _Synapse(_SingleSource):
    """Shared behaviour of Dense and Conv: int mantissas of ``weight_t`` and one exponent."""

    weight: np.ndarray
    weight_exp: int
    weight_t: IntT
    role: ClassVar[Role] = "synapse"
    array_fields: ClassVar[tuple[str, ...]] = ("weight",)

    def _freeze_weight(self, ndim: int, layout: str) -> None:
        w = frozen_int_array(self.weight, f"{self.name}.weight")
        if w.ndim != ndim:
            raise IRError(f"{self.name}.weight: expected {ndim}-D {layout}, got shape {w.shape}")
        self.weight_t.check(w, f"{self.name}.weight")
        _set(self, "weight", w)
        if not isinstance(self.weight_exp, (int, np.integer)) or abs(int(self.weight_exp)) > 62:
            raise IRError(f"{self.name}.weight_exp: expected an int in -62..62, got {self.weight_exp!r}")
        _set(self, "weight_exp", int(self.weight_exp))

    def fan_in_abs(self) -> np.ndarray:
        """``sum_j |w_ij|`` per output channel/neuron."""
        w = self.weight.reshape(self.weight.shape[0], -1)
        if self.weight_t.bits + int(w.shape[1]).bit_length() < 62:
            return np.abs(w).sum(axis=1)                      # provably no int64 overflow
        return np.array([sum(abs(int(v)) for v in row) for row in w], dtype=object)   # exact big ints

    @cached_property
    def max_fan_in_abs(self) -> int:
        """``max_out sum_j |w_ij|`` (the weights are read-only, so computed once per node)."""
        return int(self.fan_in_abs().max(initial=0))

    def raw_bound(self, max_input: int) -> int:
        """``max_out sum_j |w_ij| * max_input``: bound of the sum before the shift."""
        return self.max_fan_in_abs * int(max_input)

    def value_bound(self, in_bounds: list[int]) -> int:
        """Bound of ``|I|`` after the shift (a left shift grows it, a floor may add 1)."""
        raw = self.raw_bound(in_bounds[0])
        return raw << self.weight_exp if self.weight_exp >= 0 else (raw >> -self.weight_exp) + 1

    def describe(self) -> str:
        return f"w {self.weight_t.describe()} << {self.weight_exp}"

    def fanout(self, in_shape: tuple[int, ...], nonzero_only: bool = True) -> np.ndarray:
        """Connections leaving each input element, shape ``in_shape`` (int64): the number of
        (output neuron, weight) pairs an event on that element drives, counting only non-zero
        weights (``nonzero_only``) or every weight (the dense count).  Summed over the input it is the
        layer's (effective or dense) MACs for one all-non-zero input; a Conv counts in-bounds taps
        only (zero padding is no connection), so with padding its sum is below :meth:`synapse_count`."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Dense(_Synapse):
    """Fully connected synapse: ``I = shift(W @ s, weight_exp)``; ``W`` shape (n_out, n_in)."""

    name: str
    source: str
    weight: np.ndarray
    weight_exp: int = 0
    weight_t: IntT = WEIGHT_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self._freeze_weight(2, "(n_out, n_in)")

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        src = in_shapes[0]
        if len(src) != 1 or src[0] != self.weight.shape[1]:
            raise IRError(f"{self.name}: weight expects input ({self.weight.shape[1]},), got {src}")
        return (int(self.weight.shape[0]),)

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        s = values[0].astype(np.int64)
        return shift(s @ self.weight.T, self.weight_exp)          # exact int64 dot products

    def synapse_count(self, out_shape: tuple[int, ...]) -> int:
        return int(np.count_nonzero(self.weight))

    def fanout(self, in_shape: tuple[int, ...], nonzero_only: bool = True) -> np.ndarray:
        """``fanout[j] = #{i : W[i, j] != 0}`` (or ``n_out`` for the dense count)."""
        mask = self.weight != 0 if nonzero_only else np.ones(self.weight.shape, bool)
        return mask.sum(axis=0, dtype=np.int64).reshape(in_shape)


@dataclass(frozen=True, eq=False)
class Conv(_Synapse):
    """2-D convolution synapse: ``I = shift(conv2d(s, W), weight_exp)`` (see module docstring)."""

    name: str
    source: str
    weight: np.ndarray
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    weight_exp: int = 0
    weight_t: IntT = WEIGHT_T
    dilation: Pair = (1, 1)
    groups: int = 1
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _set(self, "stride", as_pair(self.stride, f"{self.name}.stride", 1))
        _set(self, "padding", as_pair(self.padding, f"{self.name}.padding", 0))
        _set(self, "dilation", as_pair(self.dilation, f"{self.name}.dilation", 1))
        self._freeze_weight(4, "(C_out, C_in/groups, kh, kw)")
        g = self.groups
        if not isinstance(g, (int, np.integer)) or isinstance(g, bool) or g < 1 or self.weight.shape[0] % g:
            raise IRError(f"{self.name}.groups: must be an int >= 1 dividing C_out "
                          f"{self.weight.shape[0]}, got {g!r}")
        _set(self, "groups", int(g))

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        src = in_shapes[0]
        co, ci_g, kh, kw = self.weight.shape
        if len(src) != 3 or src[0] != ci_g * self.groups:
            raise IRError(f"{self.name}: weight expects (C,H,W) input with {ci_g * self.groups} channels "
                          f"({self.groups} groups), got {src}")
        sizes = []
        for size, k, st, p, d in zip(src[1:], (kh, kw), self.stride, self.padding, self.dilation):
            sizes.append((size + 2 * p - d * (k - 1) - 1) // st + 1)
        if min(sizes) < 1:
            raise IRError(f"{self.name}: kernel {kh}x{kw} does not fit input {src}")
        return (int(co), sizes[0], sizes[1])

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        """Exact int64: ``out[b,o,i,j] = sum_{c,dy,dx} W[o,c,dy,dx] * xpad[b, g(o)*Cg + c,
        i*sh + dy*dh, j*sw + dx*dw]`` (``g(o)`` = the group of output channel ``o``)."""
        x = values[0].astype(np.int64)
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        co, ci_g, kh, kw = self.weight.shape
        _, ho, wo = self.out_shape([tuple(x.shape[1:])])
        g, co_g = self.groups, co // self.groups
        out = np.zeros((x.shape[0], co, ho, wo), np.int64)
        for dy in range(kh):
            for dx in range(kw):
                win = xp[:, :, dy * dh:dy * dh + sh * (ho - 1) + 1:sh, dx * dw:dx * dw + sw * (wo - 1) + 1:sw]
                for gi in range(g):
                    w = self.weight[gi * co_g:(gi + 1) * co_g, :, dy, dx]            # (co_g, ci_g)
                    xs = win[:, gi * ci_g:(gi + 1) * ci_g]                            # (B, ci_g, ho, wo)
                    out[:, gi * co_g:(gi + 1) * co_g] += np.einsum("oc,bchw->bohw", w, xs)
        return shift(out, self.weight_exp)

    def synapse_count(self, out_shape: tuple[int, ...]) -> int:
        per_channel = np.count_nonzero(self.weight.reshape(self.weight.shape[0], -1), axis=1)
        return int(per_channel.sum()) * int(np.prod(out_shape[1:]))

    def fanout(self, in_shape: tuple[int, ...], nonzero_only: bool = True) -> np.ndarray:
        """``fanout[c, y, x] = sum_{dy,dx} nz[c, dy, dx] * hit_h[dy, y] * hit_w[dx, x]``, where
        ``nz[c, dy, dx]`` counts the output channels of ``c``'s group whose tap ``(dy, dx)`` on ``c``
        is non-zero (``C_out / groups`` for the dense count) and ``hit[dy, y] = 1`` iff some output
        row ``i`` reads input row ``y = i*stride + dy*dilation - padding`` (at most one ``i`` per tap)."""
        co, ci_g, kh, kw = self.weight.shape
        g = self.groups
        mask = self.weight != 0 if nonzero_only else np.ones(self.weight.shape, bool)
        nz = mask.reshape(g, co // g, ci_g, kh, kw).sum(axis=1, dtype=np.int64).reshape(g * ci_g, kh, kw)
        _, ho, wo = self.out_shape([tuple(in_shape)])
        hits = []
        for n_in, n_out, k, s, p, d in zip(in_shape[1:], (ho, wo), (kh, kw), self.stride, self.padding,
                                           self.dilation):
            rows = np.arange(n_out)[None, :] * s + np.arange(k)[:, None] * d - p      # (k, n_out) input index
            hit = np.zeros((k, n_in), np.int64)
            for tap in range(k):
                inside = rows[tap][(rows[tap] >= 0) & (rows[tap] < n_in)]
                hit[tap, inside] = 1
            hits.append(hit)
        return np.einsum("cab,ay,bx->cyx", nz, hits[0], hits[1])

    def describe(self) -> str:
        extra = f", groups {self.groups}" if self.groups > 1 else ""
        extra += f", dilation {self.dilation}" if self.dilation != (1, 1) else ""
        return f"{super().describe()}, stride {self.stride}, pad {self.padding}{extra}"


