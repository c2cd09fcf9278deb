"""Brevitas layers with power-of-two scales, and exact integer read-out of their parameters.

Every weight tensor is quantized to signed 8 bits (narrow range, -127..127) with one per-tensor scale
restricted to a power of two (Brevitas ``Int8WeightPerTensorFixedPoint``). Biases use their own per-tensor
power-of-two scale, computed from the bias itself ("internal scaling"), at **8 bits**
(:class:`PowerOfTwoBiasInternalScaling`, Brevitas' fixed-point internal-scaling bias quantizer with
``BIAS_BITS`` bits). Eight bits keep the bias grid no finer than the weights' accumulator grid in
practice: a finer bias grid forces a larger integer threshold and larger weight exponents at conversion
(a 16-bit bias needed weight exponent 9-10 on the digits MLP, beyond the 24-bit accumulator budget).
Because both scales are powers of two, ``W = q * 2**e`` and
``b = qb * 2**eb`` hold exactly in floating point, which is what lets the converter reproduce the network with
integer arithmetic only.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from brevitas.nn import QuantConv2d, QuantLinear
from brevitas.quant import Int8BiasPerTensorFixedPointInternalScaling, Int8WeightPerTensorFixedPoint

__all__ = [
    "PowerOfTwoBiasInternalScaling",
    "WEIGHT_BITS",
    "BIAS_BITS",
    "qconv2d",
    "qlinear",
    "quantized_weight",
    "quantized_bias",
    "pow2_exponent",
]

WEIGHT_BITS = 8
BIAS_BITS = 8


class PowerOfTwoBiasInternalScaling(Int8BiasPerTensorFixedPointInternalScaling):
    """Signed ``BIAS_BITS``-bit per-tensor bias quantizer; scale = 2**ceil(log2(max|b| / (2**(B-1) - 1)))."""

    bit_width = BIAS_BITS


def qconv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    bias: bool = True,
    groups: int = 1,
) -> QuantConv2d:
    """A ``QuantConv2d`` with int8 power-of-two weights and (optional) int8 power-of-two bias.

    ``groups`` splits the channels as in ``nn.Conv2d``; ``groups == in_channels == out_channels`` is a
    depthwise convolution (MobileNet, Howard et al. 2017).  The weight scale stays one per tensor.
    """
    return QuantConv2d(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=padding,
        bias=bias,
        groups=groups,
        weight_quant=Int8WeightPerTensorFixedPoint,
        bias_quant=PowerOfTwoBiasInternalScaling if bias else None,
        return_quant_tensor=False,
    )


def qlinear(in_features: int, out_features: int, bias: bool = True) -> QuantLinear:
    """A ``QuantLinear`` with int8 power-of-two weights and (optional) int8 power-of-two bias."""
    return QuantLinear(
        in_features,
        out_features,
        bias=bias,
        weight_quant=Int8WeightPerTensorFixedPoint,
        bias_quant=PowerOfTwoBiasInternalScaling if bias else None,
        return_quant_tensor=False,
    )


def pow2_exponent(scale: float) -> int:
    """Return ``e`` with ``scale == 2.0**e`` exactly; raise ``ValueError`` if ``scale`` is not a power of two."""
    scale = float(scale)
    if not (scale > 0.0 and math.isfinite(scale)):
        raise ValueError(f"scale {scale!r} is not a positive finite number")
    mantissa, exp = math.frexp(scale)  # scale = mantissa * 2**exp, mantissa in [0.5, 1)
    if mantissa != 0.5:
        raise ValueError(f"scale {scale!r} is not a power of two")
    return exp - 1


def _int_and_exponent(quant_tensor: object, bits: int, what: str) -> tuple[np.ndarray, int]:
    scale = quant_tensor.scale  # type: ignore[attr-defined]
    if scale.numel() != 1:
        raise ValueError(f"{what}: expected a per-tensor scale, got shape {tuple(scale.shape)}")
    e = pow2_exponent(float(scale.detach().reshape(())))
    q = quant_tensor.int().detach().cpu().numpy()  # type: ignore[attr-defined]
    value = quant_tensor.value.detach().cpu().numpy().astype(np.float64)  # type: ignore[attr-defined]
    limit = 2 ** (bits - 1)
    if q.size and (q.max() >= limit or q.min() < -limit):
        raise ValueError(f"{what}: integer values exceed {bits} bits")
    if not np.array_equal(q.astype(np.float64) * 2.0**e, value):
        raise ValueError(f"{what}: int_value * 2**{e} does not reproduce the Brevitas quantized value")
    return q, e


def quantized_weight(layer: QuantConv2d | QuantLinear) -> tuple[np.ndarray, int]:
    """Return ``(q, e)``: int8 weights and exponent with ``layer``'s effective weight ``== q * 2**e`` exactly."""
    with torch.no_grad():
        q, e = _int_and_exponent(layer.quant_weight(), WEIGHT_BITS, "weight")
    return q.astype(np.int8), e


def quantized_bias(layer: QuantConv2d | QuantLinear) -> tuple[np.ndarray, int] | None:
    """Return ``(qb, eb)`` with the effective bias ``== qb * 2**eb`` exactly, or ``None`` without bias."""
    if layer.bias is None:
        return None
    with torch.no_grad():
        qb, eb = _int_and_exponent(layer.quant_bias(), BIAS_BITS, "bias")
    return qb.astype(np.int32), eb
