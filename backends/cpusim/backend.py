"""``CpuSimBackend``: the bit-exact CPU simulator behind the :class:`Backend` protocol.

``emit`` writes (atomically) ``graph.json`` + ``arrays.npz``, optional ``vectors.npz`` (inputs,
expected readout after the last step, per-population spike counts) and ``manifest.json``.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from neurodeploy.atomic import atomic_dir, write_bytes
from neurodeploy.backends.cpusim.simulate import simulate
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.serialize import graph_to_json, write_graph_files
from neurodeploy.ir.verify import verify_graph
from neurodeploy.manifest import write_manifest
from neurodeploy.targets import CPU, TargetSpec

VECTORS_FILE = "vectors.npz"


class CpuSimBackend:
    """Runs graphs with :func:`neurodeploy.backends.cpusim.simulate` (fast implementation)."""

    name: ClassVar[str] = "cpu"

    def check(self, graph: Graph, spec: TargetSpec = CPU, steps: int | None = None) -> list[str]:
        """``[]`` when ``graph`` satisfies every invariant of ``spec`` (including the dataflow
        structure of a DAG, :meth:`Graph.check_dataflow`), else the first violation.  ``steps``
        is accepted for the backends' common signature: the simulator has no per-sample limit."""
        try:
            verify_graph(graph, spec)
        except IRError as exc:
            return [str(exc)]
        return []

    def emit(self, graph: Graph, out: Path, *, samples: np.ndarray | None = None,
             steps: int = 8) -> Path:
        """Write the artifact folder ``out`` atomically; test vectors when ``samples`` are given."""
        problems = self.check(graph)
        if problems:
            raise IRError(f"cpu emit: {problems[0]}")
        doc, arrays = graph_to_json(graph)
        with atomic_dir(Path(out)) as tmp:
            write_graph_files(doc, arrays, tmp)
            extra: dict[str, object] = {"steps": int(steps), "schedule": doc["schedule"],
                                        "graph_content_sha256": doc["content_sha256"]}
            if samples is not None:
                trace = simulate(graph, samples, steps, probes="all")
                vectors = {"inputs": np.asarray(samples, np.int64), "readout": trace.readout[-1]}
                vectors.update({f"counts/{k}": trace.spike_counts(k) for k in trace.spikes})
                buf = io.BytesIO()
                np.savez_compressed(buf, **vectors)
                write_bytes(tmp / VECTORS_FILE, buf.getvalue())
                extra["vectors"] = sorted(vectors)
            write_manifest(tmp, "cpu", extra)
        return Path(out)

    def run(self, graph: Graph, x: np.ndarray, steps: int, probes: Sequence[str] = ()) -> Trace:
        """Simulate ``x`` for ``steps`` useful steps (logical time)."""
        return simulate(graph, x, steps, probes=probes)
