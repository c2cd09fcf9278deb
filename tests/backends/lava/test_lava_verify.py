"""Proves the verification harness finds the right first divergence: a correct backend gives
an empty report; a single perturbed weight on the Lava side is reported at the earliest
(step, layer, neuron, sample) with the right expected/actual v and the physical Lava step,
and the evidence files are written."""
from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("lava") is None:
    pytest.skip("lava-nc not installed", allow_module_level=True)

from neurodeploy.backends.cpusim.simulate import simulate

from neurodeploy.harness.verify import verify_backend, write_evidence
from neurodeploy.ir.nodes import Dense
from neurodeploy.ir.random_graph import random_inputs, random_mlp

pytestmark = pytest.mark.lava


def test_clean_run_is_ok() -> None:
    g = random_mlp(8)
    rep = verify_backend(g, random_inputs(g, 2, 0), 5)
    assert rep.ok and rep.first_divergence is None
    assert rep.to_json()["ok"] is True and set(rep.mismatches) == {"if1", "if2", "out"}


def test_perturbed_weight_first_divergence(tmp_path: Path) -> None:
    g = random_mlp(9, sizes=(12, 16, 10, 4))
    x = random_inputs(g, 3, 5)
    x[:, 4] = 0
    x[1, 4] = 9                                   # only sample 1 feeds input column 4
    row = 6
    fc2 = g.node("fc2")
    assert isinstance(fc2, Dense)
    w = g.node("fc1").weight.copy()
    w[row, 4] = 127 if w[row, 4] < 0 else -128   # a large change to one fc1 weight
    bad = g.with_nodes([replace(n, weight=w) if n.name == "fc1" else n for n in g.nodes])
    rep = verify_backend(g, x, 6, backend_graph=bad)
    d = rep.first_divergence
    assert not rep.ok and d is not None
    assert (d.step, d.layer, d.layer_index, d.neuron_flat, d.neuron, d.sample) == (0, "if1", 0, row, [row], 1)
    exp = simulate(g, x, 6, probes="all", record_v=True)
    act = simulate(bad, x, 6, probes="all", record_v=True)
    assert d.expected_v == int(exp.v["if1"][0, 1, row]) and d.actual_v == int(act.v["if1"][0, 1, row])
    assert d.physical_step == 1 * 6 + 0 + 1 + 1   # sample*period + step + 1 + depth
    out = write_evidence(rep, tmp_path / "verify" / "lava")
    doc = json.loads((out / "report.json").read_text())
    assert doc["ok"] is False and doc["first_divergence"]["layer"] == "if1"
    with np.load(out / "first_divergence.npz", allow_pickle=False) as npz:
        assert npz["expected_v"].shape == (6, 16) and npz["actual_spikes"].shape == (6, 16)
