"""Backend lookup through the ``neurodeploy.targets`` entry points; only the requested
backend is imported (no registration by import side effect)."""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any


def available_backends() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="neurodeploy.targets"))


def get_backend(name: str) -> Any:
    """An instance of the backend registered as ``name``."""
    for ep in entry_points(group="neurodeploy.targets"):
        if ep.name == name:
            return ep.load()()
    raise ValueError(f"unknown target {name!r}; installed: {', '.join(available_backends())}")
