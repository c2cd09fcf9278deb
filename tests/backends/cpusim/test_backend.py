"""CpuSimBackend honours the Backend protocol: check wraps verify_graph, emit writes a complete,
hash-checked artifact folder atomically (graph + test vectors + manifest), run == simulate."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.backends.cpusim.backend import CpuSimBackend
from neurodeploy.ir import load_graph
from neurodeploy.ir.random_graph import random_dag, random_inputs, random_mlp
from neurodeploy.manifest import check_manifest
from neurodeploy.targets import CPU, LAVA_SIM_LIF


def test_check_reports_reasons() -> None:
    """check is [] for a valid graph and one reason naming the population for an unsupported target."""
    b = CpuSimBackend()
    g = random_mlp(0)
    assert b.check(g, CPU) == []
    reasons = b.check(g, LAVA_SIM_LIF)                 # plain LIF: no subtractive reset
    assert len(reasons) == 1 and "if1" in reasons[0]


@pytest.mark.parametrize("make", [random_mlp, random_dag])
def test_emit_and_run(tmp_path: Path, make) -> None:
    """Chains and DAGs: emit writes graph, vectors and manifest atomically; the reloaded graph
    reproduces the stored readout and spike counts; run == simulate."""
    b = CpuSimBackend()
    g = make(1)
    assert b.check(g) == []
    x = random_inputs(g, 4, 0)
    first = g.populations()[0].name
    out = b.emit(g, tmp_path / "art", samples=x, steps=5)
    assert check_manifest(out) == []
    assert json.loads((out / "manifest.json").read_text())["kind"] == "cpu"
    g2 = load_graph(out)
    with np.load(out / "vectors.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["inputs"], x)
        tr = b.run(g2, x, 5, probes=[first])
        np.testing.assert_array_equal(z["readout"], tr.readout[-1])
        np.testing.assert_array_equal(z[f"counts/{first}"], tr.spike_counts(first))
    np.testing.assert_array_equal(tr.readout, simulate(g, x, 5).readout)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp leftovers
