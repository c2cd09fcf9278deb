"""Post-conversion calibration passes for the float-ANN route (Li, Deng, Dong, Gu, "Converting
ANNs to SNNs via Parameter Calibration", arXiv 2205.10121; docs/methods.md section 5).

All passes are pure: ``FloatNetwork`` in, ``FloatNetwork`` out, and work on DAGs (residual
merges, concatenations): they change only per-population thresholds (:mod:`~neurodeploy.calibrate.threshold`), biases (:mod:`~neurodeploy.calibrate.bias`)
and initial potentials (:mod:`~neurodeploy.calibrate.potential`), never the structure.  Bias and
potential calibration measure the SNN with the bit-exact CPU simulator on the integer graph, so
they also absorb 8-bit weight rounding and the target's neuron semantics.
"""
from __future__ import annotations

__all__ = ["ann", "bias", "layerwise", "potential", "threshold"]
