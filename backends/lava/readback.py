"""Map a Lava run back to logical time and IR layout, as a :class:`Trace`.

* A population of logical depth ``d`` computes global logical step ``j + 1`` (``j`` 0-based
  over all samples back to back) at Lava step ``j + 1 + d``; ``SubIF`` records column ``j``
  directly, the streamed LIF rows are shifted by ``d`` in :mod:`network`.  Sample ``b``'s
  step ``t`` (0-based) is global ``j = b * period + t``.
* The readout (depth ``d_r``) receives each projection's current of global step ``j`` in
  that projection's sink column ``j + d_r``; the host applies the projection's own
  ``post_exp`` (``floor`` for a negative exponent), sums the projections and accumulates
  with the bias as :mod:`neurodeploy.ir.schedule` says (``readout_integrates``, and the
  clear at ``is_srp_latch``, recorded before the clear as the CPU simulator does).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.backends.lava.network import RawRun
from neurodeploy.backends.lava.plan import NetworkPlan, from_lava

from neurodeploy.ir.dtypes import shift


def _to_logical(plan: NetworkPlan, rec: np.ndarray, lava_shape: tuple[int, ...], n: int) -> np.ndarray:
    """``(n_neurons, n * period)`` Lava-layout record -> ``[t, b, *IR shape]``."""
    a = rec.reshape(*lava_shape, n, plan.period)
    a = np.moveaxis(a, (-1, -2), (0, 1))                          # (period, n, *lava shape)
    return from_lava(a, len(lava_shape))


def readout_currents(plan: NetworkPlan, raw: RawRun, n: int) -> np.ndarray:
    """Readout synaptic input ``I[t, b, *shape]`` (without bias) in logical time."""
    first, cols = plan.readout_depth, n * plan.period
    total = np.zeros((plan.period, n, *plan.readout_ir_shape), np.int64)
    for pr in plan.readout_projections:
        sink = raw.sinks[pr.synapse][..., first:first + cols]
        cur = _to_logical(plan, sink.reshape(-1, cols), pr.parts[0].out_shape, n)
        total += shift(cur, pr.post_exp)                          # floor of this projection's sum
    return total


def accumulate(plan: NetworkPlan, cur: np.ndarray) -> np.ndarray:
    """Readout accumulators ``acc[t, b, *shape]`` per the schedule (see module docstring)."""
    sched, d = plan.schedule, plan.depth
    acc = np.zeros(cur.shape[1:], np.int64)
    out = np.zeros_like(cur)
    for t in range(cur.shape[0]):
        if sched.readout_integrates(t + 1, d):
            acc = acc + cur[t] + plan.readout_bias
        out[t] = acc
        if sched.is_srp_latch(t + 1):
            acc = np.zeros_like(acc)
    return out


def to_trace(plan: NetworkPlan, raw: RawRun, n: int, probes: Sequence[str] | None = None) -> Trace:
    """The run as a :class:`Trace` (logical time); ``probes`` None = every population."""
    cur = readout_currents(plan, raw, n)
    tr = Trace(readout=accumulate(plan, cur), first_useful_step=plan.schedule.first_useful_step(plan.depth))
    tr.current[plan.readout_name] = cur
    for p in plan.populations:
        if p.name not in raw.spikes or (probes is not None and p.name not in probes):
            continue
        tr.spikes[p.name] = _to_logical(plan, raw.spikes[p.name], p.shape, n).astype(np.uint8)
        tr.v[p.name] = _to_logical(plan, raw.v[p.name], p.shape, n)
    return tr
