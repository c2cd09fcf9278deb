"""Static proof that Lava's stock LIF never leaves the region where it equals the IR neuron.

The IR's zero-reset, strict-``>`` neuron with a signed state ``state_t`` (``E = state_hi + 1``)::

    x = v(t-1) + I + b ;  v' = clip(x, -E, E - 1) ;  s = [v' > vth] ;  v = 0 if s else v'

Lava's ``PyLifModelBitAcc`` with ``du = 4095, dv = 0`` holds ``V = v << S`` (``S`` =
``state_shift`` = 6) in a ``R``-bit register, ``2**(R-1) = E << S``::

    u = I << S                       wraps unless -E < I <= E
    V' = clip(V + u + (b << S), -(2**(R-1) - 1), 2**(R-1) - 1) ;  s = [V' > vth << S] ;  V = 0 if s

While no clip happens ``V = v << S`` exactly and both fire alike.  The clip limits are not
multiples of ``2**S``, so a clip leaves a residue ``rho = V - (v << S) != 0``:

* **positive** (``x >= E``): ``V' = (E << S) - 1`` while ``v' = E - 1``; Lava fires iff
  ``E - 1 >= vth`` (always), the IR iff ``E - 1 > vth``.  So the two differ only when
  ``vth = E - 1``; otherwise both fire and reset to 0 (residue gone).
* **negative** (``x <= -E``): ``V' = -(E << S) + 1`` while ``v' = -E``: ``rho = +1`` survives
  integration (inputs and bias are multiples of ``2**S``) until a spike or the sample's reset;
  the neurons then differ exactly at a step where ``v' == vth`` (Lava ``V' > vth << S``, IR not).

Bounds (per neuron ``i``, inputs in ``[0, X]`` (spikes: ``X = 1``; graded input: ``2**bits - 1``),
``lo_i = sum_j min(w_ij, 0) X``, ``hi_i = sum_j max(w_ij, 0) X``, after the exponent)::

    u does not wrap         iff  -E < lo_i  and  hi_i <= E
    v(t-1) <= vth            (zero reset, v0 = 0)     =>  x <= vth + rise_i,  rise_i = hi_i + b_i
    x(t) >= t * drift_i      (drift_i = lo_i + b_i < 0; v starts at 0 each sample)
    positive clip harmless   iff  vth < E - 1  or  vth + rise_i < E
    negative clip possible   from step  t_sat = ceil(E / -drift_i)
    v' == vth after it       from step  t_sat + ceil((vth + E) / rise_i)   (climbs from -E)

so a population is exact for samples of at most ``safe = min_i (t_sat + ceil((vth + E) /
rise_i) - 1)`` steps (unbounded when ``drift_i >= 0`` or ``rise_i <= 0``).  A population fed
only by the Input gets a constant current within a sample (the IR drives the same integers at
every step): if ``I + b <= 0`` v never rises above 0 (no spike, a clip changes nothing visible),
otherwise v never falls below 0; it is exact for any length.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from neurodeploy.backends.lava.plan import NetworkPlan, PartPlan, ProjectionPlan

from neurodeploy.ir.dtypes import shift

__all__ = ["LifBound", "current_range", "issues_of", "lif_bound", "lif_issues", "plan_issues"]


@dataclass(frozen=True)
class LifBound:
    """Worst case of one stock-LIF population (IR units; see the module docstring)."""

    name: str
    current_lo: int               # min_i lo_i
    current_hi: int               # max_i hi_i
    drift: int                    # min_i (lo_i + b_i)
    rise: int                     # max_i (hi_i + b_i)
    vth: int
    limit: int                    # E = state_hi + 1: clip and wrap edge in IR units
    input_driven: bool            # every part reads the Input: constant current per sample
    safe_steps: int | None        # longest exact sample; None = any length


def _part_range(p: PartPlan) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` of one Lava synapse part's output, per neuron in Lava layout."""
    x = (1 << p.num_message_bits) - 1 if p.num_message_bits else 1
    w = np.asarray(p.weights, np.int64)
    if p.kind == "dense":                        # a = shift(W @ s, weight_exp): floor is monotone
        neg = shift(np.minimum(w, 0).sum(axis=1) * x, p.weight_exp)
        pos = shift(np.maximum(w, 0).sum(axis=1) * x, p.weight_exp)
        return neg.reshape(p.out_shape), pos.reshape(p.out_shape)
    flat = w.reshape(w.shape[0], -1)             # Conv (C_out, kw, kh, C_in), pre-shifted
    neg, pos = np.minimum(flat, 0).sum(axis=1) * x, np.maximum(flat, 0).sum(axis=1) * x
    return np.broadcast_to(neg, p.out_shape), np.broadcast_to(pos, p.out_shape)


