"""Every conversion method runs end to end, with the latency accounting of docs/methods.md §0.4.

Proves:
* SpikeConverter A (two_phase, window = L; Liu et al., AAAI 2022, reconstruction §4.1) on a QAT CNN trained
  briefly on MNIST: the SNN's predictions equal the integer ANN reference's predictions image by image on a
  subset of the MNIST test set, and ``evaluate`` reports one point at latency (D+1)·L.
* SRP (Hao et al., AAAI 2023, §3): only phase-B steps feed the readout (the accumulator after phase-B step t is
  exactly the sum of the readout currents + bias of phase-B steps 1..t); neurons gated off at the end of the
  pre-simulation emit no spike in phase B; ``evaluate`` reports T (phase B) and total steps τ + T.
* The CLI: ``train --method nq`` then ``convert --method {qcfs,nq,srp,spikeconverter}`` and ``eval --json`` on
  digits, with the total-steps column.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.convert.from_brevitas import network_from_brevitas
from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.stages import InputSpec
from neurodeploy.data import DatasetSplit
from neurodeploy.data.digits import load_digits_split
from neurodeploy.evaluate import evaluate
from neurodeploy.ir.graph import Schedule
from neurodeploy.quant.train import train
from neurodeploy.reference import ann_reference

LEVELS = 2


@pytest.fixture(scope="module")
def mnist_cnn():
    from neurodeploy.data.mnist import default_mnist_dir, load_mnist

    if default_mnist_dir() is None:
        pytest.skip("MNIST not found at ../shared/data/mnist")
    full = load_mnist()
    data = DatasetSplit("mnist", full.x_train[:1500], full.y_train[:1500], full.x_test[:300], full.y_test[:300],
                        full.input_bits, full.input_scale)
    model, hist = train("cnn", data, levels=LEVELS, epochs=2, lr=3e-3, batch_size=64, seed=0, progress=False,
                        model_config={"channels": [4, 8], "hidden": 32})
    assert hist["test_acc"] > 0.3          # learned something (chance 0.1); exactness is the point
    return model, data


def _graph(model, data: DatasetSplit, schedule: Schedule):
    spec = InputSpec(tuple(data.x_test.shape[1:]), data.input_bits, data.input_scale)
    net = network_from_brevitas(model, spec, {"dataset": data.name})
    graph, report = integerize(net, schedule=schedule)
    return graph, report


def test_spikeconverter_equals_integer_reference_on_mnist(mnist_cnn) -> None:
    model, data = mnist_cnn
    graph, report = _graph(model, data, Schedule("two_phase", window=LEVELS))
    assert report.exact
    x, y = data.x_test, data.y_test
    trace = simulate(graph, x, LEVELS)
    assert trace.steps == (graph.depth + 1) * LEVELS == 8
    ref = ann_reference(graph, x, LEVELS)
    np.testing.assert_array_equal(trace.predictions()[-1], ref.logits.argmax(1))
    res = evaluate(graph, x, y, [1, 2, 4, 8])
    assert res["snn"] == {LEVELS: pytest.approx(res["integer_reference"])}
    assert res["total_steps"] == {LEVELS: 8}


def test_srp_readout_counts_only_phase_b(mnist_cnn) -> None:
    model, data = mnist_cnn
    tau, T = 2, 5
    graph, _ = _graph(model, data, Schedule("srp", tau=tau))
    x = data.x_test[:100]
    pops = [p.name for p in graph.populations()]
    trace = simulate(graph, x, T, probes=pops, record_v=True, record_current=True)
    assert trace.steps == tau + T and trace.first_useful_step == tau
    ro = graph.readout
    per_step = trace.current[ro.name][tau:] + ro.bias
    np.testing.assert_array_equal(trace.readout[tau:], np.cumsum(per_step, axis=0))
    assert np.any(trace.readout[tau - 1] != 0)           # phase A did accumulate, then was discarded
    silenced = 0
    for p in graph.populations():
        gate = 1000 * trace.v[p.name][tau - 1] > p.threshold
        assert not np.any(trace.spikes[p.name][tau:][:, ~gate])
        silenced += int((~gate).sum())
    assert silenced > 0
    res = evaluate(graph, x, data.y_test[:100], [1, 3, 5])
    assert res["total_steps"] == {1: tau + 1, 3: tau + 3, 5: tau + 5} and res["tau"] == tau
    acc = trace.accuracy_per_step(data.y_test[:100])
    assert res["snn"][5] == pytest.approx(float(acc[tau + 4]))


def test_cli_every_method_end_to_end(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from neurodeploy.cli import main

    runner = CliRunner()
    ck = tmp_path / "ck"
    r = runner.invoke(main, ["train", "--method", "nq", "--epochs", "1", "--batch-size", "128",
                             "--out", str(ck), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["method"] == "nq" and summary["final_sigmas"][0] == 0.0
    assert 0.0 <= summary["test_acc_clean_ann"] <= 1.0
    expected_total = {"qcfs": {"1": 1, "4": 4}, "nq": {"1": 1, "4": 4}, "srp": {"1": 4, "4": 7},
                      "spikeconverter": {"4": 12}}
    for method, totals in expected_total.items():
        g = tmp_path / f"g_{method}"
        r = runner.invoke(main, ["convert", str(ck), "--method", method, "--tau", "3", "--out", str(g), "--json"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(main, ["eval", str(g), "--checkpoint", str(ck), "--steps", "1,4", "--limit", "60",
                                 "--json"])
        assert r.exit_code == 0, r.output
        res = json.loads(r.output)
        assert res["total_steps"] == totals
        assert set(res["snn"]) == set(totals)
    load_digits_split()  # the dataset the CLI used by default
