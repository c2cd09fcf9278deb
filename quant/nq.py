"""NQ σ estimator: residual error of the integer SNN measured as noise (Huang et al., arXiv 2404.17456).

NQ ("Converting High-Performance and Low-Latency SNNs through Explicit Modelling of Residual Error in ANNs",
docs/methods.md §2) trains the QCFS ANN with additive noise ``y = QCFS(z) − σ_l·ε`` and re-estimates ``σ_l``
after every epoch from an SNN pass over a held-out split.  :class:`NQSigmaEstimator` is that pass, done with
neurodeploy's own conversion and bit-exact integer simulator, so ``σ_l`` also absorbs weight/threshold
rounding and target semantics (methods.md §2.3)::

    graph  = integerize(network_from_brevitas(model))        # the exact integer IF network
    N_l    = spike count of population l after T_val steps   (CPU simulator, plain schedule)
    r_l    = λ_l · N_l / T_val                               (SNN rate in activation units)
    a_l    = λ_l · n_l / L                                   (QCFS ANN output, noise off; n_l its integer level)
    σ_l    = std(a_l − r_l)    pooled over every element of every sample (population std, ddof = 0)

The differences are accumulated exactly as integers ``d = n_l·T_val − N_l·L`` (so ``a − r = λ_l·d/(L·T_val)``),
hence ``σ_1 == 0.0`` exactly when the first layer is exact: constant analog input at ``T_val = L`` with
``v0 = Θ/2`` gives ``N = QCFS_L`` (identity I3, methods.md §0.3).  Deeper layers see accumulated upstream error
(each layer is driven by the upstream *SNN* layers), as in the authors' estimator.  Differences to the authors'
code: σ is the pooled std over all elements (theirs: the square root of the mean per-batch variance), and the
held-out split has no augmentation.

Under ``torchrun`` (a :class:`~neurodeploy.distributed.Context` with ``W`` ranks) each rank simulates its
contiguous ``1/W`` of the held-out split (:func:`~neurodeploy.distributed.shard`) and the three
integer moments ``(count, Σd, Σd²)`` per layer are summed over ranks exactly
(:func:`~neurodeploy.distributed.sum_counts`), so every rank derives the same σ from the whole split.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from torch import nn

from neurodeploy.distributed import Context, shard, sum_counts
from neurodeploy.quant.noise import qcfs_layers
from neurodeploy.quant.qcfs import QCFS

__all__ = ["NQSigmaEstimator", "residual_sigmas", "counts_by_population", "population_layers", "SigmaStats"]

#: Exponent range used when an intermediate model does not fit the requested target.
WIDE_EXP = (-40, 40)


@dataclass
class SigmaStats:
    """Exact integer moments of ``d = n·T − N·L`` for one layer (``count`` elements)."""

    count: int = 0
    total: int = 0
    total_sq: int = 0

    def add(self, d: np.ndarray) -> None:
        d64 = np.asarray(d, np.int64)
        self.count += int(d64.size)
        self.total += int(d64.sum())
        self.total_sq += int((d64 * d64).sum())

    @classmethod
    def summed(cls, stats: Sequence[SigmaStats], context: Context) -> list[SigmaStats]:
        """``stats`` (one per layer) summed over the ranks of ``context``, exactly (int64)."""
        fields = ("count", "total", "total_sq")
        arrays = {f: np.array([getattr(st, f) for st in stats], dtype=np.int64) for f in fields}
        total = sum_counts(arrays, context)
        return [cls(*(int(total[f][i]) for f in fields)) for i in range(len(stats))]

    def std(self, unit: float) -> float:
        """Population std of ``unit·d``; exactly 0.0 when every ``d`` is equal."""
        if self.count == 0:
            return 0.0
        # count²·var = count·Σd² − (Σd)², exact in Python integers
        num = self.count * self.total_sq - self.total * self.total
        if num <= 0:
            return 0.0
        return float(unit * math.sqrt(num) / self.count)


def counts_by_population(counts: Mapping[str, np.ndarray] | Sequence[np.ndarray],
                         populations: Sequence[str]) -> dict[str, np.ndarray]:
    """``brevitas_activations``' integer QCFS counts keyed by IR population name.

    The converter returns a dict keyed by population name; an older converter returned a list in population
    order, which is keyed here by ``populations``.
    """
    if isinstance(counts, Mapping):
        missing = [p for p in populations if p not in counts]
        if missing:
            raise ValueError(f"brevitas_activations gave no counts for population {missing[0]!r}")
        return {p: np.asarray(counts[p]) for p in populations}
    if len(counts) != len(populations):
        raise ValueError(f"brevitas_activations gave {len(counts)} count arrays for {len(populations)} populations")
    return {p: np.asarray(c) for p, c in zip(populations, counts)}


def population_layers(graph: Any, model: nn.Module) -> dict[str, QCFS]:
    """The QCFS module behind each IF population of ``graph`` (converted from ``model``).

    A population whose ``meta`` names exactly one QCFS module (its qualified name, with dots or underscores)
    maps to it; when not every population is named so (the sequential converter names only the synapse), the
    populations are taken in order, one per QCFS layer of :func:`qcfs_layers`.
    """
    pops = list(graph.populations())
    named: dict[str, QCFS] = {}
    for qual, module in model.named_modules():
        if isinstance(module, QCFS):
            named[qual] = named[qual.replace(".", "_")] = module
    found: dict[str, QCFS] = {}
    for pop in pops:
        hits = {id(named[v]): named[v] for v in pop.meta.values() if isinstance(v, str) and v in named}
        if len(hits) == 1:
            found[pop.name] = next(iter(hits.values()))
    if len(found) == len(pops):
        return found
    layers = qcfs_layers(model)
    if len(layers) != len(pops):
        raise ValueError(f"residual_sigmas: {len(layers)} QCFS layers but {len(pops)} populations, and the "
                         "populations do not name their QCFS modules")
    return {pop.name: layer for pop, layer in zip(pops, layers)}


def residual_sigmas(
    model: nn.Module,
    x_int: np.ndarray,
    input_scale: float,
    input_bits: int,
    *,
    steps: int | None = None,
    target: str = "cpu",
    neuron: str = "subtract",
    batch_size: int = 500,
    context: Context | None = None,
) -> tuple[list[float], dict[str, Any]]:
    """``(σ per QCFS layer, details)`` from one integer SNN run of ``steps`` (default ``L``) on ``x_int``.

    ``x_int`` has the model's input shape; with a multi-rank ``context`` this rank simulates only its shard
    of ``x_int`` and the moments are summed over ranks (the same σ on every rank).  σ follows :func:`qcfs_layers` order (what :func:`set_noise`
    takes); a QCFS module behind several populations pools them.  ``details`` holds the per-layer mean of
    ``a − r`` and ``λ_l``; the model's training flag is restored.
    """
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.convert.from_brevitas import brevitas_activations, network_from_brevitas
    from neurodeploy.convert.integerize import integerize
    from neurodeploy.convert.stages import InputSpec
    from neurodeploy.ir.dtypes import IRError
    from neurodeploy.pipeline import NeuronMode
    from neurodeploy.targets import get_target

    layers = qcfs_layers(model)
    if not layers:
        raise ValueError("residual_sigmas: the model has no QCFS layer")
    levels = int(layers[0].levels)
    t_val = int(steps or levels)
    lambdas = [layer.lambda_value() for layer in layers]
    ctx = context or Context()
    x_all = np.asarray(x_int)
    x = x_all[shard(len(x_all), ctx, max(1, -(-len(x_all) // ctx.world)))] if ctx.distributed else x_all
    was_training = model.training
    try:
        spec = InputSpec(tuple(int(s) for s in x_all.shape[1:]), int(input_bits), float(input_scale))
        net = network_from_brevitas(model, spec, {"purpose": "nq-sigma"})
        mode = NeuronMode.named(neuron)
        spec_t = get_target(target)
        widened = False
        try:
            graph, _ = integerize(net, spec_t, reset=mode.reset, compare=mode.compare)
        except IRError:
            # An intermediate model may not fit the target's exponent ranges yet; σ only depends on the
            # neuron dynamics, so convert with the ranges widened (recorded in the details).
            wide = replace(spec_t, name=f"{spec_t.name}-widened", weight_exp_range=WIDE_EXP,
                           bias_exp_range=(0, WIDE_EXP[1]))
            graph, _ = integerize(net, wide, reset=mode.reset, compare=mode.compare)
            widened = True
        owner = population_layers(graph, model)
        index = {id(layer): i for i, layer in enumerate(layers)}
        unused = [i for i, layer in enumerate(layers) if id(layer) not in {id(m) for m in owner.values()}]
        if unused:
            raise ValueError(f"residual_sigmas: QCFS layer {unused[0]} has no population in the converted graph")
        pops = list(owner)
        stats = [SigmaStats() for _ in layers]
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            raw, _ = brevitas_activations(model, xb, float(input_scale), batch_size=batch_size)
            ann_counts = counts_by_population(raw, pops)
            trace = simulate(graph, xb, t_val, probes=pops)
            for name in pops:
                n_snn = trace.spike_counts(name)
                d = ann_counts[name].reshape(n_snn.shape) * t_val - n_snn * levels
                stats[index[id(owner[name])]].add(d)
    finally:
        model.train(was_training)
    stats = SigmaStats.summed(stats, ctx) if ctx.distributed else stats
    units = [lam / (levels * t_val) for lam in lambdas]
    sigmas = [st.std(u) for st, u in zip(stats, units)]
    means = [u * st.total / st.count if st.count else 0.0 for st, u in zip(stats, units)]
    return sigmas, {"widened_target": widened, "steps": t_val, "levels": levels, "lambdas": lambdas, "mean_residual": means}


@dataclass
class NQSigmaEstimator:
    """Callable matching ``neurodeploy.quant.train.SigmaEstimator``: ``(model, x_val, y_val, scale) -> σs``.

    Args:
        input_bits: unsigned bit width of the integer inputs (the dataset's ``input_bits``).
        steps: ``T_val``; ``None`` uses ``L`` (the authors' ``val_sim_len = 4`` with ``L = 4``).
        target, neuron: the integer target and neuron mode to convert for (as ``neurodeploy convert``).
        max_samples: use only the first ``max_samples`` validation inputs (``None``: all of them).
        batch_size: samples per simulator call (memory bound).
        context: under torchrun, the ranks that share the simulation (see :func:`residual_sigmas`).

    Every call appends its details (σ, mean residual, λ) to ``history``.
    """

    input_bits: int
    steps: int | None = None
    target: str = "cpu"
    neuron: str = "subtract"
    max_samples: int | None = None
    batch_size: int = 500
    history: list[dict[str, Any]] = field(default_factory=list)
    context: Context | None = None

    def __call__(self, model: nn.Module, x_val: np.ndarray, y_val: np.ndarray,
                 input_scale: float) -> Sequence[float]:
        x = np.asarray(x_val)
        if self.max_samples is not None:
            x = x[: self.max_samples]
        sigmas, details = residual_sigmas(model, x, input_scale, self.input_bits, steps=self.steps,
                                          target=self.target, neuron=self.neuron, batch_size=self.batch_size,
                                          context=self.context)
        self.history.append({"sigmas": sigmas, **details})
        return sigmas