def current_range(projs: tuple[ProjectionPlan, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron ``(lo, hi)`` of the summed synaptic current ``I`` (Lava layout, IR units).

    Padding and edges only drop Conv taps, so the full kernel's sums bound every output."""
    lo = hi = np.zeros((), np.int64)
    for pr in projs:
        ranges = [_part_range(p) for p in pr.parts]
        lo = lo + shift(sum(r[0] for r in ranges), pr.post_exp)
        hi = hi + shift(sum(r[1] for r in ranges), pr.post_exp)
    return np.asarray(lo, np.int64), np.asarray(hi, np.int64)


def _ceil_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def lif_bound(name: str, projs: tuple[ProjectionPlan, ...], vth: int, bias: np.ndarray,
              input_name: str, state_hi: int) -> LifBound:
    """The :class:`LifBound` of population ``name`` (``bias`` per neuron in Lava layout)."""
    lo, hi = current_range(projs)
    b = np.asarray(bias, np.int64)
    drift, rise = np.broadcast_arrays(lo + b, hi + b)
    e = state_hi + 1
    driven = all(p.source == input_name for pr in projs for p in pr.parts)
    risky = (drift < 0) & (rise > 0)
    safe = None
    if not driven and risky.any():
        d, r = drift[risky], rise[risky]
        safe = int((_ceil_div(np.int64(e), -d) + _ceil_div(np.int64(vth + e), r) - 1).min())
    return LifBound(name, int(lo.min(initial=0)), int(hi.max(initial=0)), int(drift.min(initial=0)),
                    int(rise.max(initial=0)), int(vth), e, driven, safe)


def issues_of(bound: LifBound, period: int | None, shift_bits: int, where: str) -> list[str]:
    """Refusals for ``bound`` on samples of ``period`` steps (None = any length)."""
    n, e, out = bound.name, bound.limit, []
    if bound.current_lo <= -e or bound.current_hi > e:
        out.append(f"{n}: summed input range [{bound.current_lo}, {bound.current_hi}] leaves "
                   f"(-{e}, {e}]: stock LIF's u = a << {shift_bits} would wrap ({where})")
    if bound.vth >= e - 1 and bound.vth + bound.rise >= e:
        out.append(f"{n}.threshold: {bound.vth} = the state maximum {e - 1} and v can reach it: Lava's "
                   f"LIF clips at 2**{e.bit_length() - 1 + shift_bits} - 1 > vth << {shift_bits} and "
                   f"fires where the IR saturates without firing ({where})")
    if bound.safe_steps is not None and (period is None or period > bound.safe_steps):
        t_sat = -(-e // -bound.drift)
        length = "samples of any length" if period is None else f"samples of {period} steps"
        out.append(f"{n}: v can drift down {bound.drift}/step to the state minimum -{e} by step {t_sat}, "
                   f"where Lava's LIF keeps a residue and may fire at v == threshold; exact only for "
                   f"samples of at most {bound.safe_steps} steps, not {length} ({where})")
    return out


def lif_issues(name: str, projs: tuple[ProjectionPlan, ...], vth: int, bias: np.ndarray,
               input_name: str, state_hi: int, shift_bits: int, period: int | None,
               where: str) -> list[str]:
    """Refusals for one stock-LIF population (see the module docstring)."""
    bound = lif_bound(name, projs, vth, bias, input_name, state_hi)
    return issues_of(bound, period, shift_bits, where)


def plan_issues(plan: NetworkPlan) -> list[str]:
    """Refusals for a stock-LIF plan run with its own ``period`` (``[]`` for SubIF plans)."""
    if plan.neuron != "lif":
        return []
    out = []
    for p in plan.populations:
        out += lif_issues(p.name, p.projections, int(np.asarray(p.vth).max(initial=1)), p.bias,
                          plan.input_name, p.state_hi, plan.state_shift, plan.period,
                          f"run of {plan.period} steps per sample")
    return out
