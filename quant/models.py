"""Model zoo: plain ``nn.Sequential`` stacks the converter can walk in order.

Only these module types appear: :func:`~neurodeploy.quant.layers.qconv2d` / ``qlinear`` (Brevitas, int8
power-of-two weights, int16 power-of-two bias), :class:`~neurodeploy.quant.qcfs.QCFS` (Bu et al., ICLR 2022),
``nn.AvgPool2d(2)`` and ``nn.Flatten``. No BatchNorm is used, so no folding step is needed. The last layer is a
linear read-out with no activation. Every model is rebuilt from JSON-able keyword arguments through
:func:`build_model`, which is what checkpoints store.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from brevitas.nn import QuantConv2d, QuantLinear
from torch import nn

from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.qcfs import QCFS

__all__ = ["mlp", "cnn", "build_model", "MODELS", "ALLOWED_MODULES"]

#: The module types a zoo model may contain (the converter's contract).
ALLOWED_MODULES: tuple[type[nn.Module], ...] = (
    QuantConv2d, QuantLinear, QCFS, nn.AvgPool2d, nn.Flatten, nn.BatchNorm1d, nn.BatchNorm2d,
)



def _act(levels: int, init_lambda: float, power_of_two: bool, shift: float) -> QCFS:
    return QCFS(levels, init_lambda=init_lambda, power_of_two=power_of_two, shift=shift)


def mlp(
    levels: int = 4,
    hidden: Sequence[int] = (128, 64),
    in_features: int = 64,
    num_classes: int = 10,
    init_lambda: float = 1.0,
    power_of_two: bool = True,
    shift: float = 0.5,
) -> nn.Sequential:
    """MLP for sklearn digits: ``in_features`` → [qlinear, QCFS] per hidden width → qlinear logits."""
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [qlinear(width, int(h)), _act(levels, init_lambda, power_of_two, shift)]
        width = int(h)
    layers.append(qlinear(width, num_classes))
    return nn.Sequential(*layers)


def cnn(
    levels: int = 4,
    channels: Sequence[int] = (16, 32),
    hidden: int = 128,
    num_classes: int = 10,
    init_lambda: float = 1.0,
    power_of_two: bool = True,
    shift: float = 0.5,
) -> nn.Sequential:
    """CNN for MNIST 1×28×28: 2× [qconv k5 pad2, QCFS, AvgPool2d(2)], Flatten, qlinear+QCFS, qlinear."""
    c1, c2 = (int(c) for c in channels)
    return nn.Sequential(
        qconv2d(1, c1, 5, padding=2),
        _act(levels, init_lambda, power_of_two, shift),
        nn.AvgPool2d(2),
        qconv2d(c1, c2, 5, padding=2),
        _act(levels, init_lambda, power_of_two, shift),
        nn.AvgPool2d(2),
        nn.Flatten(),
        qlinear(c2 * 7 * 7, int(hidden)),
        _act(levels, init_lambda, power_of_two, shift),
        qlinear(int(hidden), num_classes),
    )


MODELS: dict[str, Callable[..., nn.Sequential]] = {"mlp": mlp, "cnn": cnn}


def build_model(name: str, **config: Any) -> nn.Sequential:
    """Build zoo model ``name`` ("mlp" | "cnn") from JSON-able keyword arguments."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model name {name!r}; known: {sorted(MODELS)}") from None
    return factory(**config)
