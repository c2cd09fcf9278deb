"""Lava backend (lava-nc 0.10.0, Loihi2SimCfg fixed_pt).

Importing this package never imports Lava; ``LavaBackend`` is resolved lazily.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "LavaBackend":
        from neurodeploy.backends.lava.backend import LavaBackend
        return LavaBackend
    raise AttributeError(name)
