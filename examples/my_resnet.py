"""A residual network written the way a user writes one: its own ``forward`` with ``+``.

Built only from neurodeploy's quantized layers (int8 power-of-two weights, QCFS activations),
so the converter maps it to an integer SNN exactly.  Name it on the command line as
``examples.my_resnet:tiny_resnet`` (run from the repository root, or put this file anywhere
importable and name ``module:function``).
"""
from __future__ import annotations

from torch import Tensor, nn

from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.qcfs import QCFS


class Block(nn.Module):
    """``out = act(conv2(act(conv1(x))) + shortcut(x))``; the shortcut is the identity when the
    shape is kept and a strided 1x1 convolution when it changes."""

    def __init__(self, c_in: int, c_out: int, stride: int, levels: int) -> None:
        super().__init__()
        self.conv1 = qconv2d(c_in, c_out, 3, stride=stride, padding=1)
        self.act1 = QCFS(levels, init_lambda=1.0)
        self.conv2 = qconv2d(c_out, c_out, 3, padding=1)
        self.shortcut = qconv2d(c_in, c_out, 1, stride=stride) if stride != 1 or c_in != c_out else nn.Identity()
        self.act2 = QCFS(levels, init_lambda=1.0)

    def forward(self, x: Tensor) -> Tensor:
        h = self.act1(self.conv1(x))
        return self.act2(self.conv2(h) + self.shortcut(x))


class TinyResNet(nn.Module):
    """Stem, an identity block, a strided block with a 1x1 shortcut, global average pool, linear."""

    def __init__(self, levels: int = 4, width: int = 8, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = qconv2d(in_channels, width, 3, padding=1)
        self.act = QCFS(levels, init_lambda=1.0)
        self.block1 = Block(width, width, 1, levels)
        self.block2 = Block(width, 2 * width, 2, levels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = qlinear(2 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.stem(x))
        x = self.block2(self.block1(x))
        return self.fc(self.pool(x).flatten(1))


def tiny_resnet(levels: int = 4, width: int = 8, num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """The factory the CLI calls (``--model examples.my_resnet:tiny_resnet``)."""
    return TinyResNet(levels=levels, width=width, num_classes=num_classes, in_channels=in_channels)
