"""Exact batched arithmetic of the fast simulator: synapses on BLAS, sum pooling.

BLAS exactness: a float matmul of integers is exact, in any summation order, while every
partial sum is an integer the mantissa represents.  Per synapse the bound
``B = max_out sum_j |w_ij| * max|x_j|`` (:meth:`Dense.raw_bound`, before the weight shift)
selects the arithmetic once: ``B < 2**24`` float32, ``B < 2**53`` float64, else int64 (no
BLAS).  Every partial sum of a dot product or of a tap-wise accumulation is bounded by ``B``,
so the order of the additions does not matter.  Results go back to int64 *before* the
``shift`` by ``weight_exp`` (a floor for negative exponents), then to the consumer's dtype
(with ``weight_exp == 0`` there is no shift and the exact integer-valued sum is cast straight
to the consumer's dtype, which the caller chose to hold the current bound).

Conv layouts (batch ``B``, ``xpad`` the zero-padded input):

* ``groups == 1``: row-unrolled im2col.  ``rows[b, y, j, (dx, c)] = xpad[b, c, y, j*sw + dx*dw]``
  copies the input ``kw`` times; then ``out[:, :, i, j] = sum_dy rows[:, i*sh + dy*dh, j] @ taps[dy]``
  with ``taps[dy][(dx, c), o] = W[o, c, dy, dx]``.
* one input channel per group (depthwise, channel multiplier ``C_out / groups``):
  ``out[b, o] = sum_{dy,dx} W[o, 0, dy, dx] * xpad[b, o // (C_out/groups), i*sh + dy*dh, j*sw + dx*dw]``.
* other groups: the ``groups == 1`` path per group, concatenated along channels.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.ir.dtypes import shift
from neurodeploy.ir.nodes import Conv, Dense, SumPool

FLOAT32_EXACT = 1 << 24
FLOAT64_EXACT = 1 << 53
INT32_LIMIT = 1 << 31


def matmul_dtype(bound: int) -> type:
    """Cheapest exact accumulation type for sums bounded by ``bound`` in magnitude."""
    if bound < FLOAT32_EXACT:
        return np.float32
    if bound < FLOAT64_EXACT:
        return np.float64
    return np.int64


def int_dtype(bound: int) -> type:
    """int32 when every value is below ``2**31`` in magnitude, else int64."""
    return np.int32 if bound < INT32_LIMIT else np.int64


def _taps(w: np.ndarray, dtype: type) -> list[np.ndarray]:
    """``taps[dy][(dx, c), o] = W[o, c, dy, dx]`` for the row-unrolled im2col."""
    co, ci, _kh, kw = w.shape
    return [np.ascontiguousarray(w[:, :, dy, :].transpose(2, 1, 0).reshape(kw * ci, co), dtype=dtype)
            for dy in range(w.shape[2])]


def conv_rows(xp: np.ndarray, taps: list[np.ndarray], kw: int, out_hw: tuple[int, int],
              stride: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """Cross-correlation of the padded NHWC input ``xp`` by row-unrolled im2col; (B, C_out, Ho, Wo)."""
    b = xp.shape[0]
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    cols = [xp[:, :, dx * dw:dx * dw + sw * (wo - 1) + 1:sw] for dx in range(kw)]    # (B, Hp, Wo, C) each
    rows = cols[0] if kw == 1 else np.concatenate(cols, axis=3)                       # (B, Hp, Wo, kw*C)
    out: np.ndarray | None = None
    for dy, tap in enumerate(taps):
        a = rows[:, dy * dh:dy * dh + sh * (ho - 1) + 1:sh].reshape(b, ho * wo, -1)
        term = a @ tap                                                                 # (B, Ho*Wo, C_out)
        out = term if out is None else np.add(out, term, out=out)
    assert out is not None
    return out.reshape(b, ho, wo, -1).transpose(0, 3, 1, 2)


class Synapse:
    """A Dense/Conv with its weights pre-cast to the exact accumulation type.

    ``Synapse(node, max_input)(s)`` returns ``shift(W @ s, weight_exp)`` (or the conv) for a
    batch ``s``, exact, in ``out_dtype``.
    """

    def __init__(self, node: Dense | Conv, max_input: int, out_dtype: type = np.int64) -> None:
        self.node = node
        self.out_dtype = out_dtype
        self.dtype = matmul_dtype(node.raw_bound(max_input))
        w = node.weight
        if isinstance(node, Dense):
            self.matrix = np.ascontiguousarray(w.T, dtype=self.dtype)                # (fan_in, n_out)
            return
        co, ci_g, _kh, _kw = w.shape
        g = node.groups
        if g == 1:
            self.taps = [_taps(w, self.dtype)]
        elif ci_g == 1:                                                              # depthwise-like
            self.tap_weights = w[:, 0].astype(self.dtype)[None, :, :, :, None, None]  # (1, co, kh, kw, 1, 1)
            self.in_channel = np.repeat(np.arange(g), co // g)                        # o -> input channel
        else:
            co_g = co // g
            self.taps = [_taps(w[i * co_g:(i + 1) * co_g], self.dtype) for i in range(g)]

    def __call__(self, s: np.ndarray) -> np.ndarray:
        xs = s.astype(self.dtype, copy=False)
        acc = xs @ self.matrix if isinstance(self.node, Dense) else self._conv(xs)   # exact (bound)
        if self.node.weight_exp == 0:
            return acc.astype(self.out_dtype)                                         # no shift: exact cast
        return shift(acc.astype(np.int64), self.node.weight_exp).astype(self.out_dtype, copy=False)

    def _conv(self, x: np.ndarray) -> np.ndarray:
        node = self.node
        assert isinstance(node, Conv)
        (ph, pw), (kh, kw) = node.padding, node.weight.shape[2:]
        _, ho, wo = node.out_shape([tuple(x.shape[1:])])
        if not hasattr(self, "taps"):                                                 # depthwise-like
            xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
            if len(self.in_channel) != x.shape[1]:
                xp = xp[:, self.in_channel]
            (sh, sw), (dh, dw) = node.stride, node.dilation
            out = np.zeros((x.shape[0], len(self.in_channel), ho, wo), self.dtype)
            for dy in range(kh):
                for dx in range(kw):
                    win = xp[:, :, dy * dh:dy * dh + sh * (ho - 1) + 1:sh, dx * dw:dx * dw + sw * (wo - 1) + 1:sw]
                    out += self.tap_weights[:, :, dy, dx] * win
            return out
        xp = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (ph, ph), (pw, pw), (0, 0)))   # NHWC, zero pad
        if len(self.taps) == 1:
            return conv_rows(xp, self.taps[0], kw, (ho, wo), node.stride, node.dilation)
        ci_g = node.weight.shape[1]
        return np.concatenate([conv_rows(xp[..., i * ci_g:(i + 1) * ci_g], taps, kw, (ho, wo), node.stride,
                                         node.dilation) for i, taps in enumerate(self.taps)], axis=1)


def sum_pool(node: SumPool, s: np.ndarray, dtype: type) -> np.ndarray:
    """``y[b,c,i,j] = sum_{a<kh, e<kw} spad[b, c, i*sh + a, j*sw + e]`` in integer ``dtype``
    (chosen by the caller from the pool's value bound, so the sum is exact)."""
    x = s.astype(dtype, copy=False)
    (kh, kw), (ph, pw) = node.kernel, node.padding
    if (ph, pw) == (0, 0) and (kh, kw) == x.shape[2:]:
        return x.sum(axis=(2, 3), keepdims=True, dtype=dtype)                        # global pool
    assert node.stride is not None
    sh, sw = node.stride
    _, ho, wo = node.out_shape([tuple(x.shape[1:])])
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = x[:, :, 0:sh * (ho - 1) + 1:sh, 0:sw * (wo - 1) + 1:sw].copy()
    for a in range(kh):
        for e in range(kw):
            if a or e:
                out += x[:, :, a:a + sh * (ho - 1) + 1:sh, e:e + sw * (wo - 1) + 1:sw]
    return out
