"""Per-layer thresholds from ANN activations (CAL section 5.2; Li et al., arXiv 2205.10121).

For every hidden population the ReLU activations ``a`` of the (unclipped) float ANN on the
calibration images give one threshold ``theta`` per layer:

* ``max``: ``theta = max(a)`` over all calibration images.
* ``percentile``: ``theta = percentile(a, p)`` over all activation values (zeros included,
  as SpikingJelly's "99.9%" mode does), default ``p = 99.99``.
* ``mmse``: per batch of ``batch_size`` images, with ``m = max(a_batch)``::

      theta_b = argmin_{V in {m (1 - 0.01 i) : i = 0..94}}  mean( (a - (V/T) clip(floor(a T / V), 0, T))^2 )

  then an exponential moving average over batches, ``theta <- 0.9 theta + 0.1 theta_b``
  (initialised with the first batch).  Ties go to the smallest ``i`` (largest V).  As in the
  authors' code the search uses plain floor, although the neuron carries the +theta/2 shift.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np

from neurodeploy.calibrate.ann import ann_forward
from neurodeploy.convert.stages import FloatNetwork

ThresholdMethod = Literal["max", "percentile", "mmse"]
GRID_STEPS = 95
EMA_MOMENTUM = 0.9


def mmse_loss(a: np.ndarray, v: float, steps: int) -> float:
    """``mean((a - (V/T) clip(floor(a T / V), 0, T))^2)``."""
    a = np.asarray(a, np.float64)
    n = a.size
    a = a[a > 0]                      # a <= 0 quantises to 0 exactly and adds 0 to the sum
    q = np.clip(np.floor(a * steps / v), 0, steps) * (v / steps)
    return float(np.sum((a - q) ** 2) / n) if n else 0.0


def mmse_grid(peak: float) -> np.ndarray:
    """The candidate thresholds ``peak * (1 - 0.01 i)``, ``i = 0..94``."""
    return peak * (1.0 - 0.01 * np.arange(GRID_STEPS))


def mmse_threshold(a: np.ndarray, steps: int) -> float:
    """The grid point minimising :func:`mmse_loss` on one batch of activations."""
    peak = float(np.max(a))
    if peak <= 0:
        return 0.0
    grid = mmse_grid(peak)
    losses = np.array([mmse_loss(a, float(v), steps) for v in grid])
    return float(grid[int(np.argmin(losses))])


def layer_threshold(acts: np.ndarray, method: ThresholdMethod, steps: int, *, percentile: float = 99.99,
                    batch_size: int = 128) -> float:
    """One threshold for one population's activations ``acts`` (batch first)."""
    if method == "max":
        return float(np.max(acts))
    if method == "percentile":
        return float(np.percentile(acts, percentile))
    if method == "mmse":
        theta: float | None = None
        for start in range(0, len(acts), batch_size):
            tb = mmse_threshold(acts[start:start + batch_size], steps)
            theta = tb if theta is None else EMA_MOMENTUM * theta + (1 - EMA_MOMENTUM) * tb
        return float(theta or 0.0)
    raise ValueError(f"unknown threshold method {method!r}; expected max, percentile or mmse")


def set_thresholds(net: FloatNetwork, x_int: np.ndarray, method: ThresholdMethod = "mmse", steps: int = 32,
                   *, percentile: float = 99.99, batch_size: int = 128) -> FloatNetwork:
    """``net`` with every hidden population's threshold set from the ANN's activations on ``x_int``.

    A population that never activates (threshold 0) gets the smallest positive value seen in any
    population's threshold search instead (it is silent either way), so integerisation stays valid.
    """
    if len(x_int) == 0:
        raise ValueError("threshold calibration needs at least one calibration sample")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    acts, _ = ann_forward(net, x_int, clip=False)
    thetas = {name: layer_threshold(a, method, steps, percentile=percentile, batch_size=batch_size)
              for name, a in acts.items()}
    fallback = min([t for t in thetas.values() if t > 0], default=1.0)
    pops = [replace(p, threshold=thetas[p.name] if thetas[p.name] > 0 else fallback,
                    meta={**p.meta, "threshold_method": method}) for p in net.populations]
    return net.with_populations(pops, {"threshold": method, "calib_steps": str(steps)})
