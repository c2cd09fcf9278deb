"""``neurodeploy report``: every figure of one network in ``DIR/report.json`` and ``DIR/index.html``.

Contents: the network (``inspect``'s rows), its Loihi 2 core map
(:func:`neurodeploy.backends.lava.resources.map_cores`), accuracy vs T and the conversion error
budget (:mod:`neurodeploy.report.budget`; the stage accuracies are :func:`neurodeploy.evaluate.evaluate`'s),
firing rates and operation counts with energy estimates (:mod:`neurodeploy.report.stats`,
:mod:`neurodeploy.report.energy`) and a spike raster of one sample.  The folder is written
atomically (:func:`neurodeploy.atomic.atomic_dir`) with a manifest of kind ``report``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.ir.graph import Graph
from neurodeploy.report.budget import LayerErrors, float_ann_accuracy, stages
from neurodeploy.report.collect import scan
from neurodeploy.report.energy import with_energy
from neurodeploy.report.stats import OpCounter, useful_steps

REPORT_KIND = "report"


def collect_report(graph: Graph, graph_name: str, x: np.ndarray, y: np.ndarray, steps: list[int], *,
                   checkpoint: Path | None = None, sample: int = 0, chunk: int | None = None,
                   progress: bool = False) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The report document (JSON-ready) and its plots (PNG bytes) for test samples ``x``, ``y``."""
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.backends.lava.resources import map_cores
    from neurodeploy.evaluate import evaluate
    from neurodeploy.pipeline import inspect_graph
    from neurodeploy.plots import (
        plot_accuracy,
        plot_layer_errors,
        plot_operations,
        plot_raster,
        plot_rate_histograms,
    )
    from neurodeploy.targets import LOIHI2

    if not 0 <= sample < len(x):
        raise ValueError(f"--sample: must be in 0..{len(x) - 1}, got {sample}")
    steps = useful_steps(graph, steps)
    evaluation = evaluate(graph, x, y, steps, checkpoint=checkpoint, progress=progress)
    float_acc = float_ann_accuracy(graph, x, y)
    counter, errors = OpCounter(graph, steps), LayerErrors(graph, steps)
    scan(graph, x, y, counter, errors, chunk=chunk, progress=progress)
    stats = with_energy(counter.result())
    layer_errors = errors.result()
    trace = simulate(graph, x[sample:sample + 1], steps[-1], probes="all")
    pred = int(trace.predictions()[-1, 0])
    title = f"sample {sample}: label {int(y[sample])}, prediction {pred} after {trace.steps} steps"
    doc = {
        "graph": graph_name, "dataset": graph.meta.get("dataset", ""), "samples": len(x),
        "schedule": graph.schedule.kind, "steps": steps, "summary": inspect_graph(graph),
        "resources": map_cores(graph, LOIHI2).to_json(),
        "evaluation": evaluation, "float_ann": float_acc,
        "budget": {**stages(evaluation, float_acc, layer_errors), **layer_errors},
        "stats": stats, "raster": {"sample": sample, "label": int(y[sample]), "prediction": pred, "title": title},
    }
    last = str(steps[-1])
    images = {
        "accuracy": plot_accuracy({**evaluation, "float_ann": float_acc}),
        "layer_errors": plot_layer_errors(layer_errors["layers"][last], steps[-1]),
        "rates": plot_rate_histograms({p: v["count_histogram"] for p, v in stats["per_T"][last]["populations"].items()},
                                      stats["per_T"][last]["total_steps"]),
        "operations": plot_operations(stats["layers"], stats["per_T"]),
        "raster": plot_raster({k: v[:, 0] for k, v in trace.spikes.items()}, title=title),
    }
    return doc, images


def write_report(out: Path, doc: dict[str, Any], images: dict[str, bytes], inputs: tuple[Path, ...]) -> Path:
    """``out/index.html``, ``out/report.json`` and ``out/manifest.json``, swapped in as a whole; refuses
    an ``out`` that is a file, a foreign non-empty folder or overlaps ``inputs``."""
    from neurodeploy.atomic import atomic_dir, write_bytes, write_json
    from neurodeploy.manifest import write_manifest
    from neurodeploy.report.html import render

    page = render(doc, images)
    with atomic_dir(Path(out), inputs=inputs, kind=REPORT_KIND) as tmp:
        write_json(tmp / "report.json", doc)
        write_bytes(tmp / "index.html", page.encode("utf-8"))
        write_manifest(tmp, REPORT_KIND, {"graph": doc["graph"]})
    return Path(out)
