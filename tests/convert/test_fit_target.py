"""integerize_for_backend / integerize_on_target: the converter lowers Theta only of the layers a
target's backend refuses, until the backend accepts the graph, reports each lowered layer as
inexact with the reason, and raises the backend's reasons when lowering cannot help.  The real
case is Lava's stock LIF, whose drift-to-the-state-minimum proof (a backend-only bound) refuses a
spike-driven layer with fine negative weights at its exact Theta."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.convert.fit_target import integerize_for_backend, integerize_on_target
from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.stages import FloatNetwork, FloatPopulation, FloatSynapse, InputSpec
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.targets import CPU, LAVA_SIM_LIF

SPEC = InputSpec((4,), 4, 1 / 16)
FINE = 2.0**-14


def _dense(name: str, src: str, w: np.ndarray, bias: float = 0.0) -> FloatSynapse:
    return FloatSynapse(name, "dense", src, np.asarray(w, float), np.full(len(w), bias))


def _net() -> FloatNetwork:
    """a_if (8 neurons, input-driven) -> b_if with seven weights -1, one +1.5 and a bias of 2^-14:
    the exact Theta is 2^14, and b_if's potential can fall by 7 * Theta per step (the stock LIF
    proof then refuses samples longer than a few steps)."""
    w_b = np.full((2, 8), -1.0)
    w_b[:, 0] = 1.5
    return FloatNetwork(SPEC, (
        FloatPopulation("a_if", (_dense("a_syn", "input", np.full((8, 4), 0.5)),), threshold=1.0),
        FloatPopulation("b_if", (_dense("b_syn", "a_if", w_b, bias=FINE),), threshold=1.0),
        FloatPopulation("out", (_dense("out_syn", "b_if", np.eye(2)),)),
    ), levels=4)


def test_the_stock_lif_drift_refusal_is_fitted_by_lowering_only_that_layer() -> None:
    net = _net()
    backend = LavaBackend(LAVA_SIM_LIF)
    plain, _ = integerize(net, LAVA_SIM_LIF, reset="zero", compare=">")   # no backend in the loop
    found = backend.issues_by_node(plain)
    assert list(found) == ["b_if"] and "drift" in found["b_if"][0]
    graph, report = integerize_on_target(net, LAVA_SIM_LIF, reset="zero", compare=">")
    assert backend.check(graph) == []
    b = report.layer("b_if")
    assert not b.exact and b.threshold < 2**14 and b.note
    assert report.layer("a_if").threshold == plain.node("a_if").threshold.max()   # untouched
    with pytest.raises(IRError, match="b_if"):
        integerize_on_target(net, LAVA_SIM_LIF, reset="zero", compare=">", allow_inexact=False)


def test_the_loop_caps_only_refused_layers_and_raises_when_stuck() -> None:
    """An independent refusal rule (b_if must have Theta <= 2^5) drives the loop."""
    net = _net()

    def at_most_32(graph: Graph) -> dict[str, list[str]]:
        th = int(graph.node("b_if").threshold.max())
        return {"b_if": [f"b_if: threshold {th} > 32"]} if th > 32 else {}

    graph, report = integerize_for_backend(net, CPU, at_most_32, reset="zero", compare=">")
    assert int(graph.node("b_if").threshold.max()) == 32
    assert "capped at 2^5 (from 2^14)" in report.layer("b_if").note
    assert report.layer("a_if").note == ""
    with pytest.raises(IRError, match="refuses the graph: whole graph"):
        integerize_for_backend(net, CPU, lambda g: {"": ["whole graph"]})
    with pytest.raises(IRError, match="refuses the graph: out: never"):
        integerize_for_backend(net, CPU, lambda g: {"out": ["out: never"]})


@pytest.mark.lava
@pytest.mark.skipif(importlib.util.find_spec("lava") is None, reason="lava-nc not installed")
def test_the_fitted_graph_runs_bit_exactly_on_the_stock_lif() -> None:
    """Saturating inputs (every a_if neuron spikes at once) for the target's full 32-step horizon."""
    from neurodeploy.harness.verify import verify_backend
    graph, _ = integerize_on_target(_net(), LAVA_SIM_LIF, reset="zero", compare=">")
    x = np.array([[15, 15, 15, 15], [15, 0, 15, 3], [1, 2, 3, 4]])
    report = verify_backend(graph, x, 32, backend=LavaBackend(LAVA_SIM_LIF))
    assert report.ok, report.first_divergence


def test_a_refusal_that_does_not_depend_on_theta_stops_the_loop_at_once() -> None:
    """The same reason after lowering Theta means lowering cannot help: one retry, then the reason."""
    calls = []

    def never(graph: Graph) -> dict[str, list[str]]:
        calls.append(int(graph.node("b_if").threshold.max()))
        return {"b_if": ["b_if: 70 synapses exceed the fan-in of 64"]}

    with pytest.raises(IRError, match="fan-in of 64"):
        integerize_for_backend(_net(), CPU, never, reset="zero", compare=">")
    assert calls == [2**14, 2**13]
