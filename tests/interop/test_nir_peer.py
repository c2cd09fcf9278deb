"""Exported NIR files re-simulated in a peer framework (Norse 1.1.0's NIR importer) against the
integer simulator.

Proves: (1) on a hand-counted IF network the peer and the simulator both give the hand count
(the peer reads NIR's IF as the IR's zero-reset ``>`` neuron, same-step propagation, dt = 1);
(2) a digits MLP trained with QAT and converted with ``--neuron zero``, exported by the CLI and
re-simulated in Norse on every digits test image agrees with the simulator on every prediction,
readout value and spike, at every step, in float64 and in the peer's default float32; (3) a
disagreement caused by the IR's saturating potential is counted and explained (the IR with
unbounded potentials equals the peer); (4) on residual/concat DAGs, Norse's ``from_nir`` differs
only through the edges its depth-first executor delays by a step: the same Norse modules run in
topological order (nirtorch's ``nir_to_torch``) agree exactly.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.backends.cpusim import simulate
from neurodeploy.interop.nir_export import write_nir
from neurodeploy.interop.nir_peer import compare, run_norse
from neurodeploy.ir.dtypes import IntT
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Dense, IFPopulation, Input, Readout
from neurodeploy.ir.random_graph import random_dag, random_inputs

pytest.importorskip("norse")
pytest.importorskip("nirtorch")
STATE_24 = IntT(24)


def _one_neuron(x_bits: int, weight: int, theta: int, state_t: IntT = STATE_24) -> Graph:
    pop = IFPopulation("if1", ("fc1",), (1,), threshold=np.array([theta]), v0=np.zeros(1, np.int64),
                       bias_mant=np.zeros(1, np.int64), reset="zero", compare=">", state_t=state_t)
    return Graph((Input("input", (1,), bits=x_bits), Dense("fc1", "input", np.array([[weight]])), pop,
                  Dense("fc2", "if1", np.array([[1], [-1]])), Readout("out", ("fc2",), (2,), np.zeros(2, np.int64))))


def test_hand_counted_neuron_in_peer_and_simulator(tmp_path: Path) -> None:
    """x = 3, theta = 5: v = 3, 6 > 5 fires and resets, 3, 6 fires, ...: spikes at steps 2, 4, 6, 8."""
    graph, path = _one_neuron(2, 1, 5), tmp_path / "n.nir"
    write_nir(graph, path)
    x = np.array([[3]])
    expected = np.array([0, 1, 0, 1, 0, 1, 0, 1], np.uint8)
    ir = simulate(graph, x, 8, probes="all")
    peer = run_norse(path, x, 8)
    assert np.array_equal(ir.spikes["if1"][:, 0, 0], expected)
    assert np.array_equal(peer.spikes["if1"][:, 0, 0], expected)
    assert np.array_equal(peer.readout[:, 0, 0], np.cumsum(expected)) and not peer.late_edges


def test_saturation_is_counted_and_explained(tmp_path: Path) -> None:
    """int4 potentials (hi = 7) with theta = 7 and a current of 8: the IR clips u = 8 to 7, which is
    not > 7, so it never fires; NIR's unbounded v fires every step."""
    graph, path = _one_neuron(1, 8, 7, state_t=IntT(4)), tmp_path / "s.nir"
    write_nir(graph, path)
    report = compare(graph, path, np.array([[1], [0]]), 4)
    assert report["populations"]["if1"]["spikes_ir"] == 0 and report["populations"]["if1"]["spikes_peer"] == 4
    assert report["saturated_samples"] == 1 and report["unexplained_samples"] == []
    assert report["readout_equal_samples"] == 1                                    # the x = 0 sample


@pytest.fixture(scope="module")
def digits_nir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("brevitas")
    from neurodeploy.cli import main

    d = tmp_path_factory.mktemp("nir_digits")
    runner = CliRunner()
    res = runner.invoke(main, ["train", "--model", "mlp", "--dataset", "digits", "--epochs", "2", "--limit", "600",
                               "--seed", "0", "--out", str(d / "ckpt")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["convert", str(d / "ckpt"), "--out", str(d / "graph"), "--neuron", "zero"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["export", str(d / "graph"), "--format", "nir", "--out", str(d / "model.nir")])
    assert res.exit_code == 0 and "exact" in res.output, res.output
    return d / "graph", d / "model.nir"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_digits_mlp_agrees_with_norse_on_every_test_image(digits_nir: tuple[Path, Path], dtype: str) -> None:
    import nir

    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import load_test_data

    graph_dir, path = digits_nir
    graph = load_graph(graph_dir)
    assert {type(v).__name__ for v in nir.read(str(path)).nodes.values()} == {"Input", "Affine", "IF", "I", "Output"}
    x, _ = load_test_data(graph)
    report = compare(graph, path, x, 8, dtype=dtype)
    n = len(x)
    assert n == 450
    assert report["predictions_agree"] == n and report["predictions_agree_every_step"] == n
    assert report["readout_equal_samples"] == n
    assert report["saturated_samples"] == 0 and report["unexplained_samples"] == [] and report["peer_late_edges"] == []
    for name, pop in report["populations"].items():
        assert pop["spikes_ir"] > 0, name                                          # the comparison is not vacuous
        assert pop["spikes_peer"] == pop["spikes_ir"] and pop["count_mismatch_neuron_samples"] == 0, name
        assert pop["trains_equal_samples"] == n, name


def _dag(seed: int) -> Graph:
    """A random zero-reset residual/concat DAG with per-channel biases (NIR's Conv2d bias)."""
    graph = random_dag(seed, reset="zero", compare=">", weight_exps=(0, 1))
    nodes = []
    for n in graph.nodes:
        if isinstance(n, IFPopulation) and len(n.shape) == 3:
            per_channel = n.bias_mant.reshape(n.shape[0], -1)[:, :1, None]
            n = dataclasses.replace(n, bias_mant=np.broadcast_to(per_channel, n.shape))
        nodes.append(n)
    return graph.with_nodes(nodes)


@pytest.mark.parametrize("seed", [1, 30])
def test_dag_differs_only_by_the_edges_norse_delays(tmp_path: Path, seed: int) -> None:
    graph, path = _dag(seed), tmp_path / "dag.nir"
    assert all(getattr(n, "groups", 1) == 1 for n in graph.nodes)               # Norse imports no groups
    edges = write_nir(graph, path).graph.edges
    merges = {dst for _, dst in edges if sum(d == dst for _, d in edges) > 1}   # residual adds, concat pieces
    assert merges
    x = random_inputs(graph, 16, seed)
    topo = compare(graph, path, x, 6, executor="nir_to_torch")
    assert topo["readout_equal_samples"] == len(x) and topo["unexplained_samples"] == []
    assert all(p["trains_equal_samples"] == len(x) for p in topo["populations"].values())
    dfs = compare(graph, path, x, 6, executor="from_nir")
    targets = {dst for _, dst in dfs["peer_late_edges"]}
    assert targets and targets <= merges                                          # only merge inputs are late
    assert dfs["unexplained_samples"]                                            # and they do change results
