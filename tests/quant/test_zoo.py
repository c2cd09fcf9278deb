"""The DAG zoo (ResNet, VGG, MobileNet) and the training recipes.

Proves: every zoo model builds for MNIST 1×28×28 and digits-as-1×8×8, forward-passes to 10 logits and holds
only the allowed module types; the ResNet block's residual sum is a real ``add`` (torch.fx sees it) with an
identity shortcut when shapes match and a 1×1 stride-2 qconv when they do not; MobileNet has depthwise
qconvs and an inverted-residual ``add``; VGG has ≥ 8 convs; global average pools see power-of-two areas and
untrained zoo models convert exactly; ``qconv2d`` keeps its defaults with the new ``groups``; every zoo model
has a recipe for both datasets (usable as ``**recipe``); a short seeded digits run of ``resnet`` learns and
is reproducible, records ``input_shape`` and reloads.
"""
from __future__ import annotations

import math
import operator
from pathlib import Path

import pytest
import torch
from brevitas.nn import QuantConv2d, QuantLinear
from torch import fx, nn

from neurodeploy.data.digits import load_digits_split
from neurodeploy.quant.checkpoint import load_checkpoint
from neurodeploy.quant.layers import qconv2d
from neurodeploy.quant.models import ALLOWED_MODULES, MODELS, build_model
from neurodeploy.quant.qcfs import QCFS
from neurodeploy.quant.recipes import GENERIC, RECIPES, recipe
from neurodeploy.quant.train import evaluate, reshape_inputs, train
from neurodeploy.quant.zoo_mobilenet import InvertedResidual
from neurodeploy.quant.zoo_resnet import BasicBlock

DAG_MODELS = ("resnet", "vgg", "mobilenet")


