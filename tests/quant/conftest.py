"""Shared helpers for the quant tests."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neurodeploy.quant.checkpoint import config_digest

ConfigEditor = Callable[..., None]


def _edit_config(folder: Path, change: Callable[[dict[str, Any]], None], rehash: bool = True) -> None:
    """Apply ``change`` to ``folder``'s config.json and (by default) refresh its ``config_sha256``."""
    config = json.loads((folder / "config.json").read_text())
    change(config)
    if rehash:
        config["config_sha256"] = config_digest(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.fixture()
def edit_config() -> ConfigEditor:
    """``edit_config(folder, change, rehash=True)``: edit a checkpoint's config.json in place."""
    return _edit_config
