"""Schedule semantics, defined once for every backend.

A :class:`Schedule` says how a sample's logical steps are organised.  The functions below
are the only definition of what a population or the readout does at logical step ``t``
(1-based); the CPU simulators call them and the Lava backend translates them into process
parameters.  ``depth`` is a node's *logical depth* (:meth:`Graph.depths`): the number of
synaptic hops on the longest path from the Input (populations fed by the Input have depth 1;
the readout has depth ``D + 1`` where ``D`` is the graph's population depth).

* ``plain``: every population integrates and fires on every step ``t = 1..T``.
* ``srp`` (Hao et al., AAAI 2023): ``tau`` pre-simulation steps run plainly; at the end of
  step ``tau`` every neuron latches ``g = [1000 * v > threshold]`` (``v/theta > 1e-3``),
  ``v`` is reloaded with ``v0`` and the readout is cleared; afterwards a neuron's emitted
  spike is ``s * g``.  Only steps after ``tau`` feed the prediction.
* ``two_phase`` (SpikeConverter reconstruction A, Liu et al., AAAI 2022): a population of
  depth ``d`` integrates without firing during window ``d`` (steps ``(d-1)*W+1 .. d*W``),
  then fires with subtraction during window ``d + 1`` while ignoring input and bias; the
  readout integrates during window ``D + 1`` only.  Latency ``(D+1)*W`` steps.  On a DAG a
  spike emitted at step ``t`` by a population of depth ``d_s`` reaches a consumer of depth
  ``d_c`` at step ``t + (d_c - 1 - d_s) * W`` (:func:`edge_delay`), so a shortcut that skips
  layers lands in its consumer's integration window.  Plain and SRP edges have no delay.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from neurodeploy.ir.dtypes import IRError

ScheduleKind = Literal["plain", "srp", "two_phase"]
SRP_GATE_SCALE = 1000          # g = [SRP_GATE_SCALE * v > theta], i.e. v / theta > 1e-3
MAX_SCHEDULE_STEPS = 1 << 16   # tau and window bounds: a schedule longer than this is refused


@dataclass(frozen=True)
class Schedule:
    """Schedule kind with its parameters (``tau`` for SRP, ``window`` for two_phase)."""

    kind: ScheduleKind = "plain"
    tau: int = 0
    window: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("plain", "srp", "two_phase"):
            raise IRError(f"schedule.kind: unknown schedule {self.kind!r}")
        for fname in ("tau", "window"):
            value = getattr(self, fname)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SCHEDULE_STEPS:
                raise IRError(f"schedule.{fname}: expected an int in 0..{MAX_SCHEDULE_STEPS}, got {value!r}")
        if self.kind == "srp" and self.tau < 1:
            raise IRError("schedule.tau: SRP needs tau >= 1 pre-simulation steps")
        if self.kind == "two_phase" and self.window < 1:
            raise IRError("schedule.window: two_phase needs window >= 1")

    def total_steps(self, steps: int, depth: int) -> int:
        """Logical steps per sample to obtain ``steps`` useful steps (``T``); ``depth`` = D."""
        if self.kind == "srp":
            return self.tau + steps
        if self.kind == "two_phase":
            return (depth + 1) * self.window
        return steps

    def first_useful_step(self, depth: int) -> int:
        """Steps before the first one whose readout feeds the prediction (0, tau or D*W)."""
        if self.kind == "srp":
            return self.tau
        if self.kind == "two_phase":
            return depth * self.window
        return 0

    def neuron_phase(self, t: int, depth: int) -> tuple[bool, bool]:
        """``(integrate, fire)`` of a population of logical ``depth`` at step ``t``."""
        if self.kind != "two_phase":
            return True, True
        w = self.window
        integrate = (depth - 1) * w < t <= depth * w      # window d: accumulate, no firing
        fire = depth * w < t <= (depth + 1) * w           # window d+1: fire, input ignored
        return integrate, fire

    def readout_integrates(self, t: int, depth: int) -> bool:
        """Whether the readout integrates at step ``t`` (two_phase: window ``D+1`` only)."""
        return self.kind != "two_phase" or t > depth * self.window

    @property
    def forces_subtract(self) -> bool:
        """two_phase always resets by subtraction in its fire window."""
        return self.kind == "two_phase"

    def is_srp_latch(self, t: int) -> bool:
        """End of SRP's pre-simulation: latch the gate, reload v0, clear the readout."""
        return self.kind == "srp" and t == self.tau

    def edge_delay(self, source_depth: int, consumer_depth: int) -> int:
        """Logical steps between a spike of a population at ``source_depth`` and its arrival
        at a consumer at ``consumer_depth`` (0 except for two_phase shortcuts)."""
        if self.kind != "two_phase":
            return 0
        return (consumer_depth - 1 - source_depth) * self.window


def srp_gate(threshold: np.ndarray, v: np.ndarray) -> np.ndarray:
    """SRP latch ``g = [1000 * v > theta]`` in int64 (exact while ``|v| < 2**53``)."""
    return (SRP_GATE_SCALE * np.asarray(v, np.int64) > threshold).astype(np.int64)
