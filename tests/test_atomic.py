"""Artifact writing never deletes what the toolchain did not create and never loses the
previous artifact: a foreign folder, a file, or an output overlapping its input is refused
before anything is written; an exception leaves the old artifact; a kill between the two
renames of the swap is recovered by the next write; stale temporaries are cleaned."""
from __future__ import annotations

from pathlib import Path

import pytest

from neurodeploy.atomic import OutputRefused, atomic_dir, recover


def write_graph_like(path: Path, text: str) -> None:
    with atomic_dir(path, kind="graph") as tmp:
        (tmp / "graph.json").write_text(text)
        (tmp / "arrays.npz").write_text("x")


def test_foreign_folder_and_file_are_refused_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_text("precious")
    with pytest.raises(OutputRefused, match="not empty and is not a previous graph artifact"):
        write_graph_like(foreign, "{}")
    assert (foreign / "holiday.jpg").read_text() == "precious"
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    with pytest.raises(OutputRefused, match="exists and is not a folder"):
        write_graph_like(a_file, "{}")
    assert a_file.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "photos"]   # no temporaries left


def test_other_artifact_kind_is_refused(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    (ckpt / "model.pt").write_text("w")
    with pytest.raises(OutputRefused, match="it holds a checkpoint artifact"):
        write_graph_like(ckpt, "{}")


@pytest.mark.parametrize("relation", ["same", "inside", "above"])
def test_output_overlapping_input_refused(tmp_path: Path, relation: str) -> None:
    inp = tmp_path / "runs" / "ckpt"
    inp.mkdir(parents=True)
    out = {"same": inp, "inside": inp / "graph", "above": tmp_path / "runs"}[relation]
    with pytest.raises(OutputRefused, match="overwrite, contain or sit inside the input"):
        with atomic_dir(out, inputs=(inp,)):
            pass


def test_dot_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputRefused, match="name a new folder"):
        with atomic_dir(Path(".")):
            pass
    assert list(tmp_path.iterdir()) == []


def test_replacing_previous_artifact_and_failure_keeps_it(tmp_path: Path) -> None:
    g = tmp_path / "g"
    write_graph_like(g, "one")
    write_graph_like(g, "two")
    assert (g / "graph.json").read_text() == "two"
    with pytest.raises(RuntimeError):
        with atomic_dir(g, kind="graph") as tmp:
            (tmp / "graph.json").write_text("half")
            raise RuntimeError("killed mid-write")
    assert (g / "graph.json").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["g"]


def test_kill_between_renames_is_recovered(tmp_path: Path) -> None:
    g = tmp_path / "g"
    write_graph_like(g, "previous")
    old = tmp_path / ".g.old-1234"                      # state after rename 1, before rename 2
    old.mkdir()
    g.rename(old / "previous")
    stale = tmp_path / ".g.tmp-5678"
    stale.mkdir()
    recover(g)
    assert (g / "graph.json").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["g"]
