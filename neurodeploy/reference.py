"""Integer quantized-ANN reference (no spikes, pure integer numpy) and mismatch metrics.

For ``L`` levels, population ``l`` of the graph computes counts (``floor`` division)::

    V   = shift(W @ n_{l-1}, weight_exp) + L * bias         (source is spiking)
    V   = L * (shift(W @ x, weight_exp) + bias)              (source is the analog Input)
    n_l = clip(floor((V + v0') / theta), 0, L)               v0' = v0 (">=") or v0 - 1 (">")

SumPool sums counts, Flatten reshapes, and the readout logits are
``shift(W @ n, weight_exp) + L * bias`` (``L * (shift(W @ x) + bias)`` from the Input).

This equals the SNN exactly where the identities guarantee it (methods.md §0.3, §4.1): the
first population under a plain schedule at ``T = L`` with ``0 <= v0 < theta`` and subtractive
reset (I3), and every layer under ``two_phase`` with ``window = L`` when no state saturates and
every synapse fed by spikes has ``weight_exp >= 0`` (a per-step floor-shift of spikes is not
the floor-shift of their sum otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.backends.cpusim.fast import Synapse, sum_pool
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, IFPopulation, Input, Readout, SumPool

CATEGORIES = ("match", "ann0_snn_pos", "under", "over", "ann_pos_snn0")


@dataclass
class AnnResult:
    """Per-population counts ``(batch, *shape)`` and readout logits ``(batch, *readout shape)``."""

    counts: dict[str, np.ndarray]
    logits: np.ndarray


def ann_reference(graph: Graph, x: np.ndarray, levels: int) -> AnnResult:
    """Run the integer quantized ANN with ``levels`` = L on inputs ``x`` (batch, *input shape)."""
    L = int(levels)
    value: dict[str, np.ndarray] = {}
    bound: dict[str, int] = {}                   # largest magnitude a node emits
    analog: dict[str, bool] = {}                 # does the node carry the (constant) input?
    counts: dict[str, np.ndarray] = {}
    logits = np.zeros(0, np.int64)
    for n in graph.nodes:
        if isinstance(n, Input):
            value[n.name], bound[n.name], analog[n.name] = np.asarray(x, np.int64), n.value_t.hi, True
            continue
        src, is_analog = value[n.source], analog[n.source]
        analog[n.name] = is_analog
        if isinstance(n, (Dense, Conv)):
            value[n.name] = Synapse(n, bound[n.source])(src)            # shift(W @ s, exp), exact
        elif isinstance(n, SumPool):
            value[n.name], bound[n.name] = sum_pool(n, src), bound[n.source] * n.kernel ** 2
        elif isinstance(n, Flatten):
            value[n.name], bound[n.name] = src.reshape(len(src), -1), bound[n.source]
        elif isinstance(n, IFPopulation):
            V = L * (src + n.bias) if is_analog else src + L * n.bias
            offset = n.v0 if n.compare == ">=" else n.v0 - 1                 # v > th <=> v-1 >= th
            counts[n.name] = np.clip(np.floor_divide(V + offset, n.threshold), 0, L)
            value[n.name], bound[n.name], analog[n.name] = counts[n.name], L, False
        elif isinstance(n, Readout):
            logits = L * (src + n.bias) if is_analog else src + L * n.bias
    return AnnResult(counts=counts, logits=logits)


def mismatch_categories(n_ann: np.ndarray, n_snn: np.ndarray) -> dict[str, int]:
    """Counts of: match, ANN=0∧SNN>0, 0<SNN<ANN, SNN>ANN>0, ANN>0∧SNN=0 (methods.md §0.3)."""
    a, s = np.asarray(n_ann), np.asarray(n_snn)
    if a.shape != s.shape:
        raise ValueError(f"mismatch_categories: shapes differ {a.shape} vs {s.shape}")
    return {
        "match": int(np.sum(a == s)),
        "ann0_snn_pos": int(np.sum((a == 0) & (s > 0))),
        "under": int(np.sum((s > 0) & (s < a))),
        "over": int(np.sum((s > a) & (a > 0))),
        "ann_pos_snn0": int(np.sum((a > 0) & (s == 0))),
    }


def layer_local_counts(graph: Graph, trace: Trace, name: str, start: int = 0,
                       stop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n_ann from inputs, n_ann from v(T) via I5, N)`` for population ``name`` over steps
    ``start..stop-1`` of ``trace`` (needs ``record_v`` and ``record_current``; the window must start
    from ``v0``, i.e. step 0 or just after SRP's reload):

        n_ann = clip(floor((v0 + sum_t (I_t + b)) / theta), 0, T)   (layer-local QCFS, L = T)
        n_ann = clip(N + floor(v(T) / theta), 0, T)                  (I5, via I1 conservation)
    """
    pop = graph.node(name)
    if not isinstance(pop, IFPopulation):
        raise ValueError(f"layer_local_counts: {name!r} is not a population")
    stop = trace.steps if stop is None else stop
    T = stop - start
    N = trace.spikes[name][start:stop].sum(axis=0, dtype=np.int64)
    drive = (trace.current[name][start:stop] + pop.bias).sum(axis=0)
    from_inputs = np.clip(np.floor_divide(pop.v0 + drive, pop.threshold), 0, T)
    from_residual = np.clip(N + np.floor_divide(trace.v[name][stop - 1], pop.threshold), 0, T)
    return from_inputs, from_residual, N
