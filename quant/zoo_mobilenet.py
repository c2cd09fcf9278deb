"""A small QCFS MobileNet: depthwise-separable blocks (Howard et al., arXiv 1704.04861, 2017) and
inverted-residual blocks (Sandler et al., CVPR 2018), without BatchNorm::

    stem:        qconv 3×3 → QCFS  [→ AvgPool2d(2) for ≥ 16-pixel inputs]
    separable:   depthwise qconv 3×3 (groups = channels, stride s) → QCFS → pointwise qconv 1×1 → QCFS
    inverted:    h = QCFS(expand 1×1 (×expansion)) → QCFS(depthwise 3×3) ;  out = QCFS(project 1×1 (h) + x)
    head:        AdaptiveAvgPool2d(1) → Flatten → qlinear readout

One separable block per entry of ``widths``/``strides``, each followed by ``inverted`` inverted-residual
blocks at the same width (one count for every stage, or one per stage; the default puts one in the last stage
only, which keeps the spiking depth at 10 populations: converted SNNs need more time steps as depth grows).  Difference to MobileNetV2: its projection is linear (no activation) and the sum is
passed on as is; a spiking network can only pass spikes between synapses, so here the sum goes through a
QCFS, as in the ResNet block (Bu et al., ICLR 2022).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.zoo_common import ActFactory, image_shape, kaiming_init, make_act, stem_pools

__all__ = ["SeparableBlock", "InvertedResidual", "mobilenet"]


class SeparableBlock(nn.Sequential):
    """Depthwise 3×3 (stride ``stride``) → QCFS → pointwise 1×1 → QCFS."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, act: ActFactory) -> None:
        super().__init__(
            qconv2d(in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels),
            act(),
            qconv2d(in_channels, out_channels, 1),
            act(),
        )


class InvertedResidual(nn.Module):
    """Expand 1×1 → QCFS → depthwise 3×3 → QCFS → project 1×1, plus the identity, → QCFS."""

    def __init__(self, channels: int, expansion: int, act: ActFactory) -> None:
        super().__init__()
        hidden = channels * expansion
        self.expand = qconv2d(channels, hidden, 1)
        self.act1 = act()
        self.depthwise = qconv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act2 = act()
        self.project = qconv2d(hidden, channels, 1)
        self.act3 = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act2(self.depthwise(self.act1(self.expand(x))))
        return self.act3(self.project(h) + x)


def mobilenet(
    levels: int = 4,
    input_shape: Sequence[int] = (1, 28, 28),
    widths: Sequence[int] = (16, 32, 64),
    strides: Sequence[int] = (1, 2, 2),
    inverted: int | Sequence[int] = (0, 0, 1),
    expansion: int = 2,
    num_classes: int = 10,
    init_lambda: float = 1.0,
    power_of_two: bool = True,
    shift: float = 0.5,
) -> nn.Sequential:
    """MobileNet-style QCFS network; ``inverted=0`` gives a pure depthwise-separable (MobileNetV1) chain."""
    channels, height, width = image_shape(input_shape, "mobilenet")
    widths, strides = [int(w) for w in widths], [int(s) for s in strides]
    if not widths or len(widths) != len(strides) or min(widths) < 1 or not set(strides) <= {1, 2}:
        raise ValueError(f"mobilenet: widths {widths} and strides {strides} (1 or 2) must be non-empty and equally long")
    per_stage = [int(inverted)] * len(widths) if isinstance(inverted, int) else [int(i) for i in inverted]
    if len(per_stage) != len(widths) or min(per_stage) < 0 or int(expansion) < 1:
        raise ValueError(f"mobilenet: inverted={inverted} must be >= 0 (one count, or one per stage) and "
                         f"expansion={expansion} >= 1")
    act = make_act(levels, init_lambda, power_of_two, shift)
    layers: list[nn.Module] = [qconv2d(channels, widths[0], 3, padding=1), act()]
    layers += [nn.AvgPool2d(2) for _ in range(stem_pools(height, width))]
    current = widths[0]
    for out, stride, n_inverted in zip(widths, strides, per_stage):
        layers.append(SeparableBlock(current, out, stride, act))
        layers += [InvertedResidual(out, int(expansion), act) for _ in range(n_inverted)]
        current = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), qlinear(current, int(num_classes))]
    return kaiming_init(nn.Sequential(*layers))  # type: ignore[return-value]
