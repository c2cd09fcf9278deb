"""Bias calibration, BC / "light" (CAL section 5.3; Li et al., arXiv 2205.10121).

Populations in forward order (see :mod:`neurodeploy.calibrate.layerwise`), per output channel ``c``::

    b_c  <-  b_c - mean_{batch, H, W}( sbar - a )_c          sbar = N * theta / T

in real units (the population's total bias ``sum_i b_i`` is the per-step drive, so shifting it by
``delta`` shifts the mean per-step input by ``delta``; the shift is stored on the first synapse).  The new real bias is then re-integerised
(``bias_mant * 2**bias_exp ~ b_eff * Theta``, nearest), so the integer rounding of the bias
is the only approximation left.  The per-step shift ``theta/(2T)`` of CAL is *not* in the
bias: it is the initial potential ``theta/2`` (``v0_fraction = 1/2``, see ``from_float``).
A population whose SNN already matches (``sbar == a``) is returned unchanged (fixed point).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurodeploy.calibrate.layerwise import LayerStats, SimConfig, calibrate_layers
from neurodeploy.convert.stages import FloatNetwork, FloatPopulation


def bias_update(pop: FloatPopulation, a: np.ndarray, counts: np.ndarray, theta_int: int,
                steps: int) -> FloatPopulation:
    """``b_c <- b_c - mean_{batch,spatial}(N theta / T - a)_c``; identity when the error is 0."""
    err = counts * (float(pop.threshold) / steps) - a  # type: ignore[arg-type]
    axes = (0,) + tuple(range(2, err.ndim))          # everything but the channel axis
    delta = err.mean(axis=axes)
    if not np.any(delta):
        return pop
    return replace(pop.with_bias_shift(-delta), meta={**pop.meta, "calibrated": "bias"})


def calibrate_bias(net: FloatNetwork, x_int: np.ndarray, steps: int, *, cfg: SimConfig | None = None,
                   targets: dict[str, np.ndarray] | None = None) -> tuple[FloatNetwork, list[LayerStats]]:
    """Bias-calibrated copy of ``net`` (thresholds must be set) and per-population error before each update."""
    return calibrate_layers(net, x_int, cfg or SimConfig(steps), bias_update, targets, label="bias")
