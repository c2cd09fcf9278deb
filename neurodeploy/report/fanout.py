"""Fan-out of spike sources into a synapse, and the value a synapse reads.

A synapse ``k`` (Dense or Conv) reads its source through synapse-free tensor ops (SumPool,
Flatten, Concat) from one or more *spike sources*: populations, or the Input
(:meth:`Graph.spike_sources`).  One event on element ``j`` of spike source ``S`` drives

    fanout_{k,S}[j] = (P_1^T ... P_m^T f_k)[j]

synaptic operations in ``k``, where ``f_k`` is the synapse's own per-input-element fan-out
(:meth:`Dense.fanout` / :meth:`Conv.fanout`: non-zero weights leaving the element, in-bounds
taps only) and ``P_i^T`` are the transposes of the tensor ops on the path (``fanout_back``: a
pool passes an event into every window holding it, Flatten reshapes, Concat splits).  For a
non-overlapping pool this is exactly the fan-out of the pool-folded synapse the Lava backend
builds (:mod:`neurodeploy.passes.fold_pooling`); overlapping windows count an event once per
window.  Every count is an exact int64.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.ir.graph import Graph
from neurodeploy.reference import _stateless  # exact tensor ops on the simulator's kernels


def source_fanouts(graph: Graph, synapse: str, nonzero_only: bool = True) -> dict[str, np.ndarray]:
    """``{spike source: fanout_{k,S}}`` for synapse ``synapse`` (each array has the source's shape)."""
    shapes = graph.shapes()
    syn = graph.node(synapse)
    src = syn.inputs[0]
    pending: dict[str, np.ndarray] = {src: syn.fanout(shapes[src], nonzero_only)}  # type: ignore[union-attr]
    out: dict[str, np.ndarray] = {}
    for node in reversed(graph.nodes):                      # reverse topological: all users come first
        f = pending.pop(node.name, None)
        if f is None:
            continue
        if node.role != "tensor":                           # a population or the Input: a spike source
            out[node.name] = f
            continue
        ins = list(node.inputs)
        for name, part in zip(ins, node.fanout_back(f, [shapes[s] for s in ins])):  # type: ignore[union-attr]
            pending[name] = pending[name] + part if name in pending else part
    return out


def synapse_input(graph: Graph, synapse: str, values: dict[str, np.ndarray],
                  bounds: dict[str, int] | None = None) -> np.ndarray:
    """The exact int64 value synapse ``synapse`` reads, from ``values`` of its spike sources (each
    ``(batch, *shape)``, magnitudes within ``bounds``; default: the graph's value bounds, i.e. spikes
    and the Input's range), through the tensor ops in between (the integer reference's evaluation)."""
    limits = {**graph.value_bounds(), **(bounds or {})}

    def value(name: str) -> tuple[np.ndarray, int]:
        if name in values:
            return np.asarray(values[name]), limits[name]
        node = graph.node(name)
        if node.role != "tensor":
            raise ValueError(f"synapse_input: no value given for spike source {name!r} of {synapse!r}")
        ins = [value(s) for s in node.inputs]
        in_bounds = [b for _, b in ins]
        return _stateless(node, [v for v, _ in ins], in_bounds), node.value_bound(in_bounds)

    return np.asarray(value(graph.node(synapse).inputs[0])[0], np.int64)


def synapses(graph: Graph) -> list[str]:
    """Names of the Dense and Conv nodes in topological order."""
    return [n.name for n in graph.nodes if n.role == "synapse"]


def target_of(graph: Graph, synapse: str) -> str:
    """The population or readout a synapse feeds (exactly one, :meth:`Graph.check_dataflow`)."""
    return graph.consumers[synapse][0].name