class _LeafTracer(fx.Tracer):
    """torch.fx tracer that keeps Brevitas layers and QCFS as opaque calls (as a converter front end would)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, (QuantConv2d, QuantLinear, QCFS)) or super().is_leaf_module(m, qualname)


def _layers(module: nn.Module) -> list[nn.Module]:
    """The model's layers: allowed modules as units (not Brevitas' internals), containers opened."""
    if isinstance(module, ALLOWED_MODULES) or not list(module.children()):
        return [module]
    return [layer for child in module.children() for layer in _layers(child)]


def _has_add(module: nn.Module) -> bool:
    graph = _LeafTracer().trace(module)
    return any(n.op == "call_function" and n.target in (operator.add, torch.add) for n in graph.nodes)
SHAPES = ((1, 28, 28), (1, 8, 8))


@pytest.mark.parametrize("shape", SHAPES, ids=["mnist", "digits"])
@pytest.mark.parametrize("name", DAG_MODELS)
def test_builds_and_forwards(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = build_model(name, levels=4, input_shape=list(shape)).eval()
    layers = _layers(model)
    assert layers and all(isinstance(m, ALLOWED_MODULES) for m in layers), {type(m).__name__ for m in layers}
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in layers)
    with torch.no_grad():
        logits = model(torch.rand(3, *shape))
    assert logits.shape == (3, 10) and torch.isfinite(logits).all()
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if pools:  # the global average must divide by a power of two for an exact conversion
        seen: list[int] = []
        pools[0].register_forward_hook(lambda _m, inp, _o: seen.append(inp[0].shape[-1] * inp[0].shape[-2]))
        with torch.no_grad():
            model(torch.rand(1, *shape))
        assert math.frexp(seen[0])[0] == 0.5, seen


@pytest.mark.parametrize("name", DAG_MODELS)
def test_converts_exactly(name: str) -> None:
    from neurodeploy.convert.from_brevitas import network_from_brevitas
    from neurodeploy.convert.integerize import integerize
    from neurodeploy.convert.stages import InputSpec

    for shape, bits, scale in (((1, 28, 28), 8, 1 / 256), ((1, 8, 8), 5, 1 / 16)):
        torch.manual_seed(0)
        model = build_model(name, input_shape=list(shape)).eval()
        _, report = integerize(network_from_brevitas(model, InputSpec(shape, bits, scale)))
        assert report.exact, (name, shape)


def test_resnet_blocks_and_real_add() -> None:
    model = build_model("resnet", input_shape=[1, 8, 8], blocks=[2, 1, 1])
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert [b.shortcut is None for b in blocks] == [True, True, False, False]
    shortcut = blocks[2].shortcut
    assert isinstance(shortcut, QuantConv2d) and shortcut.kernel_size == (1, 1) and shortcut.stride == (2, 2)
    assert _has_add(blocks[0]) and _has_add(blocks[2]) and _has_add(model)


def test_mobilenet_depthwise_and_inverted_residual() -> None:
    model = build_model("mobilenet", input_shape=[1, 8, 8])
    convs = [m for m in model.modules() if isinstance(m, QuantConv2d)]
    depthwise = [c for c in convs if c.groups > 1]
    assert depthwise and all(c.groups == c.in_channels == c.out_channels for c in depthwise)
    block = next(m for m in model.modules() if isinstance(m, InvertedResidual))
    assert _has_add(block) and _has_add(model)
    # default: one inverted residual in the last stage only (3 separable + 1 inverted depthwise convs)
    assert len(depthwise) == 4 and len([m for m in model.modules() if isinstance(m, InvertedResidual)]) == 1
    every_stage = build_model("mobilenet", input_shape=[1, 8, 8], inverted=1)
    assert len([m for m in every_stage.modules() if isinstance(m, InvertedResidual)]) == 3


def test_vgg_depth() -> None:
    model = build_model("vgg", input_shape=[1, 28, 28])
    assert sum(isinstance(m, QuantConv2d) for m in model.modules()) >= 8
    assert sum(isinstance(m, nn.AvgPool2d) for m in model.modules()) == 2


def test_qconv2d_groups_default() -> None:
    assert qconv2d(4, 8, 3).groups == 1
    dw = qconv2d(8, 8, 3, padding=1, groups=8)
    assert tuple(dw.weight.shape) == (8, 1, 3, 3)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="resnet: input_shape"):
        build_model("resnet", input_shape=[64])
    with pytest.raises(ValueError, match="vgg: 2 poolings"):
        build_model("vgg", input_shape=[1, 3, 3])
    with pytest.raises(ValueError, match="cannot be viewed"):
        reshape_inputs(torch.zeros(2, 64).numpy(), (1, 7, 7))


def test_every_zoo_model_has_recipes() -> None:
    for name in MODELS:
        for dataset in ("digits", "mnist"):
            r = recipe(name, dataset)
            assert r.epochs > 0 and r.lr > 0 and r.batch_size > 0 and (name, dataset) in RECIPES
            assert math.prod(r.input_shape) == (64 if dataset == "digits" else 784)
            assert set(dict(**r)) == {"epochs", "lr", "batch_size", "input_shape"}  # train(**recipe(...))
    assert recipe("mynets:tiny", "digits") == GENERIC["digits"]
    with pytest.raises(ValueError, match="no training recipe"):
        recipe("resnet", "cifar10")


def test_resnet_digits_short_run_learns(tmp_path: Path) -> None:
    data = load_digits_split()
    kw = dict(levels=4, epochs=2, lr=5e-3, batch_size=64, seed=1, progress=False)
    _, hist = train("resnet", data, out=tmp_path / "ck", **kw)
    _, again = train("resnet", data, **kw)
    assert hist["test_acc"] > 0.5  # chance is 0.1
    assert hist["val_acc"] == again["val_acc"] and hist["train_loss"] == again["train_loss"]
    loaded, config = load_checkpoint(tmp_path / "ck")
    assert config["input_shape"] == [1, 8, 8] and config["model_config"]["input_shape"] == [1, 8, 8]
    assert config["model"] == "resnet" and config["train"]["epochs"] == 2
    x_test = reshape_inputs(data.x_test, config["input_shape"])
    assert evaluate(loaded, x_test, data.y_test, data.input_scale) == hist["test_acc"]
