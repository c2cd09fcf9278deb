"""The isolated view of a layer: one population simulated alone, fed the reference's exact input.

In the real SNN (the *accumulated* view) a population's error mixes its own temporal error with
everything its sources got wrong.  The isolated view removes the second part: population ``P``
is simulated by itself for ``T`` steps (plain schedule), and every spike source of its synapses
(:mod:`neurodeploy.report.fanout`) delivers exactly the integer reference's count
``n = ref_T[S]`` (:func:`neurodeploy.reference.ann_reference` with ``levels = T``), as the
evenly spread train

    s(t) = floor((t n + h) / T) - floor(((t - 1) n + h) / T),   t = 1..T,   h = floor(T / 2)

(``n`` spikes for ``0 <= n <= T``: the train an IF neuron with constant drive ``n`` and
threshold ``T`` starting at ``h`` emits); the Input delivers ``x`` at every step as in the
SNN.  Synapses are the simulator's exact kernels (:class:`~neurodeploy.backends.cpusim.kernels.Synapse`),
tensor ops their own ``apply``, the neuron the reference interpreter's ``if_update``.  What is
left, ``N_isolated`` vs the reference count, is the layer's own conversion error: spike-timing
effects inside the layer (a residual ``v(T)`` outside ``[0, theta)``, per-step floor shifts).
For the first population (fed by the Input) both views coincide.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.backends.cpusim.kernels import Synapse
from neurodeploy.backends.cpusim.reference import if_update
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation
from neurodeploy.report.fanout import source_fanouts, synapse_input


def regular_train(counts: np.ndarray, steps: int) -> np.ndarray:
    """``(steps, *counts.shape)`` uint8 trains with ``counts`` spikes each, evenly spread (see module)."""
    n = np.asarray(counts, np.int64)
    if n.size and (n.min() < 0 or n.max() > steps):
        raise ValueError(f"regular_train: counts must be in 0..{steps}")
    t = np.arange(steps + 1, dtype=np.int64).reshape(-1, *([1] * n.ndim))
    cumulative = (t * n[None] + steps // 2) // steps
    return np.diff(cumulative, axis=0).astype(np.uint8)


def isolated_counts(graph: Graph, population: str, x: np.ndarray, ref_counts: dict[str, np.ndarray],
                    steps: int) -> np.ndarray:
    """Spike counts ``(batch, *shape)`` of ``population`` simulated alone for ``steps`` steps, its
    spiking sources replaced by regular trains of ``ref_counts`` (plain schedule only)."""
    if graph.schedule.kind != "plain":
        raise ValueError(f"isolated view: defined for the plain schedule, not {graph.schedule.kind!r}")
    pop = graph.node(population)
    if not isinstance(pop, IFPopulation):
        raise TypeError(f"isolated view: {population!r} is not a population")
    batch, inp = len(x), graph.input.name
    bounds = graph.value_bounds()
    current = np.zeros((steps, batch, *pop.shape), np.int64)
    for k in pop.inputs:
        syn = graph.node(k)
        kernel = Synapse(syn, bounds[syn.inputs[0]])                                  # type: ignore[arg-type]
        sources = list(source_fanouts(graph, k))
        if sources == [inp]:                                  # the same current at every step
            current += kernel(synapse_input(graph, k, {inp: x}))[None]
            continue
        values = {}
        for src in sources:
            series = (np.broadcast_to(x, (steps, *x.shape)) if src == inp
                      else regular_train(ref_counts[src], steps))
            values[src] = series.reshape(steps * batch, *series.shape[2:])
        current += kernel(synapse_input(graph, k, values)).reshape(steps, batch, *pop.shape)
    v = np.broadcast_to(pop.v0, (batch, *pop.shape)).astype(np.int64)
    n = np.zeros((batch, *pop.shape), np.int64)
    for t in range(steps):
        v, s = if_update(pop, v, current[t], True, True, False)
        n += s
    return n
