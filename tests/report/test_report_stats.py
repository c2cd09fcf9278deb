"""Operation counts against hand-counted tiny networks (the independent oracle is arithmetic done
by hand in the comments), and the ``stats`` command's output and errors.

Proves: spikes x fan-out ACs (directly and through a SumPool), the integer input layer's MACs at
every step, NeuroBench's count on the layer input, the dense and effective ANN MACs, spikes,
firing rate / activation sparsity and NeuroBench's membrane updates are exact integers equal to
the hand counts, at two values of T from one simulation.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from report_nets import conv_net, dense_net

from neurodeploy.cli import main
from neurodeploy.report.collect import scan
from neurodeploy.report.stats import OpCounter


def _counts(graph, x, steps):
    counter = OpCounter(graph, steps)
    scan(graph, np.asarray(x), None, counter, chunk=1)            # one sample per chunk: sums over chunks
    return counter.result()


def test_dense_network_hand_counts() -> None:
    """fc1 currents: sample a (x = [3, 0]) I = [6, 3, 0], sample b (x = [0, 1]) I = [0, 5, 0]; theta 4, v0 2.
    a: neuron 0 (I 6) fires every step, v 4, 6, 8, 10; neuron 1 (I 3) v 1, 0, 3, 2, spikes at t 1, 2, 4;
       neuron 2 never fires and v stays 2.  b: neuron 1 (I 5) fires every step, v 3, 4, 5, 6; others idle.
    fan-out of fc1 per input (non-zero column entries): [2, 1]; of fc2 per if1 neuron: [1, 2, 1]."""
    doc = _counts(dense_net(), [[3, 0], [0, 1]], [2, 4])
    layers = {lay["synapse"]: lay for lay in doc["layers"]}
    assert layers["fc1"]["ann_macs"] == 6 and layers["fc2"]["ann_macs"] == 6       # 3x2 and 2x3, dense
    assert layers["fc1"]["input"] == "analog" and layers["fc2"]["input"] == "spikes"
    # ANN at L = 4: a: counts clip(floor((2 + 4 I) / 4), 0, 4) = [4, 3, 0]; b: [0, 4, 0]
    # effective MACs: fc1 a 2 + b 1; fc2 a (1 + 2) + b 2  -> totals 3 and 5
    assert layers["fc1"]["ann_effective_macs_total"] == 3 and layers["fc2"]["ann_effective_macs_total"] == 5
    t4 = doc["per_T"]["4"]
    # ACs: a 4*1 + 3*2 = 10, b 4*2 = 8; MACs: 4 steps x (a 2 + b 1) = 12
    assert t4["synapses"]["fc2"]["acs_total"] == 18 and t4["synapses"]["fc1"]["macs_total"] == 12
    assert t4["synapses"]["fc2"]["layer_ops_total"] == 18 and t4["synapses"]["fc1"]["layer_ops_total"] == 12
    assert t4["synapses"]["fc1"]["acs_total"] == 0 and t4["synapses"]["fc2"]["macs_total"] == 0
    pop = t4["populations"]["if1"]
    assert pop["spikes_total"] == 4 + 3 + 4
    assert pop["firing_rate"] == pytest.approx(11 / 24) and pop["activation_sparsity"] == pytest.approx(13 / 24)
    # membrane updates: 3 neurons at step 1, then a: 3 + 3 changes, b: 3 -> (3 + 6) + (3 + 3)
    assert pop["membrane_updates_total"] == 15 and pop["neuron_updates"] == 12
    assert pop["count_histogram"] == [3, 0, 0, 1, 2]                 # counts a [4, 3, 0], b [0, 4, 0]
    assert t4["totals"]["synops"] == pytest.approx((18 + 12) / 2)
    t2 = doc["per_T"]["2"]
    # T = 2: a spikes [2, 2, 0], b [0, 2, 0]: ACs 2 + 4 + 4 = 10; MACs 2 x 3 = 6; updates (3 + 2) + (3 + 1)
    assert t2["synapses"]["fc2"]["acs_total"] == 10 and t2["synapses"]["fc1"]["macs_total"] == 6
    assert t2["populations"]["if1"]["membrane_updates_total"] == 9


def test_conv_pool_network_hand_counts() -> None:
    """Conv taps [[1,0],[2,3]] on a 3x3 input, 2x2 output: the fan-out per input pixel (outputs reached
    through a non-zero tap) is [[1,1,0],[2,3,1],[1,2,1]] (sum 12 = 3 taps x 4 outputs).  With x = ones
    except a 0 at the centre the four currents are 3, 4, 6, 5; theta 4, v0 2, T = 4: I 3 -> 3 spikes
    (v 1, 0, 3, 2), I 4 -> 4 spikes with v stuck at 2, I 6 and I 5 -> 4 spikes each (v changes every step).
    Each if1 neuron reaches the one pooled cell, whose fan-out in fc is 2 (weights 2, 0, 5)."""
    g = conv_net()
    np.testing.assert_array_equal(g.node("conv").fanout((1, 3, 3)), [[[1, 1, 0], [2, 3, 1], [1, 2, 1]]])
    x = np.ones((1, 1, 3, 3), np.int64)
    x[0, 0, 1, 1] = 0
    doc = _counts(g, x, [4])
    layers = {lay["synapse"]: lay for lay in doc["layers"]}
    assert layers["conv"]["ann_macs"] == 16 and layers["fc"]["ann_macs"] == 3          # in-bounds taps x outputs
    assert not layers["fc"]["binary_input"]                                              # a pool sums spikes
    t4 = doc["per_T"]["4"]
    assert t4["synapses"]["conv"]["macs_total"] == 4 * (12 - 3)                          # centre pixel is 0
    assert t4["synapses"]["fc"]["acs_total"] == (3 + 4 + 4 + 4) * 2                      # spikes x fan-out
    # NeuroBench on fc's own input: the pooled value is non-zero at all 4 steps, fan-out 2
    assert t4["synapses"]["fc"]["layer_ops_total"] == 4 * 2
    pop = t4["populations"]["if1"]
    assert pop["spikes_total"] == 15 and pop["membrane_updates_total"] == 4 + 3 + 0 + 3 + 3
    # ANN at L = 4: counts floor((2 + 4 I) / 4) clipped = [3, 4, 4, 4] -> pooled 15 != 0 -> fc eff 2
    assert layers["fc"]["ann_effective_macs_total"] == 2 and layers["conv"]["ann_effective_macs_total"] == 9


def test_stats_cli_json_and_text(digits_graph: Path) -> None:
    """``stats --json`` carries per-T layers, totals and labelled energy estimates with sources; the
    text form prints the same tables; totals are the sums of the layers."""
    runner = CliRunner()
    res = runner.invoke(main, ["stats", str(digits_graph), "--steps", "2,4", "--limit", "40", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["samples"] == 40 and set(doc["per_T"]) == {"2", "4"}
    t4 = doc["per_T"]["4"]
    assert t4["totals"]["acs_total"] == sum(v["acs_total"] for v in t4["synapses"].values())
    assert doc["ann"]["ann_macs"] == sum(lay["ann_macs"] for lay in doc["layers"])
    names = [e["estimate"] for e in t4["energy"]]
    assert names == ["SNN on Loihi", "SNN, 45 nm adds", "ANN fp32, 45 nm", "ANN int8, 45 nm"]
    assert all(e["sources"] for e in t4["energy"]) and "ESTIMATE" in doc["energy_note"]
    assert "Davies" in json.dumps(doc["energy_figures"]) and "Horowitz" in json.dumps(doc["energy_figures"])
    text = runner.invoke(main, ["stats", str(digits_graph), "--steps", "4", "--limit", "10"])
    assert text.exit_code == 0 and "ESTIMATE" in text.output and "SNN on Loihi" in text.output


@pytest.mark.parametrize("args, code", [(["--steps", "0"], 2), (["--limit", "0"], 2), (["--steps", "x"], 2)])
def test_stats_bad_options_are_usage_errors(digits_graph: Path, args: list[str], code: int) -> None:
    res = CliRunner().invoke(main, ["stats", str(digits_graph), *args])
    assert res.exit_code == code


def test_stats_refuses_a_folder_that_is_not_a_graph(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["stats", str(tmp_path)])
    assert res.exit_code == 1 and len([ln for ln in res.output.splitlines() if ln]) == 1
    assert "Traceback" not in res.output


def test_two_phase_counts_its_window_and_every_step_of_the_run() -> None:
    """Two-phase schedules report one T (the window) and count all (D+1)*window steps of the run."""
    from neurodeploy.backends.cpusim import simulate

    from neurodeploy.ir import Schedule
    from neurodeploy.ir.random_graph import random_inputs, random_mlp

    g = random_mlp(2, schedule=Schedule("two_phase", window=3))
    x = random_inputs(g, 5, 0)
    doc = _counts(g, x, [8, 16])
    assert list(doc["per_T"]) == ["3"]
    entry = doc["per_T"]["3"]
    assert entry["total_steps"] == g.schedule.total_steps(3, g.depth)
    trace = simulate(g, x, 3, probes="all")
    for p in g.populations():
        assert entry["populations"][p.name]["spikes_total"] == int(trace.spikes[p.name].sum())
