"""Argument normalisation for the fx walker: pool windows, flatten/view targets, shapes.

Shapes here are per sample (no batch axis), as in the IR; ``BATCH`` stands for the batch
size where a traced program reads it (``x.size(0)``, ``x.shape[0]``).  Output shapes are
computed by the IR's own node classes (one definition of the formulas), so the walker and the
integer graph can never disagree.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.nodes import Concat, Conv, SumPool, as_pair

Pair = tuple[int, int]


class UnsupportedLayerError(IRError):
    """An fx node the converter cannot map; the one-line message names node, target and module."""


class _Batch:
    """The batch dimension as read by a traced program."""

    def __repr__(self) -> str:
        return "BATCH"


BATCH = _Batch()


def pair(value: Any, what: str) -> Pair:
    """``value`` (int or two ints) as ``(h, w)``; refuses strings such as ``padding='same'``."""
    try:
        return as_pair(tuple(value) if isinstance(value, (tuple, list)) else int(value), what, 0)
    except (TypeError, ValueError) as exc:
        raise UnsupportedLayerError(f"{what}={value!r} is not an int or a pair of ints ({exc})") from None


def conv_shape(shape: tuple[int, ...], weight_shape: tuple[int, ...], stride: Pair, padding: Pair,
               dilation: Pair, groups: int) -> tuple[int, ...]:
    """Output shape of a conv (IR :class:`Conv` formula)."""
    probe = Conv("conv", "x", np.zeros(weight_shape, np.int64), stride=stride, padding=padding,
                 dilation=dilation, groups=groups)
    return probe.out_shape([shape])


def pool_shape(shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair) -> tuple[int, ...]:
    """Output shape of a sum/average pool (IR :class:`SumPool` formula)."""
    return SumPool("pool", "x", kernel=kernel, stride=stride, padding=padding).out_shape([shape])


def concat_shape(shapes: list[tuple[int, ...]], names: tuple[str, ...]) -> tuple[int, ...]:
    """Shape of a channel concatenation (IR :class:`Concat` checks)."""
    return Concat("concat", names).out_shape(shapes)


def avg_pool_window(kernel: Any, stride: Any, padding: Any, ceil_mode: bool = False,
                    count_include_pad: bool = True, divisor_override: Any = None) -> tuple[Pair, Pair, Pair]:
    """``(kernel, stride, padding)`` of an ``AvgPool2d``; the IR's SumPool counts padded zeros."""
    k = pair(kernel, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else pair(stride, "stride")
    p = pair(padding, "padding")
    if ceil_mode:
        raise UnsupportedLayerError("ceil_mode=True is not supported (partial windows)")
    if divisor_override is not None:
        raise UnsupportedLayerError("divisor_override is not supported")
    if p != (0, 0) and not count_include_pad:
        raise UnsupportedLayerError("count_include_pad=False with padding is not supported "
                                    "(border windows would have their own divisor)")
    return k, s, p


def max_pool_window(kernel: Any, stride: Any, padding: Any, dilation: Any = 1, ceil_mode: bool = False,
                    return_indices: bool = False) -> tuple[Pair, Pair, Pair]:
    """``(kernel, stride, padding)`` of a ``MaxPool2d`` replaced by an average pool."""
    if pair(dilation, "dilation") != (1, 1) or return_indices:
        raise UnsupportedLayerError("MaxPool2d with dilation or return_indices cannot become AvgPool2d")
    return avg_pool_window(kernel, stride, padding, ceil_mode)


def adaptive_window(shape: tuple[int, ...], output_size: Any) -> tuple[Pair, Pair, Pair]:
    """Window of an ``AdaptiveAvgPool2d`` whose output size divides the input (1 = global)."""
    if len(shape) != 3:
        raise UnsupportedLayerError(f"adaptive average pool needs a (C,H,W) tensor, got {shape}")
    sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size, output_size]
    out = tuple(shape[1 + i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(o < 1 or n % o for n, o in zip(shape[1:], out)):
        raise UnsupportedLayerError(f"adaptive pool output {out} does not divide the input {shape[1:]}")
    k = (shape[1] // out[0], shape[2] // out[1])
    return k, k, (0, 0)


def flatten_dims(ndim: int, start_dim: int = 1, end_dim: int = -1) -> None:
    """Accept only a flatten of everything but the batch axis (``ndim`` includes the batch)."""
    if start_dim % ndim != 1 or end_dim % ndim != ndim - 1:
        raise UnsupportedLayerError(f"flatten(start_dim={start_dim}, end_dim={end_dim}) must keep the batch "
                                    "axis and flatten all others")


def view_is_flatten(shape: tuple[int, ...], target: list[Any]) -> bool:
    """Whether ``view``/``reshape`` to ``target`` (batch included) is a flatten (True) or the
    identity (False); anything else is refused."""
    size = int(np.prod(shape))
    dims = [d for d in target]
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = list(dims[0])
    if len(dims) == 2 and dims[0] in (BATCH, -1) and dims[1] in (-1, size) and not (dims[0] == dims[1] == -1):
        return True
    if len(dims) == len(shape) + 1 and dims[0] in (BATCH, -1) and \
            all(d == n for d, n in zip(dims[1:], shape)):
        return False
    raise UnsupportedLayerError(f"reshape to {dims} is neither a flatten (N, -1) nor the identity "
                                f"for per-sample shape {shape}")


def mean_is_global(ndim: int, dims: Any) -> None:
    """Accept only a mean over the spatial axes (2, 3) of an NCHW tensor."""
    axes = sorted(int(d) % ndim for d in (dims if isinstance(dims, (tuple, list)) else [dims]))
    if ndim != 4 or axes != [2, 3]:
        raise UnsupportedLayerError(f"mean over dims {dims} is not a global spatial average (2, 3)")


def channel_dim(ndim: int, dim: int) -> None:
    """Accept only concatenation along channels (NCHW) or features (N, F)."""
    if int(dim) % ndim != 1:
        raise UnsupportedLayerError(f"concatenation along dim {dim} (only channels, dim=1, are supported)")
