"""Checkpoints: ``model.pt`` (state_dict only) + ``config.json`` (+ ``metrics.json``), written atomically.

``config.json`` holds everything needed to rebuild the model through
:func:`neurodeploy.quant.models.build_model`: ``model`` (zoo name or a user's ``module:function`` factory),
``model_config`` (its keyword arguments), ``input_shape`` (how dataset inputs are shown to the model),
``levels``, the data contract (``dataset``: a built-in name or the resolved path of the user's data,
``dataset_sha256``: its fingerprint, ``class_names``, ``input_bits``, ``input_scale``, ``input_encoding``:
``{"kind": "uint8" | "quantised" | "integer", "step": ...}``, ``train_samples``), ``seed``, ``versions``,
``model_sha256`` (the SHA-256 of ``model.pt``) and ``config_sha256`` (the SHA-256 of the rest of the config, canonical JSON), both checked on
load. These hashes catch edits and corruption, not forgery: whoever can write the folder can rehash it.

Loading never unpickles anything beyond ``torch.load(..., weights_only=True)``. Before the real model is built,
it is built on PyTorch's ``meta`` device (shapes only, no memory) and its state_dict shapes are compared with
the saved tensors, so a config asking for a huge model is refused without allocating it (a user factory that
cannot run on the meta device skips this step). A factory checkpoint
imports and runs the named factory (see :mod:`neurodeploy.quant.factory`).
"""
from __future__ import annotations

import hashlib
import io
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurodeploy.atomic import atomic_dir, write_bytes, write_json
from neurodeploy.quant import layers
from neurodeploy.quant.models import build_model

__all__ = ["save_checkpoint", "load_checkpoint", "config_digest", "CheckpointError", "MODEL_FILE", "CONFIG_FILE",
           "METRICS_FILE"]

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
FORMAT_VERSION = 1
_REQUIRED = ("model", "model_config")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be loaded (the message is one line and names the problem)."""


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "torch": torch.__version__}
    for dist in ("brevitas", "neurodeploy", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def config_digest(config: dict[str, Any]) -> str:
    """SHA-256 of ``config`` without its ``config_sha256`` key, as sorted, compact JSON."""
    body = {k: v for k, v in config.items() if k != "config_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_checkpoint(folder: str | Path, model: nn.Module, config: dict[str, Any], metrics: dict[str, Any]) -> Path:
    """Write ``model``'s state_dict, ``config`` and ``metrics`` to ``folder`` as a whole (atomically).

    ``config`` must contain ``model`` and ``model_config`` and be JSON-serialisable; ``versions``,
    ``format``, ``quant_bits``, ``model_sha256`` and ``config_sha256`` are added.
    """
    missing = [k for k in _REQUIRED if k not in config]
    if missing:
        raise ValueError(f"config lacks required keys {missing}")
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    blob = buffer.getvalue()
    full = dict(config)
    full.setdefault("versions", _versions())
    full["format"] = FORMAT_VERSION
    full["quant_bits"] = {"weight": layers.WEIGHT_BITS, "bias": layers.BIAS_BITS}
    full["model_sha256"] = hashlib.sha256(blob).hexdigest()
    full["config_sha256"] = config_digest(full)  # also fails before touching the disk if not JSON-able
    json.dumps(metrics)
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        write_bytes(tmp / MODEL_FILE, blob)
        write_json(tmp / CONFIG_FILE, full)
        write_json(tmp / METRICS_FILE, metrics)
    return folder


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"checkpoint {folder}: missing {CONFIG_FILE}")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {folder}: {CONFIG_FILE} is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"checkpoint {folder}: {CONFIG_FILE} is not a JSON object")
    missing = [k for k in (*_REQUIRED, "model_sha256", "config_sha256") if k not in config]
    if missing:
        raise CheckpointError(f"checkpoint {folder}: {CONFIG_FILE} lacks keys {missing}")
    if not isinstance(config["model_config"], dict):
        raise CheckpointError(f"checkpoint {folder}: model_config in {CONFIG_FILE} is not an object")
    if not isinstance(config["model"], str):
        raise CheckpointError(f"checkpoint {folder}: model in {CONFIG_FILE} is not a string")
    try:
        digest = config_digest(config)
    except ValueError as exc:  # NaN/infinity in the JSON
        raise CheckpointError(f"checkpoint {folder}: {CONFIG_FILE} cannot be hashed ({exc})") from None
    if digest != config["config_sha256"]:
        raise CheckpointError(
            f"checkpoint {folder}: {CONFIG_FILE} SHA-256 {digest} does not match its config_sha256 "
            f"({config['config_sha256']}); the file was modified"
        )
    return config


def _check_state(model: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        raise CheckpointError(f"{where}: state_dict mismatch, missing key {missing[0]!r}")
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        raise CheckpointError(f"{where}: state_dict mismatch, unexpected key {unexpected[0]!r}")
    for key, value in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise CheckpointError(
                f"{where}: state_dict mismatch at key {key!r}: expected shape {tuple(value.shape)}, got {shape}"
            )


def _read_state(folder: Path, blob: bytes) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {folder}: cannot read {MODEL_FILE}: {first}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {folder}: {MODEL_FILE} does not hold a state_dict")
    return state


def _build(folder: Path, config: dict[str, Any], device: str) -> nn.Module:
    try:
        with torch.device(device):
            return build_model(config["model"], **config["model_config"])
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {folder}: cannot build model: {exc}") from None


def load_checkpoint(folder: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``folder``; returns ``(model in eval mode, config)``.

    Raises :class:`CheckpointError` (one line) for a missing folder or file, bad JSON, an edited config
    (``config_sha256``), a ``model.pt`` whose SHA-256 differs from the config, an unknown model name or failing
    factory, or a state_dict that does not fit the model (checked on the ``meta`` device first).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    config = _read_config(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise CheckpointError(f"checkpoint {folder}: missing {MODEL_FILE}")
    blob = model_path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != config["model_sha256"]:
        raise CheckpointError(
            f"checkpoint {folder}: {MODEL_FILE} SHA-256 {digest} does not match config.json "
            f"({config['model_sha256']}); the file was modified"
        )
    bits = {"weight": layers.WEIGHT_BITS, "bias": layers.BIAS_BITS}
    if config.get("quant_bits", bits) != bits:
        raise CheckpointError(
            f"checkpoint {folder}: saved with quantizer bit widths {config['quant_bits']}, "
            f"but this code uses {bits}; the effective weights/biases would differ"
        )
    state = _read_state(folder, blob)
    try:
        skeleton = _build(folder, config, "meta")  # shapes only, no memory
    except CheckpointError:
        skeleton = None  # a factory that cannot run on the meta device: the real build below reports errors
    if skeleton is not None:
        _check_state(skeleton, state, f"checkpoint {folder}")
    model = _build(folder, config, "cpu")
    _check_state(model, state, f"checkpoint {folder}")
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, config
