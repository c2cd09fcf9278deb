"""What the Lava backend can express exactly; every refusal names the layer and the limit.

Checked on a graph whose SumPools are already folded (:func:`emit.prepare`):

* the global invariants of :func:`neurodeploy.ir.verify.verify_graph` for the TargetSpec
  (weight/bias/threshold widths, summed accumulator bounds, modes, schedules);
* no SumPool left (Lava has no pooling process);
* per Lava synapse part (:mod:`neurodeploy.backends.lava.parts`): Dense weights fit the
  ``2*q`` recipe (``2*w`` within Lava's mixed range [-256, 255]); a Conv part's pre-shifted
  sum ``sum |W << e| * max|x|`` stays below ``2**23`` (Lava's Conv wraps its output at 24
  bits and computes in float32, exact below ``2**24``); its groups, kernel size, stride,
  padding and dilation fit Lava's int8 Conv Vars (``<= 127``; the parts already regroup a
  larger ``groups``); its delay is at most ``spec.max_delay`` (Loihi 2 synaptic delays have 6 bits);
* a merge (several projections into one population) whose projection needs a floor on its
  own sum (Conv with ``weight_exp < 0``, or a split Dense with ``e < 0``) is refused: Lava
  sums every projection at the neuron's InPort before the neuron could floor; the number of
  Lava connections into one neuron is at most ``spec.max_fan_in_projections``;
* stock LIF targets (``spec.lava_neuron == "lif"``): the state is exactly
  ``int(register_bits - state_shift)``, ``v0 == 0`` (LIFReset resets to 0), the bias is
  ``b << state_shift`` with a ``bias_mant_bits`` mantissa and exponent <= 7, no projection
  needs a floor in the neuron (LIF has none); and the static bound of
  :mod:`neurodeploy.backends.lava.lif_bounds` proves that ``u`` never wraps and ``v`` never
  reaches a clip where Lava's LIF and the IR differ (threshold at the state maximum; negative
  drift within ``spec.max_sample_steps`` steps).  :func:`network.run_plan` repeats that proof
  for the run's own steps per sample.
"""
from __future__ import annotations

import numpy as np
from neurodeploy.backends.lava.lif_bounds import lif_issues
from neurodeploy.backends.lava.parts import LAVA_CONV_INT8_MAX, LavaPlanError, projection
from neurodeploy.backends.lava.plan import PartPlan, ProjectionPlan, to_lava

from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation, SumPool
from neurodeploy.ir.verify import verify_graph
from neurodeploy.targets import TargetSpec

__all__ = ["LavaPlanError", "check_plan_input", "issues", "issues_by_node", "lif_bias"]

LAVA_MIXED_RANGE = (-256, 255)     # PyDenseModelBitAcc clip for mixed-sign weights
LAVA_CONV_BITS = 24                # Conv a_buf wraps at 24 bits (float32 exact below 2**24)
LAVA_BIAS_EXP_MAX = 7              # LIF bias_exp: the process declares an unsigned 3-bit field


def lif_bias(bias_mant: np.ndarray, bias_exp: int, shift: int) -> tuple[np.ndarray, int]:
    """Stock-LIF bias ``(mantissa, exponent)`` with ``mant << exp == (bias_mant << bias_exp) << shift``
    (exponent capped at Lava's field, the rest folded into the mantissa)."""
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
        fields = {"groups": (p.groups,), "kernel": p.weights.shape[1:3], "stride": p.stride,
                  "padding": p.padding, "dilation": p.dilation}
        for field, vals in fields.items():
            if max(int(v) for v in vals) > LAVA_CONV_INT8_MAX:
                out.append(f"{where}: Conv {field} {tuple(int(v) for v in vals)} exceeds "
                           f"{LAVA_CONV_INT8_MAX}: Lava's Conv holds it in an int8 Var (it would wrap)")
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


def _lif_format_issues(n: IFPopulation, spec: TargetSpec) -> list[str]:
    """Stock-LIF fields: state exactly ``register_bits - state_shift`` wide (Lava clips there),
    ``v0 = 0`` (LIFReset), bias ``b << state_shift`` as a ``bias_mant_bits`` mantissa with an
    exponent ``<= 7`` (Lava's 3-bit field)."""
    out = []
    if n.state_t != IntT(spec.state_bits):
        out.append(f"{n.name}.state_t: {n.state_t.describe()} but stock LIF saturates v << "
                   f"{spec.state_shift} at {spec.register_bits} bits, i.e. int{spec.state_bits} "
                   f"(target {spec.name})")
    if np.any(n.v0 != 0):
        out.append(f"{n.name}.v0: stock LIF(Reset) starts every sample at 0, got nonzero v0")
    mant, _ = lif_bias(n.bias_mant, n.bias_exp, spec.state_shift)
    m = 1 << (spec.bias_mant_bits - 1)
    if mant.size and (int(mant.min()) < -m or int(mant.max()) > m - 1):
        out.append(f"{n.name}.bias: bias << {spec.state_shift} needs a LIF mantissa outside "
                   f"{spec.bias_mant_bits} bits with bias_exp <= {LAVA_BIAS_EXP_MAX} (target {spec.name})")
    return out


def issues(graph: Graph, spec: TargetSpec, period: int | None = None) -> list[str]:
    """Reasons why ``graph`` (SumPools folded) cannot run exactly on ``spec``; [] = supported.

    ``period`` (logical steps per sample) bounds the stock-LIF drift proof
    (:mod:`neurodeploy.backends.lava.lif_bounds`); default ``spec.max_sample_steps``, where
    ``None`` means samples of any length."""
    return [reason for found in issues_by_node(graph, spec, period).values() for reason in found]


def issues_by_node(graph: Graph, spec: TargetSpec, period: int | None = None) -> dict[str, list[str]]:
    """:func:`issues` grouped by the node they concern (``""``: the graph as a whole, when it
    violates the target's formats); only nodes with issues appear."""
    horizon = spec.max_sample_steps if period is None else period
    try:
        verify_graph(graph, spec)
    except IRError as exc:
        return {"": [str(exc)]}
    pools = {n.name: [f"{n.name}: SumPool must be folded into the next synapse (fold_pooling)"]
             for n in graph.nodes if isinstance(n, SumPool)}
    if pools:
        return pools
    bounds = graph.value_bounds()
    found: dict[str, list[str]] = {}
    for n in graph.nodes:
        if n.role not in ("population", "readout"):
            continue
        out: list[str] = []
        try:
            projs = tuple(projection(graph, s, n.name) for s in n.inputs)
        except LavaPlanError as exc:
            found[n.name] = [str(exc)]
            continue
        for pr in projs:
            for p in pr.parts:
                out += _part_issues(p, n.name, bounds, spec)
        out += _consumer_issues(n.name, projs, spec, readout=n.role == "readout")
        if spec.lava_neuron == "lif" and isinstance(n, IFPopulation):
            fields = _lif_format_issues(n, spec)
            out += fields
            if not fields:                       # the bound assumes the LIF formats
                out += lif_issues(n.name, projs, int(n.threshold.max(initial=1)),
                                  to_lava(n.bias, len(n.shape)), graph.input.name, n.state_t.hi,
                                  spec.state_shift, horizon, f"target {spec.name}")
        if out:
            found[n.name] = out
    return found


def check_plan_input(graph: Graph, spec: TargetSpec, period: int | None = None) -> None:
    """Raise :class:`LavaPlanError` listing every issue of :func:`issues`."""
    found = issues(graph, spec, period)
    if found:
        raise LavaPlanError(f"graph cannot run exactly on target {spec.name}: " + "; ".join(found))
