"""Accuracy of the three views of one network on the same test set, measured in one run:
the QAT ANN (Brevitas, float), the integer quantized-ANN reference, and the SNN at several T.

Every accuracy is ``correct / samples`` of an integer count of correct predictions (Python's correctly
rounded ``int / int``).  Under ``torchrun`` each rank takes the blocks ``rank, rank + W, ...`` of ``BLOCK``
consecutive samples (:func:`neurodeploy.distributed.shard`), counts on them, and the counts are summed over
ranks exactly (:func:`neurodeploy.distributed.sum_counts`), so the result is the single-process result bit for
bit: the SNN and the integer reference are integer computations, and the ANN's float forward pass sees the
same ``BLOCK``-sample batches (the same rows, the same shapes) as in one process.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.distributed import Context, shard, sum_counts
from neurodeploy.ir.graph import Graph

#: Samples per block: the unit of sharding and the batch of the ANN's forward pass.
BLOCK = 250


def snn_points(graph: Graph, steps: list[int]) -> list[int]:
    """The T values reported for ``steps``: ``steps`` itself, or ``[window]`` for ``two_phase``."""
    return [int(graph.schedule.window)] if graph.schedule.kind == "two_phase" else [int(t) for t in steps]


def snn_correct(graph: Graph, x: np.ndarray, y: np.ndarray, steps: list[int],
                progress: bool = False) -> dict[int, int]:
    """Correct SNN predictions after each T of :func:`snn_points` (useful steps), from one run of max(steps).

    ``plain``: T = total steps.  ``srp``: T counts phase-B steps only (the run lasts tau + T).
    ``two_phase`` (SpikeConverter A): the window fixes the run, so ``steps`` is ignored and the single
    point ``{window: correct}`` is returned (latency ``(D+1)*window``; see :func:`total_steps`).
    """
    from neurodeploy.backends.cpusim import simulate

    points = snn_points(graph, steps)
    if len(y) == 0:
        return {t: 0 for t in points}
    if graph.schedule.kind == "two_phase":
        trace = simulate(graph, x, graph.schedule.window, progress=progress)
        return {points[0]: int((trace.predictions()[-1] == y).sum())}
    trace = simulate(graph, x, max(steps), progress=progress)
    hits = (trace.predictions() == np.asarray(y)[None, :]).sum(axis=1)
    return {t: int(hits[trace.first_useful_step + t - 1]) for t in points}


def snn_accuracy(graph: Graph, x: np.ndarray, y: np.ndarray, steps: list[int],
                 progress: bool = False) -> dict[int, float]:
    """SNN accuracy after each T in ``steps`` (:func:`snn_correct` divided by the number of samples)."""
    return {t: c / len(y) for t, c in snn_correct(graph, x, y, steps, progress).items()}


def total_steps(graph: Graph, steps: list[int] | dict[int, float]) -> dict[int, int]:
    """Total logical steps per input for each useful T: T (plain), tau + T (srp), (D+1)*window (two_phase)."""
    return {int(t): int(graph.schedule.total_steps(int(t), graph.depth)) for t in steps}


def count(graph: Graph, x: np.ndarray, y: np.ndarray, steps: list[int], *, checkpoint: Path | None = None,
          progress: bool = False) -> dict[str, np.ndarray]:
    """Integer counts on ``(x, y)``: ``snn`` (correct per T of :func:`snn_points`), and where they apply
    ``reference`` (correct integer-reference predictions), ``ann`` (correct ANN predictions) and
    ``agreement`` (reference prediction == ANN prediction); each a 1-D int64 array.  ``x`` holds whole
    ``BLOCK``-sample blocks (except, at most, a last partial one)."""
    from neurodeploy.reference import ann_reference

    levels = int(graph.meta.get("levels", "0") or 0)
    out: dict[str, np.ndarray] = {}
    ref_pred = ann_pred = None
    if levels > 0:
        ref_pred = np.argmax(ann_reference(graph, x, levels).logits, axis=1) if len(y) else np.zeros(0, int)
        out["reference"] = np.array([(ref_pred == y).sum()], np.int64)
    if checkpoint is not None:
        from neurodeploy.convert.from_brevitas import brevitas_activations
        from neurodeploy.quant.checkpoint import load_checkpoint

        model, config = load_checkpoint(Path(checkpoint))
        if len(y):
            _, logits = brevitas_activations(model, x, float(config["input_scale"]), batch_size=BLOCK)
            ann_pred = np.argmax(logits, axis=1)
        else:
            ann_pred = np.zeros(0, int)
        out["ann"] = np.array([(ann_pred == y).sum()], np.int64)
        if ref_pred is not None:
            out["agreement"] = np.array([(ann_pred == ref_pred).sum()], np.int64)
    out["snn"] = np.array(list(snn_correct(graph, x, y, steps, progress).values()), np.int64)
    return out


def evaluate(graph: Graph, x: np.ndarray, y: np.ndarray, steps: list[int], *,
             checkpoint: Path | None = None, progress: bool = False,
             context: Context | None = None) -> dict[str, Any]:
    """A dict with ``ann`` (if a checkpoint is given), ``integer_reference``, ``snn`` {T: acc},
    ``total_steps`` {T: total logical steps per input (SRP: tau + T; two_phase: (D+1)*window)}
    and ``agreement`` (fraction of predictions where the integer reference equals the ANN).

    With a multi-rank ``context`` (torchrun) this rank counts its shard of the samples and the counts are
    summed over ranks; every rank returns the same dict, equal to the single-process one."""
    ctx = context or Context()
    y = np.asarray(y)
    n = len(y)
    if n == 0:
        raise ValueError("eval: no test samples")
    if ctx.distributed:
        mine = shard(n, ctx, BLOCK)
        x, y = x[mine], y[mine]
    counts = sum_counts(count(graph, x, y, steps, checkpoint=checkpoint, progress=progress), ctx)
    levels = int(graph.meta.get("levels", "0") or 0)
    result: dict[str, Any] = {"samples": n, "levels": levels, "schedule": graph.schedule.kind}
    if "reference" in counts:
        result["integer_reference"] = int(counts["reference"][0]) / n
    if "ann" in counts:
        result["ann"] = int(counts["ann"][0]) / n
    if "agreement" in counts:
        result["agreement_reference_vs_ann"] = int(counts["agreement"][0]) / n
    result["snn"] = {t: int(c) / n for t, c in zip(snn_points(graph, steps), counts["snn"])}
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
