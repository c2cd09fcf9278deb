"""Pieces shared by the zoo's DAG models (ResNet, VGG, MobileNet): activations, input shapes, init.

Every zoo model takes the same QCFS keywords (``levels``, ``init_lambda``, ``power_of_two``, ``shift``;
Bu et al., ICLR 2022) and an ``input_shape`` ``(C, H, W)``.  Models meant to convert exactly keep every
average a division by a power of two: pooling windows are 2×2, and a global average pool only sees a
power-of-two area (:func:`stem_pools` picks the stem pooling that gets MNIST's 28×28 there).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from brevitas.nn import QuantConv2d, QuantLinear
from torch import nn

from neurodeploy.quant.qcfs import QCFS

__all__ = ["ActFactory", "make_act", "image_shape", "stem_pools", "conv_out", "kaiming_init"]

#: A zero-argument callable returning a fresh QCFS layer.
ActFactory = Callable[[], QCFS]


def make_act(levels: int, init_lambda: float, power_of_two: bool, shift: float) -> ActFactory:
    """A factory of identical QCFS activations (``L`` levels, learnable λ)."""
    return functools.partial(QCFS, int(levels), init_lambda=init_lambda, power_of_two=power_of_two, shift=shift)


def image_shape(input_shape: Sequence[int], model: str) -> tuple[int, int, int]:
    """``input_shape`` as ``(C, H, W)`` of positive ints; ``ValueError`` naming ``model`` otherwise."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"{model}: input_shape must be (channels, height, width), got {tuple(input_shape)}")
    return shape  # type: ignore[return-value]


def conv_out(size: int, stride: int) -> int:
    """Spatial size after a 'same'-padded conv (3×3 pad 1, or 1×1 pad 0) with ``stride``."""
    return (size - 1) // stride + 1


def stem_pools(height: int, width: int) -> int:
    """Number of 2×2 average pools after the stem: one for inputs of 16 pixels or more (MNIST), else none.

    28×28 → 14×14 keeps the training cost down and, after two stride-2 stages (14 → 7 → 4), leaves a 4×4
    map whose global average is a division by 16; digits' 8×8 ends at 2×2.
    """
    return 1 if min(height, width) >= 16 else 0


def kaiming_init(model: nn.Module) -> nn.Module:
    """He-normal weights (fan-in, ReLU gain) and zero biases on every quantized conv/linear layer.

    Without BatchNorm, PyTorch's default init shrinks the signal layer by layer; with a quantizing activation
    a deep plain stack then starts with all-zero activations.  He et al. 2015's init keeps the variance.
    """
    for m in model.modules():
        if isinstance(m, (QuantConv2d, QuantLinear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
