"""The README's worked example of a user's own model runs as documented: a Brevitas ResNet written in
its own file (``examples/my_resnet.py``, ``forward`` with ``+``), named as ``module:function``, trains,
converts with the integer reference equal to the Brevitas ANN (checked on the test set), shows its
merges in ``inspect`` and verifies on Lava with 0 mismatches (``examples/residual_model.py --quick``)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("brevitas")
pytest.importorskip("lava")


@pytest.mark.lava
def test_residual_model_example_quick(tmp_path: Path) -> None:
    run = tmp_path / "own_resnet"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "residual_model.py"), "--quick", "--out", str(run)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    out = done.stdout
    assert "merge of 2: conv3_syn from conv2_if" in out                  # the identity shortcut is a merge
    assert "BIT-EXACT: 0 mismatching spikes, potentials and readout values" in out
    assert "conversion exact (integer reference == Brevitas ANN, checked): True" in out
    assert (run / "graph" / "conversion_report.json").is_file()
