"""Model zoo and :func:`build_model`, the one way models are built (by training and by checkpoints).

Zoo entries: ``mlp`` and ``cnn`` (plain ``nn.Sequential`` stacks), and the DAG models ``resnet``
(:mod:`~neurodeploy.quant.zoo_resnet`, He et al. 2016 / Bu et al. ICLR 2022), ``vgg``
(:mod:`~neurodeploy.quant.zoo_vgg`, Simonyan & Zisserman 2015) and ``mobilenet``
(:mod:`~neurodeploy.quant.zoo_mobilenet`, Howard et al. 2017 / Sandler et al. 2018).

Only these module types appear: :func:`~neurodeploy.quant.layers.qconv2d` / ``qlinear`` (Brevitas, int8
power-of-two weights and bias), :class:`~neurodeploy.quant.qcfs.QCFS` (Bu et al., ICLR 2022), ``nn.AvgPool2d(2)``,
``nn.AdaptiveAvgPool2d(1)`` and ``nn.Flatten`` (plus the containers holding them). No BatchNorm is used, so no
folding step is needed and conversion can be exact. The last layer is a linear read-out with no activation.
Every zoo model takes ``levels`` and ``input_shape``; a user's ``"module:function"`` factory may take them too
(:mod:`~neurodeploy.quant.factory`). Models are rebuilt from JSON-able keyword arguments, which is what
checkpoints store. Each zoo model's default training recipe is :func:`recipe` (:mod:`~neurodeploy.quant.recipes`).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from brevitas.nn import QuantConv2d, QuantLinear
from torch import nn

from neurodeploy.quant.factory import call_factory, resolve_factory
from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.qcfs import QCFS
from neurodeploy.quant.recipes import recipe
from neurodeploy.quant.zoo_common import image_shape
from neurodeploy.quant.zoo_mobilenet import mobilenet
from neurodeploy.quant.zoo_resnet import resnet
from neurodeploy.quant.zoo_vgg import vgg

__all__ = ["mlp", "cnn", "resnet", "vgg", "mobilenet", "build_model", "recipe", "MODELS", "ALLOWED_MODULES"]

#: The module types a zoo model may contain (the converter's contract; containers aside).
ALLOWED_MODULES: tuple[type[nn.Module], ...] = (
    QuantConv2d, QuantLinear, QCFS, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.BatchNorm1d,
    nn.BatchNorm2d,
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
    input_shape: Sequence[int] | None = None,
) -> nn.Sequential:
    """MLP: ``in_features`` → [qlinear, QCFS] per hidden width → qlinear logits.

    With ``input_shape`` the input size is its product (it must agree with a non-default ``in_features``),
    and a multi-dimensional input is flattened first.
    """
    layers: list[nn.Module] = []
    if input_shape is not None:
        size = math.prod(int(s) for s in input_shape)
        if in_features not in (64, size):
            raise ValueError(f"mlp: in_features={in_features} contradicts input_shape {tuple(input_shape)}")
        in_features = size
        if len(input_shape) > 1:
            layers.append(nn.Flatten())
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
    input_shape: Sequence[int] = (1, 28, 28),
) -> nn.Sequential:
    """CNN (MNIST 1×28×28 by default): 2× [qconv k5 pad2, QCFS, AvgPool2d(2)], Flatten, qlinear+QCFS, qlinear."""
    channels_in, height, width = image_shape(input_shape, "cnn")
    c1, c2 = (int(c) for c in channels)
    return nn.Sequential(
        qconv2d(channels_in, c1, 5, padding=2),
        _act(levels, init_lambda, power_of_two, shift),
        nn.AvgPool2d(2),
        qconv2d(c1, c2, 5, padding=2),
        _act(levels, init_lambda, power_of_two, shift),
        nn.AvgPool2d(2),
        nn.Flatten(),
        qlinear(c2 * (height // 4) * (width // 4), int(hidden)),
        _act(levels, init_lambda, power_of_two, shift),
        qlinear(int(hidden), num_classes),
    )


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp, "cnn": cnn, "resnet": resnet, "vgg": vgg, "mobilenet": mobilenet,
}


def build_model(name_or_factory: str, **config: Any) -> nn.Module:
    """Build zoo model ``name_or_factory`` or call the user's ``"module:function"`` factory with ``config``.

    Raises a one-line ``ValueError`` naming the model or factory when it cannot be found, fails, or does not
    return an ``nn.Module`` (see :mod:`neurodeploy.quant.factory`).
    """
    factory = resolve_factory(name_or_factory, MODELS)
    return call_factory(name_or_factory, factory, config)
