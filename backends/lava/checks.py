"""What the Lava backend can express exactly; every refusal names the layer and the limit.

Checked on a graph whose SumPools are already folded (:func:`emit.prepare`):

* the global invariants of :func:`neurodeploy.ir.verify.verify_graph` for the TargetSpec
  (weight/bias/threshold widths, summed accumulator bounds, modes, schedules);
* no SumPool left (Lava has no pooling process);
* per Lava synapse part (:mod:`neurodeploy.backends.lava.parts`): Dense weights fit the
  ``2*q`` recipe (``2*w`` within Lava's mixed range [-256, 255]); a Conv part's pre-shifted
  sum ``sum |W << e| * max|x|`` stays below ``2**23`` (Lava's Conv wraps its output at 24
  bits and computes in float32, exact below ``2**24``); its delay is at most
  ``spec.max_delay`` (Loihi 2 synaptic delays have 6 bits);
* a merge (several projections into one population) whose projection needs a floor on its
  own sum (Conv with ``weight_exp < 0``, or a split Dense with ``e < 0``) is refused: Lava
  sums every projection at the neuron's InPort before the neuron could floor; the number of
  Lava connections into one neuron is at most ``spec.max_fan_in_projections``;
* stock LIF targets (``spec.lava_neuron == "lif"``): ``u = a << state_shift`` must not wrap
  for the summed input of all projections, ``v0 == 0`` (LIFReset resets to 0), the bias must
  be ``64 * b`` with a 13-bit mantissa and exponent <= 7, no projection that needs a floor in
  the neuron (LIF has none).
"""
from __future__ import annotations

import numpy as np
from neurodeploy.backends.lava.parts import LavaPlanError, projection
from neurodeploy.backends.lava.plan import PartPlan, ProjectionPlan

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation, SumPool
from neurodeploy.ir.verify import target_current_bound, verify_graph
from neurodeploy.targets import TargetSpec

__all__ = ["LavaPlanError", "check_plan_input", "issues", "lif_bias"]

LAVA_MIXED_RANGE = (-256, 255)     # PyDenseModelBitAcc clip for mixed-sign weights
LAVA_STATE_BITS = 24               # u, v of Lava's LIF (signed)
LAVA_CONV_BITS = 24                # Conv a_buf wraps at 24 bits (float32 exact below 2**24)
LAVA_BIAS_EXP_MAX = 7              # LIF bias_exp: unsigned 3 bits
LAVA_BIAS_MANT_BITS = 13           # LIF bias_mant: signed 13 bits


def lif_bias(bias_mant: np.ndarray, bias_exp: int, shift: int) -> tuple[np.ndarray, int]:
    """Stock-LIF bias (mantissa, exponent) with ``mant << exp == (bias_mant << bias_exp) << shift``."""
    total = bias_exp + shift
    exp = min(total, LAVA_BIAS_EXP_MAX)
    return np.asarray(bias_mant, np.int64) << (total - exp), exp


def _part_issues(p: PartPlan, consumer: str, bounds: dict[str, int], spec: TargetSpec) -> list[str]:
    out = []
    where = p.synapse if p.name == p.synapse else f"{p.synapse} (part reading {p.source})"
    if p.kind == "dense":
        lo, hi = LAVA_MIXED_RANGE
        if p.weights.size and (int(p.weights.min()) < lo or int(p.weights.max()) > hi):
            out.append(f"{where}.weight: 2*w outside Lava's mixed range [{lo}, {hi}]")
    else:
        w = np.abs(p.weights).reshape(p.weights.shape[0], -1).sum(axis=1)
        b = int(w.max(initial=0)) * bounds[p.source]
        limit = (1 << (LAVA_CONV_BITS - 1)) - 1
        if b > limit:
            out.append(f"{where}: pre-shifted Conv sum bound {b} > {limit}: Lava's Conv wraps at "
                       f"{LAVA_CONV_BITS} bits (float32 exact below 2**24)")
    if p.delay > spec.max_delay:
        out.append(f"{where}: needs a delay of {p.delay} steps from {p.source} to {consumer} > "
                   f"max_delay={spec.max_delay} (target {spec.name})")
    return out


def _consumer_issues(name: str, projs: tuple[ProjectionPlan, ...], spec: TargetSpec,
                     readout: bool) -> list[str]:
    out = []
    floors = [pr for pr in projs if pr.post_exp != 0]
    if not readout and floors and (len(projs) > 1 or spec.lava_neuron == "lif"):
        pr = floors[0]
        why = (f"Lava sums all {len(projs)} projections at {name}'s InPort first" if len(projs) > 1
               else "stock LIF cannot floor its input")
        out.append(f"{pr.synapse}.weight_exp: {pr.post_exp} < 0 needs a floor of this projection's own "
                   f"sum inside {name}, but {why}")
    n_parts = sum(len(pr.parts) for pr in projs)
    if n_parts > spec.max_fan_in_projections:
        out.append(f"{name}: {n_parts} Lava connections into one neuron > max_fan_in_projections="
                   f"{spec.max_fan_in_projections} (target {spec.name})")
    return out


def _lif_issues(graph: Graph, n: IFPopulation, spec: TargetSpec, bounds: dict[str, int]) -> list[str]:
    out = []
    b = target_current_bound(graph, n.name, bounds)
    limit = (1 << (LAVA_STATE_BITS - 1 - spec.state_shift)) - 1
    if b > limit:
        out.append(f"{n.name}: summed input bound {b} > {limit}: stock LIF's u = a << "
                   f"{spec.state_shift} would wrap at {LAVA_STATE_BITS} bits")
    if np.any(n.v0 != 0):
        out.append(f"{n.name}.v0: stock LIF(Reset) starts every sample at 0, got nonzero v0")
    mant, _ = lif_bias(n.bias_mant, n.bias_exp, spec.state_shift)
    m = 1 << (LAVA_BIAS_MANT_BITS - 1)
    if mant.size and (int(mant.min()) < -m or int(mant.max()) > m - 1):
        out.append(f"{n.name}.bias: 64*bias needs a LIF mantissa outside "
                   f"{LAVA_BIAS_MANT_BITS} bits with bias_exp <= {LAVA_BIAS_EXP_MAX}")
    return out


def issues(graph: Graph, spec: TargetSpec) -> list[str]:
    """Reasons why ``graph`` (SumPools folded) cannot run exactly on ``spec``; [] = supported."""
    try:
        verify_graph(graph, spec)
    except IRError as exc:
        return [str(exc)]
    out = [f"{n.name}: SumPool must be folded into the next synapse (fold_pooling)"
           for n in graph.nodes if isinstance(n, SumPool)]
    if out:
        return out
    bounds = graph.value_bounds()
    for n in graph.nodes:
        if n.role not in ("population", "readout"):
            continue
        try:
            projs = tuple(projection(graph, s, n.name) for s in n.inputs)
        except LavaPlanError as exc:
            out.append(str(exc))
            continue
        for pr in projs:
            for p in pr.parts:
                out += _part_issues(p, n.name, bounds, spec)
        out += _consumer_issues(n.name, projs, spec, readout=n.role == "readout")
        if spec.lava_neuron == "lif" and isinstance(n, IFPopulation):
            out += _lif_issues(graph, n, spec, bounds)
    return out


def check_plan_input(graph: Graph, spec: TargetSpec) -> None:
    """Raise :class:`LavaPlanError` listing every issue of :func:`issues`."""
    found = issues(graph, spec)
    if found:
        raise LavaPlanError(f"graph cannot run exactly on target {spec.name}:\n  " + "\n  ".join(found))
