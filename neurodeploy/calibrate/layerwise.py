"""Shared machinery of the layer-wise passes: the ANN target and the SNN's mean output of one population.

For hidden population ``l`` (any population of the DAG, residual merges included) with real
threshold ``theta_l`` and integer threshold ``Theta_l`` (chosen by
:func:`neurodeploy.convert.integerize.integerize`):

* ANN target ``a_l``: output of the clipped-ReLU float ANN (``min(ReLU(z), theta)`` at every
  population, original weights), the best an SNN with these thresholds can represent;
* SNN mean ``sbar_l = N_l * theta_l / T``: the spike count ``N_l`` of IR population ``l`` over
  ``T`` steps, simulated bit-exactly on the integer graph of the *current* (partially
  calibrated) network by :func:`neurodeploy.backends.cpusim.simulate`.

Populations are visited in topological (forward) order; after each update the network is
re-integerised, so population ``l`` is calibrated against its already calibrated predecessors
(CAL section 5.3; Li et al., arXiv 2205.10121).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from neurodeploy.calibrate.ann import ann_forward
from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.stages import FloatNetwork, FloatPopulation
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import CompareMode, IFPopulation, ResetMode
from neurodeploy.targets import CPU, TargetSpec


@dataclass(frozen=True)
class LayerStats:
    """What one population's update saw (for reports): mean |sbar - a| before the update, in real units."""

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


def integer_threshold(graph: Graph, name: str) -> int:
    """``Theta`` of IR population ``name`` (one value per population)."""
    node = graph.node(name)
    if not isinstance(node, IFPopulation):
        raise ValueError(f"{name} is not an IF population")
    return int(node.threshold.flat[0])


Update = Callable[[FloatPopulation, np.ndarray, np.ndarray, int, int], FloatPopulation]
"""``(population, a, counts, Theta, T) -> new population``; ``a`` real, ``counts`` integer spike counts."""


def calibrate_layers(net: FloatNetwork, x_int: np.ndarray, cfg: SimConfig, update: Update,
                     targets: Mapping[str, np.ndarray] | None = None,
                     label: str = "") -> tuple[FloatNetwork, list[LayerStats]]:
    """Apply ``update`` to every hidden population in forward order, re-integerising after each.

    ``targets`` (by population name) replaces the ANN targets (used by the fixed-point tests).
    Raises ``ValueError`` if a threshold is missing or no calibration data is given.
    """
    if len(x_int) == 0:
        raise ValueError("calibration needs at least one calibration sample")
    for pop in net.populations:
        th = pop.threshold
        if th is None or not np.isfinite(th) or th <= 0:
            raise ValueError(f"population {pop.name!r}: set thresholds before {label or 'calibration'}")
    if targets is None:
        targets, _ = ann_forward(net, x_int, clip=True)
    current = net
    stats: list[LayerStats] = []
    for name in [p.name for p in net.populations]:
        graph = build_graph(current, cfg)
        pop = current.node(name)
        assert isinstance(pop, FloatPopulation)
        counts = snn_counts(graph, x_int, cfg.steps, name)
        a = np.asarray(targets[name], np.float64).reshape(counts.shape)
        err = counts * (float(pop.threshold) / cfg.steps) - a  # type: ignore[arg-type]
        stats.append(LayerStats(name, float(np.abs(err).mean()), float(err.mean())))
        current = current.with_populations([update(pop, a, counts, integer_threshold(graph, name), cfg.steps)])
    return current.with_populations([], {"calibration": label, "calib_steps": str(cfg.steps)}), stats
