"""Shared machinery of the layer-wise passes: the ANN target and the SNN's mean output of one layer.

For hidden stage ``l`` with threshold ``theta_l`` and integer threshold ``Theta_l`` (chosen by
:func:`neurodeploy.convert.integerize.integerize`):

* ANN target ``a_l``: output of the clipped-ReLU float ANN (``min(ReLU(z), theta)`` at every
  layer, original weights), the best an SNN with these thresholds can represent;
* SNN mean ``sbar_l = N_l * theta_l / T``: the spike count ``N_l`` of population
  ``<stage>_if`` over ``T`` steps, simulated bit-exactly on the integer graph of the *current*
  (partially calibrated) network by :func:`neurodeploy.backends.cpusim.simulate`.

Layers are visited in forward order; after each update the network is re-integerised, so
layer ``l+1`` is calibrated against the already calibrated layers ``1..l`` (CAL section 5.3).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from neurodeploy.calibrate.ann import ann_forward
from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.stages import FloatNetwork, FloatStage
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import CompareMode, IFPopulation, ResetMode
from neurodeploy.targets import CPU, TargetSpec


@dataclass(frozen=True)
class LayerStats:
    """What one layer's update saw (for reports): mean |sbar - a| before the update, in real units."""

    name: str
    mean_abs_error: float
    mean_error: float


@dataclass(frozen=True)
class SimConfig:
    """How the integer graph is built and run during calibration."""

    steps: int
    spec: TargetSpec = CPU
    reset: ResetMode = "subtract"
    compare: CompareMode = ">="


def build_graph(net: FloatNetwork, cfg: SimConfig) -> Graph:
    return integerize(net, cfg.spec, reset=cfg.reset, compare=cfg.compare)[0]


def snn_counts(graph: Graph, x_int: np.ndarray, steps: int, pop: str) -> np.ndarray:
    """Spike counts ``N`` of population ``pop`` over ``steps`` steps, shape (batch, *shape)."""
    from neurodeploy.backends.cpusim import simulate

    trace = simulate(graph, np.asarray(x_int), steps, probes=(pop,))
    return trace.spike_counts(pop)


def population(graph: Graph, stage: FloatStage) -> IFPopulation:
    node = graph.node(f"{stage.name}_if")
    if not isinstance(node, IFPopulation):
        raise ValueError(f"{stage.name}_if is not an IF population")
    return node


Update = Callable[[FloatStage, np.ndarray, np.ndarray, int, int], FloatStage]
"""``(stage, a, counts, Theta, T) -> new stage``; ``a`` real, ``counts`` integer spike counts."""


def calibrate_layers(net: FloatNetwork, x_int: np.ndarray, cfg: SimConfig, update: Update,
                     targets: list[np.ndarray] | None = None, label: str = "") -> tuple[FloatNetwork, list[LayerStats]]:
    """Apply ``update`` to every hidden stage in forward order, re-integerising after each.

    ``targets`` replaces the ANN targets (one array per hidden stage; used by the fixed-point
    tests).  Raises ``ValueError`` if a threshold is missing or no calibration data is given.
    """
    if len(x_int) == 0:
        raise ValueError("calibration needs at least one calibration sample")
    hidden = [i for i, s in enumerate(net.stages) if not s.is_readout]
    for i in hidden:
        th = net.stages[i].threshold
        if th is None or not np.isfinite(th) or th <= 0:
            raise ValueError(f"stage {net.stages[i].name!r}: set thresholds before {label or 'calibration'}")
    if targets is None:
        targets, _ = ann_forward(net, x_int, clip=True)
    stages = list(net.stages)
    stats: list[LayerStats] = []
    for j, i in enumerate(hidden):
        current = replace(net, stages=tuple(stages))
        graph = build_graph(current, cfg)
        stage = stages[i]
        theta_int = int(population(graph, stage).threshold.flat[0])
        counts = snn_counts(graph, x_int, cfg.steps, f"{stage.name}_if")
        a = np.asarray(targets[j], np.float64)
        err = counts * (float(stage.threshold) / cfg.steps) - a
        stats.append(LayerStats(stage.name, float(np.abs(err).mean()), float(err.mean())))
        stages[i] = update(stage, a, counts, theta_int, cfg.steps)
    meta = {**net.meta, "calibration": label, "calib_steps": str(cfg.steps)}
    return replace(net, stages=tuple(stages), meta=meta), stats
