"""Integer quantized-ANN reference (no spikes, pure integer numpy) and mismatch metrics.

For ``L`` levels, a population with synapses ``k`` computes counts (``floor`` division)::

    V   = sum_{k spiking} I_k + L * (sum_{k analog} I_k + bias)
    n   = clip(floor((V + v0') / theta), 0, L)            v0' = v0 (">=") or v0 - 1 (">")

where ``I_k = shift(W_k @ a_k, weight_exp_k)`` (or the conv) of what reaches synapse ``k``: an
*analog* synapse reads values derived from the Input only (constant over time, so the SNN
integrates it ``L`` times); a *spiking* synapse reads values derived from populations only
(their counts ``n``).  A synapse reading both (e.g. a Concat of the Input and a population) has
no such form and is refused with an :class:`IRError` naming it.  SumPool sums counts, Flatten
reshapes, Concat concatenates, and the readout logits are ``V`` without the clip.

This equals the SNN exactly where the identities guarantee it (methods.md §0.3, §4.1): the
first population under a plain schedule at ``T = L`` with ``0 <= v0 < theta`` and subtractive
reset (I3), and every population of a DAG under ``two_phase`` with ``window = L`` when no
state saturates and every spiking synapse has ``weight_exp >= 0`` (a per-step floor-shift of
spikes is not the floor-shift of their sum otherwise).  Two-phase edge delays land every
source's fire window in its consumer's integration window, so shortcuts add counts too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from neurodeploy.backends.cpusim.kernels import Synapse, int_dtype, sum_pool
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation, Node

CATEGORIES = ("match", "ann0_snn_pos", "under", "over", "ann_pos_snn0")
Origin = Literal["analog", "spiking", "mixed"]


@dataclass
class AnnResult:
    """Per-population counts ``(batch, *shape)`` keyed by population name, and readout logits
    ``(batch, *readout shape)``."""

    counts: dict[str, np.ndarray]
    logits: np.ndarray


def _origin(kinds: list[Origin]) -> Origin:
    """``analog`` if every input is, ``spiking`` if every input is, else ``mixed``."""
    return kinds[0] if all(k == kinds[0] for k in kinds) else "mixed"


def _stateless(n: Node, values: list[np.ndarray], bounds: list[int]) -> np.ndarray:
    """Exact value of a synapse or tensor op; synapses and pools use the fast kernels."""
    kind = type(n).__name__
    if n.role == "synapse":
        return Synapse(n, bounds[0])(values[0])                      # type: ignore[arg-type]
    if kind == "SumPool":
        return sum_pool(n, values[0], int_dtype(n.value_bound(bounds))).astype(np.int64)  # type: ignore[arg-type]
    return n.apply(values)                                           # Flatten, Concat: exact int64


def ann_reference(graph: Graph, x: np.ndarray, levels: int) -> AnnResult:
    """Run the integer quantized ANN with ``levels`` = L on inputs ``x`` (batch, *input shape)."""
    graph.check_dataflow()
    L = int(levels)
    value: dict[str, np.ndarray] = {}
    bound: dict[str, int] = {}                   # largest magnitude a node emits (counts: L)
    origin: dict[str, Origin] = {}
    counts: dict[str, np.ndarray] = {}
    logits = np.zeros(0, np.int64)
    for n in graph.nodes:
        ins = list(n.inputs)
        if n.role == "input":
            value[n.name], bound[n.name], origin[n.name] = np.asarray(x, np.int64), n.value_bound([]), "analog"
            continue
        if n.role in ("synapse", "tensor"):
            origin[n.name] = _origin([origin[s] for s in ins])
            if n.role == "synapse" and origin[n.name] == "mixed":
                raise IRError(f"{n.name}: reads both the analog Input and spikes (through {ins[0]!r}); "
                              "the integer ANN reference needs each synapse to read one or the other")
            value[n.name] = _stateless(n, [value[s] for s in ins], [bound[s] for s in ins])
            bound[n.name] = n.value_bound([bound[s] for s in ins])
            continue
        spiking = sum((value[s] for s in ins if origin[s] == "spiking"), 0)
        analog = sum((value[s] for s in ins if origin[s] == "analog"), 0)
        V = spiking + L * (analog + n.bias)                          # type: ignore[union-attr]
        if isinstance(n, IFPopulation):
            offset = n.v0 if n.compare == ">=" else n.v0 - 1         # v > theta <=> v - 1 >= theta
            counts[n.name] = np.clip(np.floor_divide(V + offset, n.threshold), 0, L)
            value[n.name], bound[n.name], origin[n.name] = counts[n.name], L, "spiking"
        else:
            logits = V
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
