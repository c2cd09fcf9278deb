"""Every example in examples/ runs in its --quick mode as its README entry says (one test per example).

Proves: quickstart_digits.py trains, converts exactly, verifies bit-exactly on Lava and prints the accuracy
table; mnist_cnn_to_lava.py goes through the CLI to a Lava bundle that check-bundle and deploy.py --check
accept; float_model_calibration.py turns a float model of one's own into integer SNNs with three
threshold/calibration variants; own_dataset.py writes an .npz and an image folder and takes both through
train -> convert -> eval with the integer reference equal to the ANN on every test prediction;
analyse_and_export.py counts operations, writes the HTML report and a NIR file that Norse re-simulates
equal to the integer simulator on every test image it uses.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("brevitas")


def run_example(name: str, out: Path, timeout: int = 600) -> str:
    """Run ``examples/NAME --quick --out OUT`` from the repository root; its stdout (fails on exit != 0)."""
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name), "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    return done.stdout


@pytest.mark.lava
def test_quickstart_digits(tmp_path: Path) -> None:
    pytest.importorskip("lava")
    out = run_example("quickstart_digits.py", tmp_path / "qs")
    assert "Lava vs CPU simulator on 3 samples x 8 steps: BIT-EXACT" in out
    assert "integer reference == ANN on 100.00% of 450 predictions" in out
    assert "SNN T=16" in out and (tmp_path / "qs" / "graph" / "graph.json").is_file()


@pytest.mark.lava
def test_mnist_cnn_to_lava(tmp_path: Path) -> None:
    pytest.importorskip("lava")
    from neurodeploy.data.mnist import default_mnist_dir

    if default_mnist_dir() is None:
        pytest.skip("../shared/data/mnist not present")
    out = run_example("mnist_cnn_to_lava.py", tmp_path / "mnist")
    assert "exact: True" in out and "BIT-EXACT: 0 mismatching spikes" in out
    assert "lava-bundle bundle intact" in out and out.rstrip().splitlines()[-2] == "OK"


def test_float_model_calibration(tmp_path: Path) -> None:
    out = run_example("float_model_calibration.py", tmp_path / "fc")
    lines = out.splitlines()
    assert any(line.startswith("mmse + advanced") for line in lines) and "float ANN" in lines[-1]
    assert (tmp_path / "fc" / "graph_mmse_advanced" / "graph.json").is_file()


def test_own_dataset(tmp_path: Path) -> None:
    out = run_example("own_dataset.py", tmp_path / "own")
    rows = [line for line in out.splitlines() if line.startswith(("sensors.npz", "shapes/"))]
    assert len(rows) == 2 and all("100.00% of" in row for row in rows)
    assert "quantised" in rows[0] and "uint8" in rows[1]
    assert (tmp_path / "own" / "shapes" / "train" / "circle").is_dir()


def test_analyse_and_export(tmp_path: Path) -> None:
    pytest.importorskip("nir")
    pytest.importorskip("norse")
    out = run_example("analyse_and_export.py", tmp_path / "an")
    assert "NIR file re-simulated in Norse: predictions agree on 100/100, readouts identical on 100/100" in out
    assert "synaptic ops (ACs)" in out and (tmp_path / "an" / "report" / "index.html").is_file()
