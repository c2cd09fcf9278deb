"""Potential calibration, PC / "advanced" (CAL section 5.4; Li et al., arXiv 2205.10121).

Populations in forward order (see :mod:`neurodeploy.calibrate.layerwise`), per neuron::

    v_init  <-  v_init + T * mean_batch(a - sbar)                  (real units, sbar = N theta / T)

written directly in the integer domain of the population (threshold ``Theta``, real ``theta``)::

    delta_int = rint( Theta * mean_batch(a T / theta - N) )        (numpy rint: half to even)
    v0_offset <- v0_offset + delta_int / Theta

so the integer initial potential ``v0 = rint((v0_fraction + v0_offset) * Theta)`` moves by
exactly ``delta_int`` (``v0_fraction * Theta = Theta/2`` is an integer).  The CAL shift
``theta/(2T)`` per step stays in ``v0_fraction = 1/2``; the paper's ``v_init`` (0 before
calibration) is our ``v0_offset * theta``.  Zero error gives ``delta_int = 0``: a fixed point.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurodeploy.calibrate.layerwise import LayerStats, SimConfig, calibrate_layers
from neurodeploy.convert.stages import FloatNetwork, FloatPopulation


def potential_delta(a: np.ndarray, counts: np.ndarray, theta: float, theta_int: int, steps: int) -> np.ndarray:
    """``rint(Theta * mean_batch(a T / theta - N))`` per neuron (int64)."""
    gap = np.asarray(a, np.float64) * (steps / theta) - counts
    return np.rint(theta_int * gap.mean(axis=0)).astype(np.int64)


def potential_update(pop: FloatPopulation, a: np.ndarray, counts: np.ndarray, theta_int: int,
                     steps: int) -> FloatPopulation:
    """``v0_offset <- v0_offset + delta_int / Theta`` per neuron; identity when ``delta_int == 0``."""
    delta = potential_delta(a, counts, float(pop.threshold), theta_int, steps)  # type: ignore[arg-type]
    if not np.any(delta):
        return pop
    old = np.zeros(delta.shape) if pop.v0_offset is None else \
        np.broadcast_to(np.asarray(pop.v0_offset, np.float64), delta.shape)
    return replace(pop, v0_offset=old + delta / theta_int, meta={**pop.meta, "calibrated": "potential"})


def calibrate_potential(net: FloatNetwork, x_int: np.ndarray, steps: int, *, cfg: SimConfig | None = None,
                        targets: dict[str, np.ndarray] | None = None) -> tuple[FloatNetwork, list[LayerStats]]:
    """Potential-calibrated copy of ``net`` (thresholds must be set) and per-population error before each update."""
    return calibrate_layers(net, x_int, cfg or SimConfig(steps), potential_update, targets, label="potential")
