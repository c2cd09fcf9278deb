"""The user's own data through the real CLI: train -> convert -> eval on an IDX folder, an .npz of floats and
an RGB image folder, each tiny (generated 12x12 patterns, a subset, two epochs).

Proves: (1) for each format the integer reference equals the Brevitas ANN on 100 % of the test predictions
(``eval --json`` with the checkpoint) and the graph records the data contract (path, fingerprint, class
names, encoding); (2) ``eval``/``build`` find the graph's own test set by its recorded path, warn on stderr
when the file there changed, refuse with a pointer to ``--dataset`` when it is gone, and take ``--dataset``
instead; (3) bad data stops ``train`` with exit 1 and one line naming the file, and writes nothing.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from synthetic_data import CLASSES, write_idx, write_image_folder, write_npz

from neurodeploy.cli import main

pytest.importorskip("brevitas")


def _ok(*args: str) -> Result:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 0, res.output + (res.stderr if res.stderr_bytes else "")
    return res


def _flow(tmp: Path, dataset: Path, *train_args: str) -> dict:
    """train (2 epochs) -> convert -> eval --json; returns the eval result."""
    _ok("train", "--dataset", str(dataset), "--epochs", "2", "--lr", "1e-2", "--levels", "4",
        "--out", str(tmp / "ckpt"), "--json", *train_args)
    report = json.loads(_ok("convert", str(tmp / "ckpt"), "--out", str(tmp / "graph"), "--json").stdout)
    assert report["exact"] is True and report["ann_check"]["prediction_agreement"] == 1.0
    return json.loads(_ok("eval", str(tmp / "graph"), "--checkpoint", str(tmp / "ckpt"), "--steps", "1,4",
                          "--json").stdout)


def _meta(graph: Path) -> dict[str, str]:
    return json.loads((graph / "graph.json").read_text())["meta"]


def test_idx_folder_cnn(tmp_path: Path) -> None:
    data = write_idx(tmp_path / "idx")
    result = _flow(tmp_path, data, "--model", "cnn", "--input-shape", "1,12,12", "--limit", "120")
    assert result["agreement_reference_vs_ann"] == 1.0 and result["samples"] == 60
    meta = _meta(tmp_path / "graph")
    assert meta["dataset"] == str(data.resolve()) and len(meta["dataset_sha256"]) == 64
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["train_samples"] == 120 and config["dataset_sha256"] == meta["dataset_sha256"]


def test_npz_floats_mlp_and_recorded_path(tmp_path: Path) -> None:
    data = write_npz(tmp_path / "own.npz", as_float=True)
    result = _flow(tmp_path, data, "--model", "mlp", "--input-bits", "6")
    assert result["agreement_reference_vs_ann"] == 1.0
    meta = _meta(tmp_path / "graph")
    assert json.loads(meta["class_names"]) == list(CLASSES)
    assert json.loads(meta["input_encoding"])["kind"] == "quantised"
    graph = str(tmp_path / "graph")
    # the recorded file changed: a warning on stderr, the run goes on
    write_npz(data, as_float=True, y_test=np.zeros(60, np.int64))
    res = _ok("eval", graph, "--steps", "1", "--json")
    assert "warning: dataset" in res.stderr and "not the data the graph was trained on" in res.stderr
    # the recorded file is gone: refused, naming the way out; --dataset points elsewhere
    shutil.move(data, tmp_path / "moved.npz")
    res = CliRunner().invoke(main, ["eval", graph, "--steps", "1"])
    assert res.exit_code == 1 and "is not there any more; pass --dataset" in res.output
    _ok("build", graph, "--target", "cpu", "--out", str(tmp_path / "bundle"), "--vectors", "4",
        "--dataset", str(tmp_path / "moved.npz"))


def test_image_folder_rgb_cnn(tmp_path: Path) -> None:
    data = write_image_folder(tmp_path / "images", rgb=True)
    result = _flow(tmp_path, data, "--model", "cnn", "--limit", "120")
    assert result["agreement_reference_vs_ann"] == 1.0
    assert json.loads(_meta(tmp_path / "graph")["class_names"]) == sorted(CLASSES)


@pytest.mark.parametrize("kind", ["idx", "npz", "images"])
def test_bad_data_exit_1_nothing_written(tmp_path: Path, kind: str) -> None:
    if kind == "idx":
        data = write_idx(tmp_path / "idx", gz=False)
        bad = data / "train-images-idx3-ubyte"
        bad.write_bytes(bad.read_bytes()[:-1])
    elif kind == "npz":
        data = bad = write_npz(tmp_path / "own.npz", y_train=np.full(150, 7))
    else:
        data = write_image_folder(tmp_path / "images", n_train=9, n_test=3)
        bad = data / "train" / "vertical" / "readme.md"
        bad.write_text("not an image")
    out = tmp_path / "ckpt"
    res = CliRunner().invoke(main, ["train", "--dataset", str(data), "--out", str(out), "--epochs", "1"])
    assert res.exit_code == 1, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and lines[0].startswith("Error: ")
    assert not out.exists()


def test_train_float_own_factory_on_own_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_float.py").write_text(
        "from torch import nn\n\n\ndef net():\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(144, 16), nn.ReLU(), nn.Linear(16, 3))\n")
    monkeypatch.chdir(tmp_path)                       # module:function is imported from the working directory
    data = write_npz(tmp_path / "own.npz")
    res = _ok("train-float", "--model", "my_float:net", "--dataset", str(data), "--epochs", "2", "--limit", "90",
              "--out", str(tmp_path / "float"), "--json")
    assert 0.0 <= json.loads(res.stdout)["test_acc"] <= 1.0
    config = json.loads((tmp_path / "float" / "config.json").read_text())
    assert config["dataset"] == str(data.resolve()) and config["class_names"] == list(CLASSES)
    assert config["train_samples"] == 90 and config["input_shape"] == [1, 12, 12]
