"""End to end on sklearn digits through the real CLI: Brevitas QAT -> exact integer IR -> CPU
simulator -> Lava bundle and Lava run.

Proves: (1) the integer quantized-ANN reference reproduces every Brevitas QCFS activation
(all layers, all test images) exactly, and its predictions equal the Brevitas model's; (2) the
first spiking layer at T = L equals the ANN layer exactly (identity I3) and no neuron has
"ANN > 0 and SNN = 0" at T = L in that layer; (3) the Lava graph matches the CPU simulator
spike for spike; (4) the Lava bundle passes its own deploy.py --check; (5) bad input exits
non-zero with a one-line error and writes nothing.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.cli import main

pytest.importorskip("brevitas")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("digits")
    runner = CliRunner()
    res = runner.invoke(main, ["train", "--model", "mlp", "--dataset", "digits", "--levels", "4", "--epochs", "4",
                               "--seed", "0", "--out", str(d / "ckpt"), "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["convert", str(d / "ckpt"), "--out", str(d / "graph"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["exact"] is True
    return d


def test_integer_reference_reproduces_brevitas_exactly(run_dir: Path) -> None:
    from neurodeploy.convert.from_brevitas import brevitas_activations
    from neurodeploy.ir import load_graph
    from neurodeploy.pipeline import load_test_data
    from neurodeploy.quant.checkpoint import load_checkpoint
    from neurodeploy.reference import ann_reference

    graph = load_graph(run_dir / "graph")
    model, config = load_checkpoint(run_dir / "ckpt")
    x, _ = load_test_data(graph)
    counts, logits = brevitas_activations(model, x, float(config["input_scale"]))
    ref = ann_reference(graph, x, levels=4)
    assert set(counts) == {p.name for p in graph.populations()}
    for pop in graph.populations():
        assert np.array_equal(ref.counts[pop.name], counts[pop.name]), pop.name
    assert np.array_equal(np.argmax(ref.logits, 1), np.argmax(logits, 1))


def test_first_layer_snn_equals_ann_at_t_equals_l(run_dir: Path) -> None:
    """I3 on the first layer (accumulated view); in every layer the layer-local ANN (fed the SNN's own
    input currents) never has ANN > 0 with SNN = 0 at T = L: with subtractive reset, v(T) = v0 + sum(I + b)
    - N*theta, so N = 0 would leave v >= theta unfired at the last step."""
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.ir import load_graph
    from neurodeploy.pipeline import load_test_data
    from neurodeploy.reference import ann_reference, layer_local_counts, mismatch_categories

    graph = load_graph(run_dir / "graph")
    x, _ = load_test_data(graph)
    first = graph.populations()[0].name
    trace = simulate(graph, x, 4, probes="all", record_v=True, record_current=True)
    ref = ann_reference(graph, x, levels=4)
    assert np.array_equal(trace.spike_counts(first), ref.counts[first])
    for pop in graph.populations():
        from_inputs, from_residual, n = layer_local_counts(graph, trace, pop.name)
        assert np.array_equal(from_inputs, from_residual), pop.name          # I5 agrees with the inputs
        cats = mismatch_categories(from_inputs, n)
        assert cats["ann_pos_snn0"] == 0, (pop.name, cats)
        assert cats["match"] > 0.9 * n.size, (pop.name, cats)


def test_eval_json_reports_all_three_views(run_dir: Path) -> None:
    res = CliRunner().invoke(main, ["eval", str(run_dir / "graph"), "--checkpoint", str(run_dir / "ckpt"),
                                    "--steps", "4,8", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["agreement_reference_vs_ann"] == 1.0
    assert doc["ann"] == doc["integer_reference"]
    assert set(doc["snn"]) == {"4", "8"} or set(doc["snn"]) == {4, 8}


@pytest.mark.lava
def test_lava_verify_and_bundle_check(run_dir: Path) -> None:
    pytest.importorskip("lava", reason="lava-nc not installed")
    runner = CliRunner()
    res = runner.invoke(main, ["verify", str(run_dir / "graph"), "--target", "lava", "--samples", "6",
                               "--steps", "8", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ok"] is True
    res = runner.invoke(main, ["build", str(run_dir / "graph"), "--target", "lava", "--out",
                               str(run_dir / "bundle"), "--vectors", "4", "--steps", "8"])
    assert res.exit_code == 0, res.output
    assert "cores" in res.output                      # mapped to Loihi 2 cores, recorded in the manifest
    proc = subprocess.run([sys.executable, "deploy.py", "--check"], cwd=run_dir / "bundle",
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bad_checkpoint_is_a_one_line_error_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "ckpt"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    res = CliRunner().invoke(main, ["convert", str(bad), "--out", str(tmp_path / "graph")])
    assert res.exit_code != 0
    assert res.output.startswith("Error:") and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "graph").exists()


def test_raster_and_cpu_bundle(run_dir: Path) -> None:
    runner = CliRunner()
    png = run_dir / "raster.png"
    res = runner.invoke(main, ["raster", str(run_dir / "graph"), "--sample", "0", "--out", str(png)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = runner.invoke(main, ["build", str(run_dir / "graph"), "--target", "cpu", "--out",
                               str(run_dir / "cpu_bundle"), "--json"])
    assert res.exit_code == 0, res.output
    from neurodeploy.manifest import check_manifest

    assert check_manifest(run_dir / "cpu_bundle") == []


def test_inspect_counts_neurons_and_synapses(run_dir: Path) -> None:
    res = CliRunner().invoke(main, ["inspect", str(run_dir / "graph"), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["nodes"]
    assert sum(r["neurons"] for r in rows) == 128 + 64
    assert all(r["synapses"] > 0 for r in rows if r["type"] == "Dense")
