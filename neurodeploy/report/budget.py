"""The conversion error budget: where the accuracy goes, stage by stage and layer by layer.

**Stages** (accuracy on the same test samples): float ANN (only for graphs converted from a
float model, whose meta names it) -> QAT ANN (Brevitas, given ``--checkpoint``) -> integer
reference (L levels) -> SNN at each T.  The last three are :func:`neurodeploy.evaluate.evaluate`'s
own figures (that function computes them, so they are ``eval``'s).  The loss from the integer
reference to the SNN at T is split exactly, as a difference of accuracies, into

    ref_L - SNN_T = (ref_L - ref_T)  [quantisation to T levels]  +  (ref_T - SNN_T)  [temporal]

where ``ref_T`` is the integer reference with ``levels = T``
(:func:`neurodeploy.reference.ann_reference`): what an SNN of T steps reaches without any
temporal error (at ``T = L`` it is the integer reference itself).

**Layers.** For each population and T, the reference's counts ``n = ref_T`` are compared with
the SNN's spike counts ``N`` over the T useful steps (SRP: after the pre-simulation; two-phase:
the whole run, the window being T) in two views: *accumulated* (the real SNN) and *isolated*
(the population alone, fed the reference's exact input, :mod:`neurodeploy.report.isolated`;
plain schedule only).  Per view: the mismatch categories of
:func:`neurodeploy.reference.mismatch_categories` (match, ANN = 0 < SNN, 0 < SNN < ANN,
SNN > ANN > 0, ANN > 0 = SNN) and the mean absolute count error ``mean |n - N|`` over neurons and
samples.  A layer whose isolated error is small but accumulated error large inherits its error;
a large isolated error is the layer's own.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.graph import Graph
from neurodeploy.reference import CATEGORIES, AnnResult, mismatch_categories
from neurodeploy.report.isolated import isolated_counts
from neurodeploy.report.stats import useful_steps


def count_window(graph: Graph, t: int) -> tuple[int, int]:
    """Steps ``[start, stop)`` of a run whose spikes are the T-step counts (see module docstring)."""
    if graph.schedule.kind == "two_phase":
        return 0, int(graph.schedule.total_steps(t, graph.depth))
    first = int(graph.schedule.first_useful_step(graph.depth))
    return first, first + t


def _empty() -> dict[str, int]:
    return {**dict.fromkeys(CATEGORIES, 0), "neurons": 0, "abs_error_total": 0}


def _add(block: dict[str, int], n_ref: np.ndarray, n_snn: np.ndarray) -> None:
    for key, value in mismatch_categories(n_ref, n_snn).items():
        block[key] += value
    block["neurons"] += int(n_ref.size)
    block["abs_error_total"] += int(np.abs(np.asarray(n_ref, np.int64) - n_snn).sum())


def _finish(block: dict[str, int]) -> dict[str, Any]:
    n = max(block["neurons"], 1)
    return {**block, "mean_abs_error": block["abs_error_total"] / n,
            "mismatch_fraction": 1.0 - block["match"] / n}


class LayerErrors:
    """Accumulates the per-layer comparison of the module docstring over chunks (:meth:`add`)."""

    def __init__(self, graph: Graph, steps: list[int], isolated: bool = True) -> None:
        self.graph = graph
        self.steps = useful_steps(graph, steps)
        self.isolated = isolated and graph.schedule.kind == "plain"
        self.pops = [p.name for p in graph.populations()]
        self.acc = {t: {p: _empty() for p in self.pops} for t in self.steps}
        self.iso = {t: {p: _empty() for p in self.pops} for t in self.steps}
        self.agree = dict.fromkeys(self.steps, 0)
        self.ref_correct = dict.fromkeys(self.steps, 0)
        self.samples = 0
        self.labelled = True

    def add(self, x: np.ndarray, y: np.ndarray | None, trace: Trace, refs: dict[int, AnnResult]) -> None:
        """One chunk: inputs, labels (or None), its trace (all populations probed) and the integer
        reference at ``levels = T`` for every T."""
        self.samples += len(x)
        self.labelled = self.labelled and y is not None
        preds = trace.predictions()
        for t in self.steps:
            ref = refs[t]
            start, stop = count_window(self.graph, t)
            for p in self.pops:
                _add(self.acc[t][p], ref.counts[p], trace.spikes[p][start:stop].sum(axis=0, dtype=np.int64))
                if self.isolated:
                    _add(self.iso[t][p], ref.counts[p], isolated_counts(self.graph, p, x, ref.counts, t))
            ref_pred = np.argmax(ref.logits, axis=1)
            self.agree[t] += int(np.sum(ref_pred == preds[stop - 1]))
            if y is not None:
                self.ref_correct[t] += int(np.sum(ref_pred == y))

    def result(self) -> dict[str, Any]:
        n = max(self.samples, 1)
        layers = {str(t): {p: {"accumulated": _finish(self.acc[t][p]),
                               "isolated": _finish(self.iso[t][p]) if self.isolated else None}
                           for p in self.pops} for t in self.steps}
        at_t = {str(t): {"snn_agrees_with_reference": self.agree[t] / n,
                         "reference_accuracy": self.ref_correct[t] / n if self.labelled else None}
                for t in self.steps}
        note = "" if self.isolated else (f"isolated view not computed: defined for the plain schedule, the graph's is "
                                         f"{self.graph.schedule.kind!r}")
        return {"samples": self.samples, "layers": layers, "reference_at_T": at_t, "isolated_note": note}


def float_ann_accuracy(graph: Graph, x: np.ndarray, y: np.ndarray) -> float | None:
    """Accuracy of the float model a float-route graph was converted from (its meta names the
    model and state_dict); None for QAT graphs (trained quantised from the start)."""
    if graph.meta.get("route") != "float" or not graph.meta.get("model"):
        return None
    import torch

    from neurodeploy.convert.from_float import load_float_model

    model = load_float_model(graph.meta["model"], graph.meta.get("state_dict") or None)
    with torch.no_grad():
        logits = model(torch.as_tensor(x * graph.input.scale, dtype=torch.float32)).numpy()
    return float(np.mean(np.argmax(logits, axis=1) == y))


def stages(evaluation: dict[str, Any], float_acc: float | None, layer_result: dict[str, Any]) -> dict[str, Any]:
    """Stage accuracies (``evaluation`` is :func:`neurodeploy.evaluate.evaluate`'s result) and the
    losses between them; each SNN row's loss is from the last stage (the integer reference when the
    graph records L), split as in the module docstring when the reference is known."""
    rows: list[dict[str, Any]] = []
    if float_acc is not None:
        rows.append({"stage": "float ANN", "accuracy": float_acc})
    if "ann" in evaluation:
        rows.append({"stage": "QAT ANN (Brevitas)", "accuracy": evaluation["ann"]})
    ref = evaluation.get("integer_reference")
    if ref is not None:
        rows.append({"stage": f"integer reference (L={evaluation['levels']})", "accuracy": ref})
    for i, row in enumerate(rows[1:], 1):
        row["loss_from_previous"] = rows[i - 1]["accuracy"] - row["accuracy"]
    snn = []
    for t, acc in sorted(evaluation["snn"].items()):
        entry: dict[str, Any] = {"T": int(t), "accuracy": acc,
                                 "total_steps": evaluation["total_steps"][t]}
        if rows:
            entry["loss_from_last_stage"] = rows[-1]["accuracy"] - acc
        ref_t = layer_result["reference_at_T"].get(str(t), {}).get("reference_accuracy")
        if ref is not None and ref_t is not None:
            entry.update(quantisation_to_T_levels=ref - ref_t, temporal=ref_t - acc, reference_at_T=ref_t)
        snn.append(entry)
    return {"stages": rows, "snn": snn}
