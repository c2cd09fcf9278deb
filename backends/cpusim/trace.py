"""What a simulation returns: per-layer spike rasters and membrane potentials in logical time,
and the readout accumulators (so one run gives predictions at every step)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """Result of running ``batch`` samples for ``steps`` logical steps.

    * ``readout[t, b, k]``: accumulator ``acc(t+1)`` of output ``k`` after logical step ``t+1``
      (int64).  For SRP the accumulator restarts after the pre-simulation, for two-phase it
      only integrates in the last window, exactly as the IR schedule says.
    * ``spikes[name][t, b, *shape]``: uint8 spikes *emitted* at step ``t+1`` (after SRP's
      gate), for probed populations.
    * ``v[name][t, b, *shape]``: int64 membrane potential after step ``t+1`` (after reset).
    * ``current[name][t, b, *shape]``: int64 synaptic input ``I(t+1)`` of probed populations
      and of the readout (without bias).
    """

    readout: np.ndarray
    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)
    current: dict[str, np.ndarray] = field(default_factory=dict)
    first_useful_step: int = 0

    @property
    def steps(self) -> int:
        return int(self.readout.shape[0])

    def predictions(self) -> np.ndarray:
        """``pred[t, b]`` = argmax of the readout after logical step ``t+1`` (ties: lowest index)."""
        return np.argmax(self.readout, axis=-1)

    def accuracy_per_step(self, labels: np.ndarray) -> np.ndarray:
        """Fraction correct after each logical step, shape (steps,)."""
        return (self.predictions() == np.asarray(labels)[None, :]).mean(axis=1)

    def spike_counts(self, name: str) -> np.ndarray:
        """Total spikes per neuron over all steps, shape (batch, *shape)."""
        return self.spikes[name].sum(axis=0, dtype=np.int64)
