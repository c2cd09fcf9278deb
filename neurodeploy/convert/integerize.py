"""Map a :class:`FloatNetwork` to the integer IR (the float -> integer boundary).

For stage ``l`` with threshold ``lambda_l`` and input unit ``u`` (the input grid step for the
first stage, the previous threshold for hidden stages, divided by ``k*k`` for every average
pool in between, since the IR's ``SumPool`` sums instead of averaging), the neuron works in
threshold units ``Theta_l = 2**k_l``::

    W_eff = W * u / lambda_l            b_eff = b / lambda_l           (real, per step)
    W_int * 2**weight_exp  ~  W_eff * Theta        bias_mant * 2**bias_exp  ~  b_eff * Theta
    v0 = round((v0_fraction + v0_offset) * Theta)

(Bu et al., ICLR 2022, for theta = lambda and v0 = theta/2.)  ``k`` is chosen *exactly* when
some ``k`` makes every ``W_eff * 2**k`` and ``b_eff * 2**k`` an integer that fits the target
(power-of-two QAT scales guarantee this): then the integer network computes the quantized
ANN bit for bit.  Otherwise ``k`` is chosen for full 8-bit weight resolution and the rounding
error is measured and reported.  The readout uses ``lambda = 1`` (logits scaled by Theta).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from neurodeploy.convert.stages import FloatNetwork, FloatStage
from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import Graph, Schedule, infer_shapes
from neurodeploy.ir.nodes import (
    BIAS_T,
    CompareMode,
    Conv,
    Dense,
    Flatten,
    IFPopulation,
    Input,
    Node,
    Readout,
    ResetMode,
    SumPool,
)
from neurodeploy.ir.verify import accumulator_bound, value_bounds, verify_graph
from neurodeploy.targets import CPU, TargetSpec

MAX_EXACT_K = 30


@dataclass(frozen=True)
class LayerReport:
    """How one stage was mapped, and what the mapping lost."""

    name: str
    source_layer: str
    threshold: int
    weight_exp: int
    bias_exp: int
    exact: bool
    max_weight_error: float       # max |W_int*2^e - W_eff*Theta| / max|W_eff*Theta|
    max_bias_error: float         # max |bias_int - b_eff*Theta| in threshold units / Theta
    accumulator_bound: int


@dataclass(frozen=True)
class ConversionReport:
    layers: tuple[LayerReport, ...]

    @property
    def exact(self) -> bool:
        return all(layer.exact for layer in self.layers)

    def to_json(self) -> dict:
        return {"exact": self.exact, "layers": [asdict(layer) for layer in self.layers]}


def _is_integral(a: np.ndarray) -> bool:
    return bool(np.all(a == np.round(a)))


def _mantissa_exponent(target: np.ndarray, mant_t: IntT, min_exp: int = 0) -> tuple[np.ndarray, int]:
    """Smallest exponent ``e >= min_exp`` with ``round(target / 2**e)`` inside ``mant_t``."""
    exp = min_exp
    while True:
        mant = np.rint(target / 2.0**exp)
        if mant_t.fits(mant.astype(np.int64)) if mant.size else True:
            return mant.astype(np.int64), exp
        exp += 1
        if exp > 40:
            raise IRError(f"value {np.abs(target).max():.3g} cannot be represented with {mant_t.describe()}")


def _exact_k(w_eff: np.ndarray, b_eff: np.ndarray, v0_frac: np.ndarray, max_k: int) -> int | None:
    for k in range(1, max_k + 1):
        scale = 2.0**k
        if _is_integral(w_eff * scale) and _is_integral(b_eff * scale) and _is_integral(v0_frac * scale):
            return k
    return None


def _resolution_k(w_eff: np.ndarray, weight_t: IntT) -> int:
    peak = float(np.abs(w_eff).max(initial=0.0))
    if peak == 0.0:
        return 1
    return max(1, int(math.floor(math.log2(weight_t.hi / peak))))


def _stage_nodes(stage: FloatStage, src: str) -> tuple[list[Node], str]:
    """IR nodes for the stage's pre-ops (SumPool / Flatten); returns them and the new source."""
    nodes: list[Node] = []
    for i, (op, k) in enumerate(stage.pre):
        name = f"{stage.name}_{op}{i}"
        nodes.append(SumPool(name, src, kernel=k) if op == "pool" else Flatten(name, src))
        src = name
    return nodes, src


