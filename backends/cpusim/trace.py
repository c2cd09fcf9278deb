"""What a simulation returns: per-layer spike rasters and membrane potentials in logical time,
and the readout accumulators (so one run gives predictions at every step)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from neurodeploy.ir.graph import Graph


@dataclass
class Trace:
    """Result of running ``batch`` samples for ``steps`` logical steps.

    * ``readout[t, b, k]``: accumulator ``acc(t+1)`` of output ``k`` after logical step ``t+1``
      (int64).  For SRP the accumulator restarts after the pre-simulation, for two-phase it
      only integrates in the last window, exactly as the IR schedule says.
    * ``spikes[name][t, b, *shape]``: uint8 spikes *emitted* at step ``t+1`` (after SRP's
      gate), for probed populations.
    * ``v[name][t, b, *shape]``: int64 membrane potential after step ``t+1`` (after reset).
    * ``current[name][t, b, *shape]``: int64 synaptic input ``I(t+1) = sum_k I_k(t+1)`` (summed
      over the node's synapses, as read after any schedule delay, without bias) of probed
      populations and of the readout, whether or not the schedule lets the node integrate it.
    * SRP: ``v`` and ``readout`` at step ``tau`` are the values before the latch's reload/clear.
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


def new_trace(graph: Graph, batch: int, total: int, probes: Sequence[str], record_v: bool,
              record_current: bool) -> Trace:
    """An empty trace with zero-filled arrays for the probed populations (and the readout's
    current when ``record_current``)."""
    ro = graph.readout
    trace = Trace(readout=np.zeros((total, batch, *ro.shape), np.int64),
                  first_useful_step=graph.schedule.first_useful_step(graph.depth))
    for name in probes:
        shape = graph.node(name).shape                                 # type: ignore[union-attr]
        trace.spikes[name] = np.zeros((total, batch, *shape), np.uint8)
        if record_v:
            trace.v[name] = np.zeros((total, batch, *shape), np.int64)
        if record_current:
            trace.current[name] = np.zeros((total, batch, *shape), np.int64)
    if record_current:
        trace.current[ro.name] = np.zeros((total, batch, *ro.shape), np.int64)
    return trace


def record(trace: Trace, name: str, t: int, rows: slice, *, spikes: np.ndarray | None = None,
           v: np.ndarray | None = None, current: np.ndarray | None = None) -> None:
    """Store step ``t``'s values of node ``name`` for batch rows ``rows`` where probed; a
    ``None`` spike or current array means all zero (the trace is zero-filled)."""
    if spikes is not None and name in trace.spikes:
        trace.spikes[name][t - 1, rows] = spikes
    if v is not None and name in trace.v:
        trace.v[name][t - 1, rows] = v
    if current is not None and name in trace.current:
        trace.current[name][t - 1, rows] = current
