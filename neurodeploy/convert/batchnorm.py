"""Fold an inference-mode BatchNorm into the preceding synapse (shared by both import routes).

Per output channel ``c`` with ``g_c = gamma_c / sqrt(var_c + eps)`` (Li et al., arXiv 2205.10121,
section "BN folding"; standard Ioffe & Szegedy algebra)::

    W'_c = W_c * g_c          b'_c = (b_c - mean_c) * g_c + beta_c

so ``BN(W x + b) == W' x + b'`` exactly in real arithmetic (float64 here; the float side of the
conversion, tested to ~1e-5 relative in float32 torch).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from neurodeploy.convert.stages import FloatStage


def fold_batchnorm(stage: FloatStage, bn: Any, name: str) -> FloatStage:
    """``stage`` with the BatchNorm module ``bn`` (running statistics) folded into W and b."""
    gamma = bn.weight.detach().double().numpy() if bn.affine else 1.0
    beta = bn.bias.detach().double().numpy() if bn.affine else 0.0
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"layer {name!r}: BatchNorm without running statistics cannot be folded")
    mean = bn.running_mean.detach().double().numpy()
    var = bn.running_var.detach().double().numpy()
    if mean.shape[0] != stage.weight.shape[0]:
        raise ValueError(f"layer {name!r}: BatchNorm has {mean.shape[0]} channels, "
                         f"the preceding layer {stage.name!r} has {stage.weight.shape[0]}")
    g = gamma / np.sqrt(var + bn.eps)
    shape = (-1,) + (1,) * (stage.weight.ndim - 1)
    return replace(stage, weight=stage.weight * g.reshape(shape), bias=(stage.bias - mean) * g + beta,
                   meta={**stage.meta, "batchnorm": name})
