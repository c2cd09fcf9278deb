"""Public entry point of the CPU simulator: :func:`simulate`.

``simulate`` checks the inputs against the graph's ``Input`` type, resolves probes and runs
``schedule.total_steps(steps, depth)`` logical steps with the fast batched simulator
(default) or the readable reference interpreter; both are bit-identical.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurodeploy.backends.cpusim import fast, reference
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph


def check_inputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    """``x`` as int64 (batch, *input shape); raises naming the Input on shape/type/range errors."""
    inp = graph.input
    a = np.asarray(x)
    if a.ndim != len(inp.shape) + 1 or tuple(a.shape[1:]) != tuple(inp.shape):
        raise IRError(f"{inp.name}: expected inputs of shape (batch, {', '.join(map(str, inp.shape))}), "
                      f"got {a.shape}")
    if a.size and a.dtype.kind not in "iub":
        raise IRError(f"{inp.name}: expected integer inputs, got dtype {a.dtype}")
    inp.value_t.check(a.astype(np.int64), f"{inp.name} (input values)")
    return a.astype(np.int64)


def resolve_probes(graph: Graph, probes: Sequence[str] | str) -> list[str]:
    """Population names to record; ``"all"`` = every population; unknown names raise."""
    names = [p.name for p in graph.populations()]
    if isinstance(probes, str):
        if probes == "all":
            return names
        probes = [probes]
    unknown = [p for p in probes if p not in names]
    if unknown:
        raise ValueError(f"probes: {unknown} are not populations of this graph (populations: {names})")
    return list(dict.fromkeys(probes))


def simulate(graph: Graph, x: np.ndarray, steps: int, *, probes: Sequence[str] | str = (),
             record_v: bool = False, record_current: bool = False, impl: str = "fast",
             chunk: int = 1000, progress: bool = False) -> Trace:
    """Run integer inputs ``x`` for ``steps`` useful steps; returns a :class:`Trace` in logical time.

    The run lasts ``graph.schedule.total_steps(steps, graph.depth)`` steps and
    ``Trace.first_useful_step`` is 0 (plain), ``tau`` (srp) or ``D * window`` (two_phase).
    """
    if steps < 0:
        raise ValueError(f"steps: must be >= 0, got {steps}")
    xs = check_inputs(graph, x)
    names = resolve_probes(graph, probes)
    total = graph.schedule.total_steps(steps, graph.depth)
    if impl == "fast":
        return fast.run(graph, xs, total, names, record_v, record_current, chunk=chunk,
                        progress=progress)
    if impl == "reference":
        return reference.run(graph, xs, total, names, record_v, record_current)
    raise ValueError(f"impl: expected 'fast' or 'reference', got {impl!r}")
