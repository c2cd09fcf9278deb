"""Accuracy of the three views of one network on the same test set, measured in one run:
the QAT ANN (Brevitas, float), the integer quantized-ANN reference, and the SNN at several T."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.ir.graph import Graph


def snn_accuracy(graph: Graph, x: np.ndarray, y: np.ndarray, steps: list[int],
                 progress: bool = False) -> dict[int, float]:
    """SNN accuracy after each T in ``steps`` (useful steps), from one run of max(steps).

    ``plain``: T = total steps.  ``srp``: T counts phase-B steps only (the run lasts tau + T).
    ``two_phase`` (SpikeConverter A): the window fixes the run, so ``steps`` is ignored and the single
    point ``{window: accuracy}`` is returned (latency ``(D+1)*window``; see :func:`total_steps`).
    """
    from neurodeploy.backends.cpusim import simulate

    if graph.schedule.kind == "two_phase":
        trace = simulate(graph, x, graph.schedule.window, progress=progress)
        return {int(graph.schedule.window): float(trace.accuracy_per_step(y)[-1])}
    trace = simulate(graph, x, max(steps), progress=progress)
    acc = trace.accuracy_per_step(y)
    return {t: float(acc[trace.first_useful_step + t - 1]) for t in steps}


def total_steps(graph: Graph, steps: list[int] | dict[int, float]) -> dict[int, int]:
    """Total logical steps per input for each useful T: T (plain), tau + T (srp), (D+1)*window (two_phase)."""
    return {int(t): int(graph.schedule.total_steps(int(t), graph.depth)) for t in steps}


def evaluate(graph: Graph, x: np.ndarray, y: np.ndarray, steps: list[int], *,
             checkpoint: Path | None = None, progress: bool = False) -> dict[str, Any]:
    """A dict with ``ann`` (if a checkpoint is given), ``integer_reference``, ``snn`` {T: acc},
    ``total_steps`` {T: total logical steps per input (SRP: tau + T; two_phase: (D+1)*window)}
    and ``agreement`` (fraction of predictions where the integer reference equals the ANN)."""
    from neurodeploy.reference import ann_reference

    levels = int(graph.meta.get("levels", "0") or 0)
    result: dict[str, Any] = {"samples": int(len(y)), "levels": levels, "schedule": graph.schedule.kind}
    if levels > 0:
        ref = ann_reference(graph, x, levels)
        ref_pred = np.argmax(ref.logits, axis=1)
        result["integer_reference"] = float((ref_pred == y).mean())
    if checkpoint is not None:
        from neurodeploy.convert.from_brevitas import brevitas_activations
        from neurodeploy.quant.checkpoint import load_checkpoint

        model, config = load_checkpoint(Path(checkpoint))
        _, logits = brevitas_activations(model, x, float(config["input_scale"]))
        ann_pred = np.argmax(logits, axis=1)
        result["ann"] = float((ann_pred == y).mean())
        if levels > 0:
            result["agreement_reference_vs_ann"] = float((ann_pred == ref_pred).mean())
    result["snn"] = snn_accuracy(graph, x, y, steps, progress=progress)
    result["total_steps"] = total_steps(graph, result["snn"])
    if graph.schedule.kind == "srp":
        result["tau"] = int(graph.schedule.tau)
    return result


def format_table(result: dict[str, Any]) -> str:
    """A plain-text accuracy table."""
    lines = [f"{'network':<28}{'accuracy':>10}"]
    if "ann" in result:
        lines.append(f"{'QAT ANN (Brevitas)':<28}{100 * result['ann']:>9.2f}%")
    if "integer_reference" in result:
        lines.append(f"{'integer reference':<28}{100 * result['integer_reference']:>9.2f}%")
    totals = result.get("total_steps", {})
    for t, acc in sorted(result["snn"].items()):
        label = f"SNN T={t}" if totals.get(t, t) == t else f"SNN T={t} (total {totals[t]})"
        lines.append(f"{label:<28}{100 * acc:>9.2f}%")
    if "agreement_reference_vs_ann" in result:
        lines.append(f"integer reference == ANN on {100 * result['agreement_reference_vs_ann']:.2f}% "
                     f"of {result['samples']} predictions")
    return "\n".join(lines)
