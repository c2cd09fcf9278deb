"""The conversion error budget: the isolated view against an independent simulation, exact
identities of both views, and the stage accuracies reproducing ``eval`` exactly.

Proves: (1) the regular trains carry exactly n spikes, evenly spread (hand examples); (2) the
isolated view of a population equals the real CPU simulator running that population behind IF
"encoder" neurons (constant drive n, threshold T, v0 = T // 2), which emit exactly those trains;
(3) at T = 1 every layer of any plain network equals the integer reference at L = 1 in both views
(one IF step is the clipped floor), and the first population's two views always coincide;
(4) ``report``'s stage accuracies are ``eval``'s figures, bit for bit, through the CLI.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from neurodeploy.backends.cpusim import simulate

from neurodeploy.cli import main
from neurodeploy.ir import Dense, Graph, IFPopulation, Input, Readout, Schedule
from neurodeploy.ir.random_graph import random_cnn, random_dag, random_inputs, random_mlp
from neurodeploy.reference import CATEGORIES, ann_reference
from neurodeploy.report.budget import LayerErrors, count_window, stages
from neurodeploy.report.isolated import isolated_counts, regular_train


def test_regular_train_hand_examples() -> None:
    np.testing.assert_array_equal(regular_train(np.array([2]), 4)[:, 0], [1, 0, 1, 0])
    np.testing.assert_array_equal(regular_train(np.array([3]), 4)[:, 0], [1, 1, 0, 1])
    np.testing.assert_array_equal(regular_train(np.array([1]), 5)[:, 0], [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(regular_train(np.array([0, 6]), 6), np.tile([[0, 1]], (6, 1)))
    n = np.random.default_rng(0).integers(0, 8, size=(5, 7))
    np.testing.assert_array_equal(regular_train(n, 7).sum(axis=0), n)
    with pytest.raises(ValueError):
        regular_train(np.array([5]), 4)


def _encoder_oracle(graph: Graph, pop: str, counts: np.ndarray, steps: int) -> np.ndarray:
    """Spike counts of ``pop`` (whose one synapse reads one 1-D population) when that source is an IF
    layer driven by the constant current ``counts`` with threshold ``steps`` and v0 = steps // 2."""
    p = graph.node(pop)
    syn = graph.node(p.inputs[0])
    n_src = counts.shape[1]
    nodes = (Input("input", (n_src,), bits=max(1, int(steps).bit_length())),
             Dense("enc_syn", "input", np.eye(n_src, dtype=np.int64)),
             IFPopulation("enc", "enc_syn", (n_src,), threshold=steps, v0=steps // 2, bias_mant=0),
             dataclasses.replace(syn, source="enc"), p,
             Dense("ro_syn", pop, np.ones((1, int(np.prod(p.shape))), np.int64)),
             Readout("ro", "ro_syn", (1,), bias_mant=0))
    trace = simulate(Graph(nodes), counts, steps, probes=[pop], impl="reference")
    return trace.spike_counts(pop)


@pytest.mark.parametrize("seed, reset, compare", [(0, "subtract", ">="), (1, "subtract", ">="), (2, "zero", ">"),
                                                  (3, "subtract", ">=")])
@pytest.mark.parametrize("steps", [3, 4, 8])
def test_isolated_view_equals_the_simulator_behind_encoder_neurons(seed, reset, compare, steps) -> None:
    g = random_mlp(seed, sizes=(12, 16, 10, 6, 4), reset=reset, compare=compare)
    x = random_inputs(g, 20, seed)
    ref = ann_reference(g, x, steps)
    for pop, src in (("if2", "if1"), ("if3", "if2")):
        np.testing.assert_array_equal(isolated_counts(g, pop, x, ref.counts, steps),
                                      _encoder_oracle(g, pop, ref.counts[src], steps))


GRAPHS = [random_mlp(0), random_cnn(1), random_dag(2), random_dag(4)]


@pytest.mark.parametrize("graph", GRAPHS, ids=["mlp", "cnn", "dag2", "dag4"])
def test_one_step_equals_the_reference_and_first_layer_views_coincide(graph) -> None:
    x = random_inputs(graph, 16, 5)
    errors = LayerErrors(graph, [1, 4])
    trace = simulate(graph, x, 4, probes="all")
    errors.add(x, None, trace, {t: ann_reference(graph, x, t) for t in (1, 4)})
    res = errors.result()
    for pop, views in res["layers"]["1"].items():
        for view in ("accumulated", "isolated"):
            assert views[view]["match"] == views[view]["neurons"] and views[view]["abs_error_total"] == 0, (pop, view)
    first = graph.populations()[0].name
    at4 = res["layers"]["4"][first]
    assert {k: at4["accumulated"][k] for k in CATEGORIES} == {k: at4["isolated"][k] for k in CATEGORIES}
    assert res["reference_at_T"]["1"]["snn_agrees_with_reference"] == 1.0


def test_schedules_count_their_useful_window_and_isolated_is_plain_only() -> None:
    srp = random_mlp(0, schedule=Schedule("srp", tau=3))
    assert count_window(srp, 4) == (3, 7)
    two = random_mlp(0, schedule=Schedule("two_phase", window=4))
    assert count_window(two, 4) == (0, two.schedule.total_steps(4, two.depth))
    errors = LayerErrors(srp, [4])
    x = random_inputs(srp, 8, 0)
    errors.add(x, None, simulate(srp, x, 4, probes="all"), {4: ann_reference(srp, x, 4)})
    res = errors.result()
    assert all(v["isolated"] is None for v in res["layers"]["4"].values()) and "plain" in res["isolated_note"]


def test_stage_losses_split_the_reference_to_snn_loss() -> None:
    evaluation = {"levels": 4, "ann": 0.9, "integer_reference": 0.875, "snn": {2: 0.5, 4: 0.75},
                  "total_steps": {2: 2, 4: 4}}
    layer = {"reference_at_T": {"2": {"reference_accuracy": 0.625}, "4": {"reference_accuracy": 0.875}}}
    doc = stages(evaluation, 0.95, layer)
    assert [s["stage"] for s in doc["stages"]] == ["float ANN", "QAT ANN (Brevitas)", "integer reference (L=4)"]
    assert doc["stages"][1]["loss_from_previous"] == pytest.approx(0.05)
    t2 = doc["snn"][0]
    assert (t2["loss_from_last_stage"], t2["quantisation_to_T_levels"], t2["temporal"]) == (0.375, 0.25, 0.125)
    float_route = stages({"levels": 0, "snn": {2: 0.5}, "total_steps": {2: 2}}, 0.75, layer)   # no reference
    assert [s["stage"] for s in float_route["stages"]] == ["float ANN"]
    assert float_route["snn"][0]["loss_from_last_stage"] == 0.25 and "temporal" not in float_route["snn"][0]


def test_report_reproduces_eval_figures_exactly(digits_graph: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["--steps", "1,2,4", "--limit", "60"]
    ev = runner.invoke(main, ["eval", str(digits_graph), *common, "--json"])
    assert ev.exit_code == 0, ev.output
    expected = json.loads(ev.output)
    rep = runner.invoke(main, ["report", str(digits_graph), "--out", str(tmp_path / "r"), *common, "--json"])
    assert rep.exit_code == 0, rep.output
    budget = json.loads(rep.output)["budget"]
    assert {str(e["T"]): e["accuracy"] for e in budget["snn"]} == expected["snn"]
    assert budget["stages"] == [{"stage": "integer reference (L=4)", "accuracy": expected["integer_reference"]}]
    doc = json.loads((tmp_path / "r" / "report.json").read_text())
    assert doc["evaluation"]["snn"] == expected["snn"]
    assert doc["evaluation"]["integer_reference"] == expected["integer_reference"]
    assert {str(e["T"]): e["accuracy"] for e in doc["budget"]["snn"]} == expected["snn"]
    # the T = L row's reference at L = T is the integer reference itself
    assert doc["budget"]["reference_at_T"]["4"]["reference_accuracy"] == expected["integer_reference"]
