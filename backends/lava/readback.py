"""Map a Lava run back to logical time and IR layout, as a :class:`Trace`.

* Population ``k`` (depth, 1-based) computes global logical step ``j + 1`` (``j`` 0-based
  over all samples back to back) at Lava step ``j + 1 + k``; ``SubIF`` records column ``j``
  directly, the LIF Monitor rows are shifted by ``k`` in :mod:`network`.  Sample ``b``'s
  step ``t`` (0-based) is global ``j = b * period + t``.
* The readout current of global step ``j`` is sink column ``j + depth + 1``; the host
  applies the synapse's remaining shift (``floor`` for a negative Conv exponent) and
  accumulates ``acc(t) = acc(t-1) + I(t) + bias`` per the schedule: ``plain`` every step;
  ``srp`` clears ``acc`` at the end of step ``tau``; ``two_phase`` integrates only during
  window ``D + 1``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.backends.lava.emit import NetworkPlan, from_lava
from neurodeploy.backends.lava.network import RawRun


def _to_logical(plan: NetworkPlan, rec: np.ndarray, lava_shape: tuple[int, ...], n: int) -> np.ndarray:
    """``(n_neurons, n * period)`` Lava-layout record -> ``[t, b, *IR shape]``."""
    a = rec.reshape(*lava_shape, n, plan.period)
    a = np.moveaxis(a, (-1, -2), (0, 1))                          # (period, n, *lava shape)
    return from_lava(a, len(lava_shape))


def readout_currents(plan: NetworkPlan, raw: RawRun, n: int) -> np.ndarray:
    """Readout synaptic input ``I[t, b, *shape]`` (without bias) in logical time."""
    assert raw.sink is not None
    first = plan.depth + 1
    cols = raw.sink[..., first:first + n * plan.period]
    rs = plan.readout_synapse
    cur = _to_logical(plan, cols.reshape(-1, n * plan.period), rs.out_shape, n)
    if rs.post_exp < 0:
        cur = cur >> (-rs.post_exp)                                # floor division of the sum
    elif rs.post_exp > 0:
        cur = cur << rs.post_exp
    return cur


def accumulate(plan: NetworkPlan, cur: np.ndarray) -> np.ndarray:
    """Readout accumulators ``acc[t, b, *shape]`` per the schedule (see module docstring)."""
    bias = plan.readout_bias
    acc = np.zeros(cur.shape[1:], np.int64)
    out = np.zeros_like(cur)
    w, d = plan.window, plan.depth
    for t in range(cur.shape[0]):
        k = t + 1
        if plan.schedule_kind != "two_phase" or d * w < k <= (d + 1) * w:
            acc = acc + cur[t] + bias
        out[t] = acc                                               # recorded before SRP's clear
        if plan.schedule_kind == "srp" and k == plan.tau:
            acc = np.zeros_like(acc)
    return out


def to_trace(plan: NetworkPlan, raw: RawRun, n: int, probes: Sequence[str] | None = None) -> Trace:
    """The run as a :class:`Trace` (logical time); ``probes`` None = every population."""
    cur = readout_currents(plan, raw, n)
    tr = Trace(readout=accumulate(plan, cur))
    tr.current[plan.readout_name] = cur
    for p in plan.populations:
        if p.name not in raw.spikes or (probes is not None and p.name not in probes):
            continue
        tr.spikes[p.name] = _to_logical(plan, raw.spikes[p.name], p.shape, n).astype(np.uint8)
        tr.v[p.name] = _to_logical(plan, raw.v[p.name], p.shape, n)
    if plan.schedule_kind == "srp":
        tr.first_useful_step = plan.tau
    elif plan.schedule_kind == "two_phase":
        tr.first_useful_step = plan.depth * plan.window
    return tr
