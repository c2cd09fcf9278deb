"""Pictures where they beat a table: accuracy against time steps, and spike rasters."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy(result: dict[str, Any], path: Path) -> None:
    """Accuracy vs time steps, with the ANN and integer reference as horizontal lines."""
    plt = _pyplot()
    ts = sorted(result["snn"])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ts, [100 * result["snn"][t] for t in ts], "o-", label="SNN (integer, bit-exact)")
    if "ann" in result:
        ax.axhline(100 * result["ann"], color="k", ls="--", label="QAT ANN")
    if "integer_reference" in result:
        ax.axhline(100 * result["integer_reference"], color="g", ls=":", label="integer reference")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_raster(spikes: dict[str, np.ndarray], path: Path, title: str = "", max_neurons: int = 256) -> None:
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
