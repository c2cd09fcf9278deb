"""Bias calibration, BC / "light" (CAL section 5.3; Li et al., arXiv 2205.10121).

Layers in forward order (see :mod:`neurodeploy.calibrate.layerwise`), per output channel ``c``::

    b_c  <-  b_c - mean_{batch, H, W}( sbar - a )_c          sbar = N * theta / T

in real units (the float stage's bias is the per-step drive, so shifting it by ``delta``
shifts the mean per-step input by ``delta``).  The new real bias is then re-integerised
(``bias_mant * 2**bias_exp ~ b_eff * Theta``, nearest), so the integer rounding of the bias
is the only approximation left.  The per-step shift ``theta/(2T)`` of CAL is *not* in the
bias: it is the initial potential ``theta/2`` (``v0_fraction = 1/2``, see ``from_float``).
A stage whose SNN already matches (``sbar == a``) is returned unchanged (fixed point).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurodeploy.calibrate.layerwise import LayerStats, SimConfig, calibrate_layers
from neurodeploy.convert.stages import FloatNetwork, FloatStage


def bias_update(stage: FloatStage, a: np.ndarray, counts: np.ndarray, theta_int: int, steps: int) -> FloatStage:
    """``b_c <- b_c - mean_{batch,spatial}(N theta / T - a)_c``; identity when the error is 0."""
    err = counts * (float(stage.threshold) / steps) - a
    axes = (0,) + tuple(range(2, err.ndim))          # everything but the channel axis
    delta = err.mean(axis=axes)
    if not np.any(delta):
        return stage
    return replace(stage, bias=np.asarray(stage.bias, np.float64) - delta,
                   meta={**stage.meta, "calibrated": "bias"})


def calibrate_bias(net: FloatNetwork, x_int: np.ndarray, steps: int, *, cfg: SimConfig | None = None,
                   targets: list[np.ndarray] | None = None) -> tuple[FloatNetwork, list[LayerStats]]:
    """Bias-calibrated copy of ``net`` (thresholds must be set) and per-layer error before each update."""
    return calibrate_layers(net, x_int, cfg or SimConfig(steps), bias_update, targets, label="bias")
