"""User model factories (``module:function``) and checkpoints of DAG models.

Proves: ``build_model`` imports a factory module from the working directory (without leaving it on
``sys.path``) and calls it with the keyword arguments; training a factory records ``model`` and only the
keywords it takes, and ``load_checkpoint`` rebuilds it bit for bit; a zoo DAG model (MobileNet, with depthwise
convs and a residual ``+``) round-trips too; a config asking for a terabyte model is refused by the meta-device
shape check before anything is allocated; a malformed name, a missing module or function, a non-callable, a
standard-library callable, a raising factory and a non-module result are each refused with one ``ValueError``
line naming the factory, and a checkpoint whose factory cannot be imported with a ``CheckpointError``.
"""
from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import torch

from neurodeploy.data.digits import load_digits_split
from neurodeploy.quant.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from neurodeploy.quant.models import build_model
from neurodeploy.quant.train import reshape_inputs, train

FACTORY_SOURCE = '''
import torch
from torch import nn
from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.qcfs import QCFS

class Tiny(nn.Module):
    """conv → QCFS → conv + skip → QCFS → global pool → linear."""

    def __init__(self, levels, input_shape, width):
        super().__init__()
        self.conv1 = qconv2d(input_shape[0], width, 3, padding=1)
        self.act1 = QCFS(levels)
        self.conv2 = qconv2d(width, width, 3, padding=1)
        self.act2 = QCFS(levels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = qlinear(width, 10)

    def forward(self, x):
        h = self.act1(self.conv1(x))
        return self.fc(self.flat(self.pool(self.act2(self.conv2(h) + h))))

def tiny(levels=4, input_shape=(1, 8, 8), width=4):
    return Tiny(levels, input_shape, width)

def plain():
    return nn.Sequential(qlinear(64, 10))

def boom(**kwargs):
    raise RuntimeError("boom\\nsecond line")

def not_module():
    return 42

CONSTANT = 3
'''


@pytest.fixture()
def factory_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh module file in a temporary working directory; returns its (unique) module name."""
    name = f"usernets_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(FACTORY_SOURCE))
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


def test_factory_builds_from_cwd(factory_module: str, tmp_path: Path) -> None:
    path_before = list(sys.path)
    model = build_model(f"{factory_module}:tiny", levels=2, width=3)
    assert sys.path == path_before and str(tmp_path) not in sys.path
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    assert model.act1.levels == 2 and model.conv1.out_channels == 3


def test_factory_train_and_checkpoint_round_trip(factory_module: str, tmp_path: Path) -> None:
    data = load_digits_split()
    spec = f"{factory_module}:tiny"
    model, _ = train(spec, data, levels=4, seed=0, epochs=1, lr=1e-2, batch_size=128, progress=False,
                        input_shape=(1, 8, 8), model_config={"width": 4}, out=tmp_path / "ck")
    loaded, config = load_checkpoint(tmp_path / "ck")
    assert config["model"] == spec and config["input_shape"] == [1, 8, 8]
    assert config["model_config"] == {"width": 4, "levels": 4, "input_shape": [1, 8, 8]}
    x = torch.as_tensor(reshape_inputs(data.x_test[:50], config["input_shape"])).float() * data.input_scale
    assert torch.equal(loaded(x), model(x))
    _, plain_hist = train(f"{factory_module}:plain", data, levels=4, seed=0, epochs=1, progress=False,
                          out=tmp_path / "plain")
    _, plain_config = load_checkpoint(tmp_path / "plain")
    assert plain_config["model_config"] == {} and plain_config["input_shape"] == [64]  # takes neither keyword
    assert 0.0 <= plain_hist["test_acc"] <= 1.0


def test_checkpoint_with_unimportable_factory(factory_module: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_model(f"{factory_module}:tiny")
    config = {"model": f"{factory_module}:tiny", "model_config": {}, "input_shape": [1, 8, 8]}
    save_checkpoint(tmp_path / "ck", model, config, {})
    sys.modules.pop(factory_module, None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(CheckpointError, match=f"cannot build model: model factory '{factory_module}:tiny': "
                                              "cannot import") as info:
        load_checkpoint(tmp_path / "ck")
    assert "\n" not in str(info.value)


def test_zoo_dag_round_trip_and_huge_config_refused(tmp_path: Path, edit_config) -> None:
    torch.manual_seed(0)
    model = build_model("mobilenet", levels=4, input_shape=[1, 8, 8])
    config = {"model": "mobilenet", "model_config": {"levels": 4, "input_shape": [1, 8, 8]},
              "input_shape": [1, 8, 8]}
    folder = save_checkpoint(tmp_path / "ck", model, config, {})
    loaded, _ = load_checkpoint(folder)
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(loaded(x), model.eval()(x))
    # ~10^12 parameters: only the meta-device build can look at this without running out of memory
    edit_config(folder, lambda c: c["model_config"].update(widths=[8, 16, 1_000_000]))
    with pytest.raises(CheckpointError, match="state_dict mismatch at key"):
        load_checkpoint(folder)


@pytest.mark.parametrize(("spec", "message"), [
    ("no spec", "unknown model name 'no spec'"),
    ("resnet50", "unknown model name 'resnet50'"),
    ("nosuch_module_zz:f", "model factory 'nosuch_module_zz:f': cannot import 'nosuch_module_zz'"),
    ("{mod}:missing", "model factory '{mod}:missing': module '{mod}' has no attribute 'missing'"),
    ("{mod}:CONSTANT", "model factory '{mod}:CONSTANT': 'CONSTANT' is a int, not callable"),
    ("{mod}:boom", "model factory '{mod}:boom' failed with {{}}: RuntimeError: boom"),
    ("{mod}:not_module", "model factory '{mod}:not_module' returned int, expected a torch nn.Module"),
    ("os:system", "model factory 'os:system': 'os' is a standard-library module"),
])
def test_bad_factories_are_refused(factory_module: str, spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_model(spec.format(mod=factory_module))
    text = str(info.value)
    assert message.format(mod=factory_module) in text and "\n" not in text
