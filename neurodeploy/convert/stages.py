"""Framework-neutral description of a trained network, before integer mapping.

A network is an input description plus a list of :class:`FloatStage`: one synapse (conv or
dense) with the operations between the previous activation and it (average pooling,
flatten), its real weights and bias, and the threshold of the activation that follows
(``None`` for the final, non-spiking readout).  Both routes produce this: the QAT route
(``from_brevitas``) and the float-ANN route (``from_float``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

PreOp = tuple[str, int]  # ("pool", k) or ("flatten", 0)


@dataclass(frozen=True)
class InputSpec:
    """Integer input grid: ``x_real = x_int * scale`` with ``x_int`` unsigned ``bits``-bit."""

    shape: tuple[int, ...]
    bits: int
    scale: float


@dataclass(frozen=True, eq=False)
class FloatStage:
    """One synapse and the activation after it, in real units.

    ``threshold`` is the activation's clipping level (QCFS ``lambda``, or a calibrated
    threshold); ``v0_fraction`` is the initial potential as a fraction of it (1/2 for QCFS's
    shift, 0 for clip-floor).  ``v0_offset``, if set, is a per-neuron initial potential in
    threshold units added on top (potential calibration).
    """

    name: str
    kind: Literal["conv", "dense"]
    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 0
    pre: tuple[PreOp, ...] = ()
    threshold: float | None = None
    v0_fraction: float = 0.5
    v0_offset: np.ndarray | None = None
    source_layer: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def is_readout(self) -> bool:
        return self.threshold is None


@dataclass(frozen=True)
class FloatNetwork:
    """Input grid, stages in order, and the activation levels ``L`` used in training."""

    input: InputSpec
    stages: tuple[FloatStage, ...]
    levels: int = 0
    meta: dict[str, str] = field(default_factory=dict)
