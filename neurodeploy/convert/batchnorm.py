"""Fold an inference-mode BatchNorm into the synapses summed before it (shared by both routes).

Per output channel ``c`` with ``g_c = gamma_c / sqrt(var_c + eps)`` (Li et al., arXiv 2205.10121,
section "BN folding"; standard Ioffe & Szegedy algebra), for a pending sum
``z = sum_i (W_i (*) s_i + b_i)``::

    BN(z)_c = g_c (z_c - mean_c) + beta_c
            = sum_i (g_c W_i,c (*) s_i + g_c b_i,c)  +  (beta_c - g_c mean_c)

so every branch is scaled by ``g`` and the constant goes into the first branch's bias; exact in
real arithmetic (float64 here).  A folded branch generally leaves the power-of-two grid, so on
the QAT route the integer mapping becomes inexact, which :func:`integerize` reports.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from neurodeploy.convert.stages import FloatSynapse


def fold_batchnorm(terms: tuple[FloatSynapse, ...], bn: Any, name: str) -> tuple[FloatSynapse, ...]:
    """``terms`` with the BatchNorm module ``bn`` (running statistics) folded in (see module doc)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{name}: BatchNorm without running statistics cannot be folded")
    mean = bn.running_mean.detach().double().numpy()
    var = bn.running_var.detach().double().numpy()
    gamma = bn.weight.detach().double().numpy() if bn.affine else np.ones_like(mean)
    beta = bn.bias.detach().double().numpy() if bn.affine else np.zeros_like(mean)
    channels = terms[0].weight.shape[0]
    if mean.shape[0] != channels:
        raise ValueError(f"{name}: BatchNorm has {mean.shape[0]} channels, the preceding synapse "
                         f"{terms[0].module or terms[0].source!r} has {channels}")
    g = gamma / np.sqrt(var + bn.eps)
    out = []
    for i, t in enumerate(terms):
        shape = (-1,) + (1,) * (t.weight.ndim - 1)
        bias = np.asarray(t.bias, np.float64) * g + (beta - mean * g if i == 0 else 0.0)
        out.append(replace(t, weight=np.asarray(t.weight, np.float64) * g.reshape(shape), bias=bias,
                           identity=False, meta={**t.meta, "batchnorm": name}))
    return tuple(out)
