"""Pictures where they beat a table: accuracy against time steps, spike rasters, firing-rate
histograms, the per-layer error budget and operation counts.

Every function returns the PNG's bytes (for the self-contained HTML report) and, given a
``path``, also writes them there atomically.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.atomic import write_bytes

MISMATCH_COLOURS = {"ann0_snn_pos": "#d62728", "under": "#ff7f0e", "over": "#9467bd", "ann_pos_snn0": "#8c564b"}
MISMATCH_LABELS = {"ann0_snn_pos": "ANN=0 < SNN", "under": "0 < SNN < ANN", "over": "SNN > ANN > 0",
                   "ann_pos_snn0": "ANN > 0 = SNN"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Any, path: Path | None) -> bytes:
    """PNG bytes of ``fig`` (closed afterwards), also written atomically to ``path`` if given."""
    plt = _pyplot()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        write_bytes(Path(path), data)
    return data


def plot_accuracy(result: dict[str, Any], path: Path | None = None) -> bytes:
    """Accuracy vs time steps, with the ANN and integer reference as horizontal lines."""
    plt = _pyplot()
    ts = sorted(result["snn"], key=int)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([int(t) for t in ts], [100 * result["snn"][t] for t in ts], "o-", label="SNN (integer, bit-exact)")
    if result.get("float_ann") is not None:
        ax.axhline(100 * result["float_ann"], color="b", ls="-.", label="float ANN")
    if "ann" in result:
        ax.axhline(100 * result["ann"], color="k", ls="--", label="QAT ANN")
    if "integer_reference" in result:
        ax.axhline(100 * result["integer_reference"], color="g", ls=":", label="integer reference")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="lower right")
    return _finish(fig, path)


def plot_raster(spikes: dict[str, np.ndarray], path: Path | None = None, title: str = "",
                max_neurons: int = 256) -> bytes:
    """One panel per population: neuron index against logical time step, a tick per spike.

    ``spikes[name]`` is ``(steps, *shape)`` for one sample (uint8); at most ``max_neurons``
    neurons (the first, in C order) are drawn per panel, the spike total counts them all."""
    plt = _pyplot()
    names = list(spikes)
    fig, axes = plt.subplots(len(names), 1, figsize=(6, 1.6 * len(names) + 0.6), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        full = spikes[name].reshape(spikes[name].shape[0], -1)
        s = full[:, :max_neurons]
        t, n = np.nonzero(s)
        ax.scatter(t + 1, n, s=2, marker="|", color="k")
        ax.set_ylabel(f"{name}\nneuron", fontsize=8)
        ax.set_xlim(0.5, s.shape[0] + 0.5)
        ax.set_ylim(-0.5, s.shape[1] - 0.5)
        shown = f"first {s.shape[1]} of {full.shape[1]} neurons, " if full.shape[1] > s.shape[1] else ""
        ax.text(1.0, 1.0, f"{shown}{int(full.sum())} spikes", transform=ax.transAxes, ha="right", va="bottom", fontsize=7)
    axes[-1, 0].set_xlabel("logical time step")
    if title:
        fig.suptitle(title, fontsize=9)
    return _finish(fig, path)


def plot_rate_histograms(histograms: dict[str, list[int]], steps: int, path: Path | None = None) -> bytes:
    """Per population: the fraction of (sample, neuron) pairs firing ``k`` spikes in ``steps`` steps,
    against the firing rate ``k / steps`` (log scale: silent neurons dominate)."""
    plt = _pyplot()
    names = list(histograms)
    cols = min(3, max(1, len(names)))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        counts = np.asarray(histograms[name], np.float64)
        frac = counts / max(counts.sum(), 1)
        ax.bar(np.arange(len(frac)) / steps, np.where(frac > 0, frac, np.nan), width=0.8 / steps, color="#1f77b4")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("firing rate (spikes / step)", fontsize=8)
        ax.set_ylabel("fraction of neurons", fontsize=8)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    return _finish(fig, path)


def plot_layer_errors(layers: dict[str, dict[str, Any]], steps: int, path: Path | None = None) -> bytes:
    """Per population, side by side for the accumulated (A) and isolated (I) views: the four
    mismatch categories stacked, in % of neurons x samples."""
    plt = _pyplot()
    names = list(layers)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(names) + 2), 3.5))
    x = np.arange(len(names))
    for offset, view in ((-0.2, "accumulated"), (0.2, "isolated")):
        bottom = np.zeros(len(names))
        for cat, colour in MISMATCH_COLOURS.items():
            vals = np.array([100.0 * b[view][cat] / max(b[view]["neurons"], 1) if b.get(view) else 0.0
                             for b in layers.values()])
            ax.bar(x + offset, vals, 0.38, bottom=bottom, color=colour, hatch="" if view == "accumulated" else "//",
                   label=MISMATCH_LABELS[cat] if view == "accumulated" else None, edgecolor="white")
            bottom += vals
    ax.set_xticks(x, [f"{n}\nA | I" for n in names], fontsize=8)
    ax.set_ylabel("mismatching neurons (%)")
    ax.set_title(f"count mismatches vs the integer reference at T = {steps} (A accumulated, I isolated)", fontsize=9)
    ax.legend(fontsize=7)
    return _finish(fig, path)


def plot_operations(layers: list[dict[str, Any]], per_t: dict[str, Any], path: Path | None = None) -> bytes:
    """Per synapse (log scale): the equivalent ANN's dense MACs and the SNN's synaptic operations
    (ACs + input MACs) per inference at each T."""
    plt = _pyplot()
    names = [layer["synapse"] for layer in layers]
    ts = sorted(per_t, key=int)
    width = 0.8 / (len(ts) + 1)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(names) + 2), 3.5))
    ax.bar(x, [layer["ann_macs"] for layer in layers], width, color="k", label="ANN MACs")
    for i, t in enumerate(ts, 1):
        ax.bar(x + i * width, [max(per_t[t]["synapses"][n]["synops"], 1e-3) for n in names], width,
               label=f"SNN ops, T={t}")
    ax.set_yscale("log")
    ax.set_xticks(x + width * len(ts) / 2, names, fontsize=8)
    ax.set_ylabel("operations per inference")
    ax.legend(fontsize=7)
    return _finish(fig, path)
