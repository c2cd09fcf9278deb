"""One pass over the samples, in chunks: simulate (every population probed, membrane potentials
recorded), run the integer reference, and feed the operation counter and the layer-error
accumulator.  Every number they produce comes from these exact integer traces."""
from __future__ import annotations

import numpy as np

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.reference import AnnResult, ann_reference
from neurodeploy.report.budget import LayerErrors
from neurodeploy.report.stats import OpCounter, graph_levels, useful_steps

MEMORY_BUDGET = 256 << 20     # bytes of recorded spikes and potentials per chunk


def chunk_size(graph: Graph, run_steps: int) -> int:
    """Samples per chunk so one chunk's trace (uint8 spikes + int64 potentials of every
    population, ``total_steps`` long) stays within :data:`MEMORY_BUDGET`."""
    total = int(graph.schedule.total_steps(run_steps, graph.depth))
    neurons = sum(int(np.prod(p.shape)) for p in graph.populations())
    return int(max(1, min(1024, MEMORY_BUDGET // max(1, total * neurons * 9))))


def scan(graph: Graph, x: np.ndarray, y: np.ndarray | None, counter: OpCounter,
         errors: LayerErrors | None = None, chunk: int | None = None, progress: bool = False) -> None:
    """Feed ``counter`` (and ``errors``) every sample of ``x`` (labels ``y``), chunk by chunk.

    The integer reference runs at the graph's L levels (for the ANN's effective MACs; a graph the
    reference cannot run leaves them unknown) and, for ``errors``, at ``levels = T`` for each T."""
    from tqdm import tqdm

    from neurodeploy.backends.cpusim import simulate

    steps = useful_steps(graph, counter.steps)
    levels = graph_levels(graph)
    size = chunk or chunk_size(graph, steps[-1])
    starts = range(0, len(x), size)
    for start in tqdm(starts, desc="simulate", unit="chunk", disable=not progress or len(starts) < 2):
        xc = x[start:start + size]
        yc = None if y is None else y[start:start + size]
        trace = simulate(graph, xc, steps[-1], probes="all", record_v=True)
        at_l: AnnResult | None = None
        if levels > 0:
            try:
                at_l = ann_reference(graph, xc, levels)
            except IRError:
                if errors is not None:
                    raise
        counter.add(xc, trace, at_l)
        if errors is not None:
            errors.add(xc, yc, trace, {t: ann_reference(graph, xc, t) for t in errors.steps})
