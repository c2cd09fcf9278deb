"""Hooks for NQ training (Huang et al., arXiv 2404.17456; docs/methods.md §2).

NQ adds zero-mean Gaussian noise ``σ_l·ε`` to every QCFS output in training mode. The σ estimation loop
(an SNN pass over a held-out split with the integer simulator) lives elsewhere; this module only finds the
QCFS layers of a model and reads/sets their σ.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from neurodeploy.quant.qcfs import QCFS

__all__ = ["qcfs_layers", "set_noise", "get_noise"]


def qcfs_layers(model: nn.Module) -> list[QCFS]:
    """All :class:`QCFS` modules of ``model`` in forward (registration) order."""
    return [m for m in model.modules() if isinstance(m, QCFS)]


def set_noise(model: nn.Module, sigmas: Sequence[float]) -> None:
    """Set one σ per QCFS layer, in order; ``len(sigmas)`` must equal the number of QCFS layers."""
    layers = qcfs_layers(model)
    if len(sigmas) != len(layers):
        raise ValueError(f"got {len(sigmas)} sigmas for {len(layers)} QCFS layers")
    for layer, sigma in zip(layers, sigmas):
        layer.set_noise_sigma(float(sigma))


def get_noise(model: nn.Module) -> list[float]:
    """The current σ of every QCFS layer, in order."""
    return [float(layer.noise_sigma) for layer in qcfs_layers(model)]
