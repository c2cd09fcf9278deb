"""A deep plain QCFS VGG (Simonyan & Zisserman, ICLR 2015), without BatchNorm.

Bu et al. (ICLR 2022) convert VGG-16 with QCFS activations; this keeps VGG's shape (stages of 3×3 convs, a 2×2
average pool between stages, fully connected head) at toy width::

    stage i:  [qconv 3×3 pad 1 → QCFS] × convs[i]      (AvgPool2d(2) after every stage but the last)
    head:     Flatten → qlinear → QCFS → qlinear readout

The default ``convs=(2, 3, 3)`` gives 8 convolutions: 8×8 digits end at 2×2, MNIST 28×28 at 7×7.  Being a
plain chain it is also an ``nn.Sequential``, so the sequential converter can map it as well.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.zoo_common import image_shape, kaiming_init, make_act

__all__ = ["vgg"]


def vgg(
    levels: int = 4,
    input_shape: Sequence[int] = (1, 28, 28),
    widths: Sequence[int] = (8, 16, 32),
    convs: Sequence[int] = (2, 3, 3),
    hidden: int = 64,
    num_classes: int = 10,
    init_lambda: float = 1.0,
    power_of_two: bool = True,
    shift: float = 0.5,
) -> nn.Sequential:
    """VGG-style QCFS stack: ``convs[i]`` 3×3 convs of ``widths[i]`` channels per stage, then two qlinears."""
    channels, height, width = image_shape(input_shape, "vgg")
    widths, convs = [int(w) for w in widths], [int(c) for c in convs]
    if not widths or len(widths) != len(convs) or min(widths) < 1 or min(convs) < 1:
        raise ValueError(f"vgg: widths {widths} and convs {convs} must be non-empty, positive, equally long")
    if min(height, width) >> (len(widths) - 1) < 1:
        raise ValueError(f"vgg: {len(widths) - 1} poolings do not fit a {height}×{width} input")
    act = make_act(levels, init_lambda, power_of_two, shift)
    layers: list[nn.Module] = []
    current = channels
    for index, (out, count) in enumerate(zip(widths, convs)):
        for _ in range(count):
            layers += [qconv2d(current, out, 3, padding=1), act()]
            current = out
        if index < len(widths) - 1:
            layers.append(nn.AvgPool2d(2))
            height, width = height // 2, width // 2
    layers += [nn.Flatten(), qlinear(current * height * width, int(hidden)), act(),
               qlinear(int(hidden), int(num_classes))]
    return kaiming_init(nn.Sequential(*layers))  # type: ignore[return-value]