def integerize(net: FloatNetwork, spec: TargetSpec = CPU, *, reset: ResetMode = "subtract",
               compare: CompareMode = ">=", schedule: Schedule = Schedule(),
               allow_inexact: bool = True) -> tuple[Graph, ConversionReport]:
    """Integer IR graph and per-layer report for ``net`` on ``spec``.

    ``reset="zero"`` maps to hard-reset neurons with ``v0 = 0`` (Lava's stock LIF mode).
    Raises :class:`IRError` naming the stage when a value cannot fit the target, or when the
    mapping is inexact and ``allow_inexact`` is false.
    """
    weight_t = IntT(spec.weight_bits)
    bias_t = IntT(min(spec.bias_mant_bits, BIAS_T.bits))
    max_k = min(MAX_EXACT_K, spec.threshold_bits - 1, spec.state_bits - 2)
    nodes: list[Node] = [Input("input", tuple(net.input.shape), bits=net.input.bits, scale=net.input.scale)]
    src, unit = "input", net.input.scale
    reports: list[LayerReport] = []
    for stage in net.stages:
        pre_nodes, src = _stage_nodes(stage, src)
        nodes.extend(pre_nodes)
        for op, k in stage.pre:
            if op == "pool":
                unit /= k * k
        lam = 1.0 if stage.threshold is None else float(stage.threshold)
        if not lam > 0:
            raise IRError(f"{stage.name}: threshold must be > 0, got {lam}")
        w_eff = np.asarray(stage.weight, np.float64) * (unit / lam)
        b_eff = np.asarray(stage.bias, np.float64) / lam
        v0_frac = 0.0 if reset == "zero" else float(stage.v0_fraction)
        offset = np.zeros(1) if stage.v0_offset is None or reset == "zero" else stage.v0_offset
        k = _exact_k(w_eff, b_eff, v0_frac + np.asarray(offset, np.float64), max_k)
        exact = k is not None
        if not exact:
            if not allow_inexact:
                raise IRError(f"{stage.name}: no power-of-two threshold up to 2^{max_k} represents "
                              f"its weights/bias exactly on target {spec.name}")
            k = min(_resolution_k(w_eff, weight_t), max_k)
        syn, report, theta = _make_synapse(stage, src, w_eff, b_eff, k, weight_t, spec)
        nodes.append(syn)
        bias_mant, bias_exp = _mantissa_exponent(b_eff * theta, bias_t)
        bias_err = float(np.abs(bias_mant * 2.0**bias_exp - b_eff * theta).max(initial=0.0)) / theta
        shape = infer_shapes(tuple(nodes))[syn.name]
        bias_full = _per_neuron(bias_mant, shape)
        if stage.is_readout:
            nodes.append(Readout(f"{stage.name}_out", syn.name, shape, bias_mant=bias_full,
                                 bias_exp=bias_exp, meta={"source_layer": stage.source_layer}))
        else:
            v0_real = (v0_frac + _per_neuron_float(offset, shape)) * theta
            nodes.append(IFPopulation(
                f"{stage.name}_if", syn.name, shape, threshold=np.full(shape, theta, np.int64),
                v0=np.rint(v0_real).astype(np.int64), bias_mant=bias_full, bias_exp=bias_exp,
                reset=reset, compare=compare, state_t=IntT(spec.state_bits),
                meta={"source_layer": stage.source_layer}))
            src, unit = f"{stage.name}_if", float(lam)
        exact_layer = exact and bias_err == 0.0 and report["max_weight_error"] == 0.0
        reports.append(LayerReport(bias_exp=bias_exp, max_bias_error=bias_err, exact=exact_layer, **report))
    graph = Graph(tuple(nodes), schedule=schedule,
                  meta={**net.meta, "levels": str(net.levels), "target": spec.name})
    bounds = value_bounds(graph)
    fixed = []
    for r, n in zip(reports, [n for n in graph.nodes if isinstance(n, (Dense, Conv))]):
        fixed.append(LayerReport(**{**asdict(r), "accumulator_bound": accumulator_bound(n, bounds[n.source])}))
    verify_graph(graph, spec)
    return graph, ConversionReport(tuple(fixed))


def _make_synapse(stage: FloatStage, src: str, w_eff: np.ndarray, b_eff: np.ndarray, k: int,
                  weight_t: IntT, spec: TargetSpec) -> tuple[Node, dict, int]:
    theta = 1 << k
    target = w_eff * theta
    w_int, w_exp = _mantissa_exponent(target, weight_t)
    lo, hi = spec.weight_exp_range
    if w_exp > hi:
        raise IRError(f"{stage.name}: weight exponent {w_exp} exceeds target {spec.name} range {lo}..{hi}")
    peak = float(np.abs(target).max(initial=0.0)) or 1.0
    err = float(np.abs(w_int * 2.0**w_exp - target).max(initial=0.0)) / peak
    name = f"{stage.name}_syn"
    if stage.kind == "conv":
        syn: Node = Conv(name, src, w_int, stride=stage.stride, padding=stage.padding, weight_exp=w_exp,
                         meta={"source_layer": stage.source_layer})
    else:
        syn = Dense(name, src, w_int, weight_exp=w_exp, meta={"source_layer": stage.source_layer})
    report = {"name": stage.name, "source_layer": stage.source_layer, "threshold": theta,
              "weight_exp": w_exp, "max_weight_error": err, "accumulator_bound": 0}
    return syn, report, theta


def _per_neuron(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast per-output-channel values (axis 0) to the population shape."""
    v = np.asarray(values)
    if v.ndim == 1 and len(shape) == 3:
        v = v[:, None, None]
    return np.broadcast_to(v, shape).astype(np.int64)


def _per_neuron_float(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    v = np.asarray(values, np.float64)
    if v.ndim == 1 and v.size == shape[0] and len(shape) == 3:
        v = v[:, None, None]
    return np.broadcast_to(v, shape)
