"""Bias (CAL 5.3) and potential (CAL 5.4) calibration through the bit-exact CPU simulator, on a
chain and on a DAG (residual merges, strided 1x1 shortcut, depthwise conv, concat, global pool):

* both are fixed points when the SNN already matches (synthetic targets a := N theta / T of the
  uncalibrated integer graph);
* potential calibration moves each integer v0 by exactly rint(Theta * mean_batch(a T / theta - N))
  (numpy rint, half to even), bias calibration moves b_c by exactly -mean(sbar - a)_c;
* only thresholds, biases and initial potentials change, never the graph structure;
* on ANN targets the first population's signed mean error does not grow (a sanity check)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neurodeploy.calibrate.bias import calibrate_bias
from neurodeploy.calibrate.layerwise import SimConfig, build_graph, snn_counts
from neurodeploy.calibrate.potential import calibrate_potential
from neurodeploy.convert.integerize import integerize

T = 8


def snn_means(net, x_int) -> dict[str, np.ndarray]:
    graph = build_graph(net, SimConfig(T))
    return {p.name: snn_counts(graph, x_int, T, p.name) * (p.threshold / T) for p in net.populations}


def structure(graph):
    return [(type(n).__name__, n.name, n.inputs, graph.shapes()[n.name]) for n in graph.nodes]


@pytest.mark.parametrize("fn", [calibrate_bias, calibrate_potential])
def test_fixed_point_when_snn_matches(net, x_int, fn) -> None:
    out, stats = fn(net, x_int, T, targets=snn_means(net, x_int))
    assert [s.name for s in stats] == [p.name for p in net.populations]
    assert all(s.mean_abs_error == 0.0 for s in stats)
    g0, g1 = integerize(net)[0], integerize(out)[0]
    for a, b in zip(g0.nodes, g1.nodes):
        for field in ("weight", "bias_mant", "v0", "threshold"):
            if hasattr(a, field):
                assert np.array_equal(getattr(a, field), getattr(b, field)), (a.name, field)


def test_potential_writes_rounded_mean_gap(net, x_int) -> None:
    rng = np.random.default_rng(5)
    means = snn_means(net, x_int)
    targets = {k: m + rng.uniform(-0.2, 0.2, m.shape) * net.node(k).threshold for k, m in means.items()}
    # first population only: later ones see a changed input, so check it exactly
    first = net.populations[0]
    out, _ = calibrate_potential(net, x_int, T, targets=targets)
    g0, g1 = integerize(net)[0], integerize(out)[0]
    pop0, pop1 = g0.node(first.name), g1.node(first.name)
    theta_int = int(pop0.threshold.flat[0])
    counts = snn_counts(g0, x_int, T, first.name)
    expected = np.rint(theta_int * (targets[first.name] * T / first.threshold - counts).mean(axis=0))
    assert np.array_equal(pop1.v0 - pop0.v0, expected.astype(np.int64))
    assert np.any(expected != 0)
    assert structure(g0) == structure(g1)
    for a, b in zip(net.populations, out.populations):   # PC changes only v0
        assert a.threshold == b.threshold and np.array_equal(a.bias, b.bias)
        assert all(np.array_equal(s.weight, t.weight) for s, t in zip(a.synapses, b.synapses))


def test_bias_update_is_channel_mean(net, x_int) -> None:
    means = snn_means(net, x_int)
    targets = {k: m + 0.05 for k, m in means.items()}     # SNN too low by 0.05 everywhere
    out, _ = calibrate_bias(net, x_int, T, targets=targets)
    first, moved = net.populations[0], out.populations[0]
    assert moved.bias == pytest.approx(first.bias + 0.05, abs=1e-12)
    assert moved.v0_offset is None and moved.threshold == first.threshold
    g0, g1 = integerize(net)[0], integerize(out)[0]
    assert structure(g0) == structure(g1)


def test_calibration_reduces_error_on_ann_targets(net, x_int) -> None:
    for fn in (calibrate_bias, calibrate_potential):
        once, before = fn(net, x_int, T)
        _, after = fn(once, x_int, T)
        # the first population sees fixed inputs: its signed mean error may only shrink (up to rounding)
        assert abs(after[0].mean_error) <= abs(before[0].mean_error) + 1e-4


def test_needs_thresholds_and_data(net, x_int) -> None:
    unset = net.with_populations([replace(net.populations[0], threshold=float("nan"))])
    with pytest.raises(ValueError, match="set thresholds"):
        calibrate_bias(unset, x_int, T)
    with pytest.raises(ValueError, match="at least one calibration sample"):
        calibrate_potential(net, x_int[:0], T)
