"""A tiny QAT run on digits learns, is reproducible for a seed, and saves a loadable checkpoint.

Proves: 2 epochs of the QCFS MLP beat chance by far; two runs with the same seed give identical weights and
history; ``out=`` writes a checkpoint whose reloaded model has the reported accuracy; λ stays a power of two;
``evaluate`` leaves the training flag unchanged.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from neurodeploy.data.digits import load_digits_split
from neurodeploy.quant.checkpoint import load_checkpoint
from neurodeploy.quant.noise import qcfs_layers
from neurodeploy.quant.train import evaluate, train


def test_tiny_run_learns_and_is_deterministic(tmp_path: Path) -> None:
    data = load_digits_split()
    kw = dict(levels=4, epochs=2, lr=1e-2, batch_size=128, seed=7, progress=False, model_config={"hidden": [32]})
    m1, h1 = train("mlp", data, out=tmp_path / "ck", **kw)
    m2, h2 = train("mlp", data, **kw)
    assert h1["test_acc"] > 0.5  # chance is 0.1
    assert h1["val_acc"] == h2["val_acc"] and h1["train_loss"] == h2["train_loss"]
    for key, value in m1.state_dict().items():
        assert torch.equal(value, m2.state_dict()[key]), key
    for layer in qcfs_layers(m1):
        assert math.frexp(layer.lambda_value())[0] == 0.5
    loaded, config = load_checkpoint(tmp_path / "ck")
    assert config["dataset"] == "digits" and config["input_scale"] == 1 / 16 and config["levels"] == 4
    assert evaluate(loaded, data.x_test, data.y_test, data.input_scale) == h1["test_acc"]
    m1.train()
    evaluate(m1, data.x_test, data.y_test, data.input_scale)
    assert m1.training


def test_noise_requires_estimator() -> None:
    with pytest.raises(ValueError, match="sigma_estimator"):
        train("mlp", "digits", levels=4, epochs=1, lr=1e-3, batch_size=64, seed=0, progress=False, noise=True)


def test_noise_hook_is_called() -> None:
    calls: list[int] = []

    def estimator(model: torch.nn.Module, x: object, y: object, scale: float) -> list[float]:
        calls.append(len(y))  # type: ignore[arg-type]
        return [0.125] * len(qcfs_layers(model))

    _, hist = train("mlp", "digits", levels=4, epochs=1, lr=3e-3, batch_size=256, seed=0, progress=False,
                    noise=True, sigma_estimator=estimator, model_config={"hidden": [16]})
    assert calls == [135] and hist["sigmas"] == [[0.125]]
