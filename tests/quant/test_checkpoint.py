"""Checkpoints round-trip exactly and refuse damaged folders with one-line errors.

Proves: save → load rebuilds the same model (identical state_dict and outputs) from ``config.json`` and a
weights-only ``model.pt``; a missing file, bad JSON, a hand-edited ``config.json`` (``config_sha256``), an
unknown model name, a modified ``model.pt`` (SHA-256 check) and a state_dict that does not fit the model (key
named) are each refused with a ``CheckpointError``.  (DAG zoo models and user factories: test_factory.py.)
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
import torch

from neurodeploy.quant.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from neurodeploy.quant.models import build_model
from neurodeploy.quant.noise import set_noise

CONFIG = {"model": "mlp", "model_config": {"levels": 4, "hidden": [16, 8]}, "levels": 4, "dataset": "digits",
          "input_bits": 5, "input_scale": 1 / 16, "seed": 0}


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = build_model("mlp", levels=4, hidden=[16, 8])
    set_noise(model, [0.0, 0.125])
    folder = save_checkpoint(tmp_path / "ck", model, CONFIG, {"test_acc": 0.5})
    return folder, model


def test_round_trip(saved: tuple[Path, torch.nn.Module]) -> None:
    folder, model = saved
    loaded, config = load_checkpoint(folder)
    assert config["input_scale"] == 1 / 16 and config["model"] == "mlp" and "torch" in config["versions"]
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x = torch.randint(0, 17, (5, 64)).float() / 16
    assert torch.equal(loaded(x), model.eval()(x))
    assert json.loads((folder / "metrics.json").read_text()) == {"test_acc": 0.5}
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers


@pytest.mark.parametrize("name", ["model.pt", "config.json"])
def test_missing_file(saved: tuple[Path, torch.nn.Module], name: str) -> None:
    folder, _ = saved
    (folder / name).unlink()
    with pytest.raises(CheckpointError, match=f"missing {name}"):
        load_checkpoint(folder)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(folder / "nope")


def test_bad_json(saved: tuple[Path, torch.nn.Module]) -> None:
    folder, _ = saved
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(folder)


def test_edited_config_is_refused(saved: tuple[Path, torch.nn.Module], edit_config) -> None:
    folder, _ = saved
    edit_config(folder, lambda c: c.update(input_scale=1 / 8), rehash=False)
    with pytest.raises(CheckpointError, match="config.json SHA-256 .* the file was modified"):
        load_checkpoint(folder)


def test_unknown_model(saved: tuple[Path, torch.nn.Module], edit_config) -> None:
    folder, _ = saved
    edit_config(folder, lambda c: c.update(model="transformer"))
    with pytest.raises(CheckpointError, match="unknown model name 'transformer'"):
        load_checkpoint(folder)


def test_tampered_weights(saved: tuple[Path, torch.nn.Module]) -> None:
    folder, _ = saved
    blob = bytearray((folder / "model.pt").read_bytes())
    blob[len(blob) // 2] ^= 0x01
    (folder / "model.pt").write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(folder)


def test_state_dict_mismatch_names_key(saved: tuple[Path, torch.nn.Module], edit_config) -> None:
    folder, _ = saved
    edit_config(folder, lambda c: c["model_config"].update(hidden=[16, 9]))
    with pytest.raises(CheckpointError, match=r"key '2\.weight'") as info:
        load_checkpoint(folder)
    assert "\n" not in str(info.value)


def test_not_a_weights_file(saved: tuple[Path, torch.nn.Module], edit_config) -> None:
    folder, _ = saved
    buffer = io.BytesIO()
    torch.save({"x": 1}, buffer)  # still weights-only loadable but not our state_dict
    blob = buffer.getvalue()
    (folder / "model.pt").write_bytes(blob)
    edit_config(folder, lambda c: c.update(model_sha256=hashlib.sha256(blob).hexdigest()))
    with pytest.raises(CheckpointError, match="state_dict mismatch"):
        load_checkpoint(folder)


def test_bit_width_mismatch(saved: tuple[Path, torch.nn.Module], edit_config) -> None:
    folder, _ = saved
    edit_config(folder, lambda c: c["quant_bits"].update(bias=3))
    with pytest.raises(CheckpointError, match="bit widths"):
        load_checkpoint(folder)
