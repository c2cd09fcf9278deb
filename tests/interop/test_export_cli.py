"""``neurodeploy export`` through the real CLI.

Proves: an exact graph is written as an HDF5 NIR file that ``nir.read`` accepts; what NIR cannot
express stops with one line naming node and field and exit status 1, writing nothing; with
``--allow-loss`` a lossy graph is written with one warning per loss; bad ``--out`` paths (an
existing folder, a foreign file, a path inside the input graph) are refused without touching
anything, while a previous export is replaced.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import Dense, IFPopulation, Input, Readout
from neurodeploy.ir.serialize import save_graph

nir = pytest.importorskip("nir")


def _graph(reset: str = "zero", compare: str = ">") -> Graph:
    pop = IFPopulation("if1", ("fc1",), (2,), threshold=np.array([3, 4]), v0=np.zeros(2, np.int64),
                       bias_mant=np.array([1, 0]), reset=reset, compare=compare)           # type: ignore[arg-type]
    return Graph((Input("input", (2,), bits=2), Dense("fc1", "input", np.array([[1, 2], [3, -1]])), pop,
                  Dense("fc2", "if1", np.array([[1, -1]])), Readout("out", ("fc2",), (1,), np.zeros(1, np.int64))))


def _saved(tmp_path: Path, graph: Graph, name: str = "graph") -> Path:
    folder = tmp_path / name
    save_graph(graph, folder)
    return folder


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def test_export_writes_a_nir_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "model.nir"
    res = CliRunner().invoke(main, ["export", str(_saved(tmp_path, _graph())), "--format", "nir", "--out", str(out)])
    assert res.exit_code == 0, res.output
    # clipping bound by hand: |I| <= max(1*3 + 2*3, 3*3 + 1*3) = 12, |b| = 1, 2**23 // 13 = 645277 steps
    assert _lines(res.output) == [(f"wrote {out}: NIR graph of 6 nodes and 5 edges, exact; the IR's potential "
                                   "clipping, absent in NIR, is provably unreachable for T <= 645277 steps")]
    assert set(nir.read(str(out)).nodes) == {"input", "fc1", "if1", "fc2", "out", "output"}
    again = CliRunner().invoke(main, ["export", str(_saved(tmp_path, _graph())), "--out", str(out), "--json"])
    assert again.exit_code == 0 and '"exact": true' in again.output                  # a previous export is replaced


@pytest.mark.parametrize(("graph", "start"), [
    (_graph("subtract", ">="), "Error: if1.reset: 'subtract'"),
    (_graph().with_schedule(Schedule("srp", tau=2)), "Error: graph.schedule: 'srp'"),
])
def test_refused_graph_is_one_line_and_writes_nothing(tmp_path: Path, graph: Graph, start: str) -> None:
    out = tmp_path / "model.nir"
    res = CliRunner().invoke(main, ["export", str(_saved(tmp_path, graph)), "--out", str(out)])
    assert res.exit_code == 1
    lines = _lines(res.output)
    assert len(lines) == 1 and lines[0].startswith(start), res.output
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "graph"]


def test_allow_loss_warns_once_per_loss(tmp_path: Path) -> None:
    out = tmp_path / "model.nir"
    res = CliRunner().invoke(main, ["export", str(_saved(tmp_path, _graph("subtract", ">="))), "--out", str(out),
                                    "--allow-loss"])
    assert res.exit_code == 0, res.output
    warnings = [ln for ln in _lines(res.output) if ln.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: if1.reset: 'subtract'")
    assert "neurodeploy_loss" in nir.read(str(out)).nodes["if1"].metadata


def test_bad_out_paths_are_refused(tmp_path: Path) -> None:
    graph_dir = _saved(tmp_path, _graph())
    runner = CliRunner()
    folder = tmp_path / "a_folder"
    folder.mkdir()
    res = runner.invoke(main, ["export", str(graph_dir), "--out", str(folder)])
    assert res.exit_code == 2 and "is a directory" in res.output                  # usage error (click.Path)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("mine")
    res = runner.invoke(main, ["export", str(graph_dir), "--out", str(foreign)])
    assert res.exit_code == 1 and _lines(res.output) == [(f"Error: {foreign}: exists and is not an HDF5 (NIR) file; "
                                                          "choose another output path (nothing was written)")]
    assert foreign.read_text() == "mine"
    inside = graph_dir / "model.nir"
    res = runner.invoke(main, ["export", str(graph_dir), "--out", str(inside)])
    assert res.exit_code == 1 and "sit inside the input" in res.output and not inside.exists()
    blocked = foreign / "model.nir"                                               # parent is a file
    res = runner.invoke(main, ["export", str(graph_dir), "--out", str(blocked)])
    assert res.exit_code == 1 and len(_lines(res.output)) == 1
    res = runner.invoke(main, ["export", str(graph_dir), "--format", "onnx", "--out", str(tmp_path / "m.onnx")])
    assert res.exit_code == 2
    res = runner.invoke(main, ["export", str(tmp_path / "missing"), "--out", str(tmp_path / "m.nir")])
    assert res.exit_code == 2
