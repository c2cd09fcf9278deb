"""A narrow QCFS ResNet (He et al., CVPR 2016) in the style of the QCFS paper (Bu et al., ICLR 2022).

Bu et al. train CIFAR ResNets with every ReLU replaced by QCFS; this is the same block structure at toy width
and without BatchNorm (so the conversion stays exact)::

    stem:   qconv 3×3 → QCFS  [→ AvgPool2d(2) for ≥ 16-pixel inputs]
    stage:  BasicBlock × blocks[i]; the first block of stages 2, 3, ... has stride 2
    block:  h = QCFS(conv1(x));  out = QCFS(conv2(h) + shortcut(x))
            shortcut = x (same shape) | 1×1 qconv with the block's stride (channels or size change)
    head:   AdaptiveAvgPool2d(1) → Flatten → qlinear readout

The residual sum is a real ``+`` in :meth:`BasicBlock.forward`, so a torch.fx trace sees an ``add`` node
feeding the second activation (in the SNN: two synapses into one population).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.zoo_common import ActFactory, image_shape, kaiming_init, make_act, stem_pools

__all__ = ["BasicBlock", "QCFSResNet", "resnet"]


class BasicBlock(nn.Module):
    """Two 3×3 qconvs with a QCFS between them and one after the residual sum."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, act: ActFactory) -> None:
        super().__init__()
        self.conv1 = qconv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.act1 = act()
        self.conv2 = qconv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = qconv2d(in_channels, out_channels, 1, stride=stride)
        self.act2 = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act1(self.conv1(x))
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.act2(self.conv2(h) + skip)


class QCFSResNet(nn.Module):
    """Stem, residual stages and a global-average-pool readout (see the module docstring)."""

    def __init__(self, stem: nn.Sequential, stages: nn.Sequential, head: nn.Sequential) -> None:
        super().__init__()
        self.stem = stem
        self.stages = stages
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def resnet(
    levels: int = 4,
    input_shape: Sequence[int] = (1, 28, 28),
    widths: Sequence[int] = (8, 16, 32),
    blocks: Sequence[int] = (1, 1, 1),
    num_classes: int = 10,
    init_lambda: float = 1.0,
    power_of_two: bool = True,
    shift: float = 0.5,
) -> QCFSResNet:
    """ResNet-20-like QCFS network; ``blocks=(3, 3, 3)`` with ``widths=(16, 32, 64)`` is ResNet-20's layout.

    ``widths[i]`` channels and ``blocks[i]`` basic blocks per stage; the stem has ``widths[0]`` channels.
    """
    channels, height, width = image_shape(input_shape, "resnet")
    widths, blocks = [int(w) for w in widths], [int(b) for b in blocks]
    if not widths or len(widths) != len(blocks) or min(widths) < 1 or min(blocks) < 1:
        raise ValueError(f"resnet: widths {widths} and blocks {blocks} must be non-empty, positive, equally long")
    act = make_act(levels, init_lambda, power_of_two, shift)
    stem: list[nn.Module] = [qconv2d(channels, widths[0], 3, padding=1), act()]
    stem += [nn.AvgPool2d(2) for _ in range(stem_pools(height, width))]
    stages: list[nn.Module] = []
    current = widths[0]
    for index, (out, count) in enumerate(zip(widths, blocks)):
        for block in range(count):
            stride = 2 if index > 0 and block == 0 else 1
            stages.append(BasicBlock(current, out, stride, act))
            current = out
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), qlinear(current, int(num_classes)))
    return kaiming_init(QCFSResNet(nn.Sequential(*stem), nn.Sequential(*stages), head))  # type: ignore[return-value]
