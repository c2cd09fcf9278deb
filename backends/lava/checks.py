"""What the Lava backend can express exactly; every refusal names the layer and the limit.

Checked on a graph whose SumPools are already folded (:func:`emit.prepare`):

* the global invariants of :func:`neurodeploy.ir.verify.verify_graph` for the TargetSpec
  (weight/bias/threshold widths, accumulator bound, reset and compare modes, schedules);
* no SumPool left (Lava has no pooling process);
* Dense weights fit the ``2*q`` recipe: ``2*w`` within Lava's mixed range [-256, 255];
* stock LIF targets (``spec.lava_neuron == "lif"``): ``u = a << state_shift`` must not wrap
  (``|a| << state_shift < 2**(state_bits_lava - 1)``), ``v0 == 0`` (LIFReset resets to 0),
  the bias must be ``64 * b`` with a 13-bit mantissa and exponent <= 7, no Conv with a
  negative weight exponent (the floor would have to happen in the neuron), plain schedule.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, SumPool
from neurodeploy.ir.verify import accumulator_bound, value_bounds, verify_graph
from neurodeploy.targets import TargetSpec

LAVA_MIXED_RANGE = (-256, 255)     # PyDenseModelBitAcc clip for mixed-sign weights
LAVA_STATE_BITS = 24               # u, v of Lava's LIF (signed)
LAVA_BIAS_EXP_MAX = 7              # LIF bias_exp: unsigned 3 bits
LAVA_BIAS_MANT_BITS = 13           # LIF bias_mant: signed 13 bits


class LavaPlanError(ValueError):
    """The graph cannot be expressed exactly on the Lava target; the message names the layer."""


def lif_bias(bias_mant: np.ndarray, bias_exp: int, shift: int) -> tuple[np.ndarray, int]:
    """Stock-LIF bias (mantissa, exponent) with ``mant << exp == (bias_mant << bias_exp) << shift``."""
    total = bias_exp + shift
    exp = min(total, LAVA_BIAS_EXP_MAX)
    return np.asarray(bias_mant, np.int64) << (total - exp), exp


def issues(graph: Graph, spec: TargetSpec) -> list[str]:
    """Reasons why ``graph`` (SumPools folded) cannot run exactly on ``spec``; [] = supported."""
    out: list[str] = []
    try:
        verify_graph(graph, spec)
    except IRError as exc:
        out.append(str(exc))
        return out
    bounds = value_bounds(graph)
    lif = spec.lava_neuron == "lif"
    for n in graph.nodes:
        if isinstance(n, SumPool):
            out.append(f"{n.name}: SumPool must be folded into the next synapse (fold_pooling)")
        if isinstance(n, Dense):
            w2 = 2 * n.weight
            lo, hi = LAVA_MIXED_RANGE
            if w2.size and (int(w2.min()) < lo or int(w2.max()) > hi):
                out.append(f"{n.name}.weight: 2*w outside Lava's mixed range [{lo}, {hi}]")
        if lif and isinstance(n, (Dense, Conv)):
            b = accumulator_bound(n, bounds[n.source])
            limit = (1 << (LAVA_STATE_BITS - 1 - spec.state_shift)) - 1
            if b > limit:
                out.append(f"{n.name}: accumulator bound {b} > {limit}: stock LIF's u = a << "
                           f"{spec.state_shift} would wrap at {LAVA_STATE_BITS} bits")
            if isinstance(n, Conv) and n.weight_exp < 0:
                consumer = [m for m in graph.nodes if getattr(m, "source", None) == n.name]
                if consumer and isinstance(consumer[0], IFPopulation):
                    out.append(f"{n.name}.weight_exp: {n.weight_exp} < 0 on a Conv feeding a stock "
                               f"LIF: Lava's Conv ignores weight_exp and LIF cannot floor its input")
        if lif and isinstance(n, IFPopulation):
            if np.any(n.v0 != 0):
                out.append(f"{n.name}.v0: stock LIF(Reset) starts every sample at 0, got nonzero v0")
            mant, _ = lif_bias(n.bias_mant, n.bias_exp, spec.state_shift)
            m = 1 << (LAVA_BIAS_MANT_BITS - 1)
            if mant.size and (int(mant.min()) < -m or int(mant.max()) > m - 1):
                out.append(f"{n.name}.bias: 64*bias needs a LIF mantissa outside "
                           f"{LAVA_BIAS_MANT_BITS} bits with bias_exp <= {LAVA_BIAS_EXP_MAX}")
    return out


def check_plan_input(graph: Graph, spec: TargetSpec) -> None:
    """Raise :class:`LavaPlanError` listing every issue of :func:`issues`."""
    found = issues(graph, spec)
    if found:
        raise LavaPlanError(f"graph cannot run exactly on target {spec.name}:\n  " + "\n  ".join(found))
