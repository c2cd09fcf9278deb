"""The CLI's error contract: a bad option value is a usage error (exit 2), a refused artifact one
line with exit 1, and an unexpected exception is reported as a bug (exit 3, one line) with the
traceback only under --debug."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from neurodeploy import targets
from neurodeploy.cli import INTERNAL_ERROR, main


@pytest.mark.parametrize("args", [["verify", ".", "--steps", "0"], ["eval", ".", "--limit", "0"],
                                  ["build", ".", "--target", "cpu", "--out", "x", "--vectors", "-1"],
                                  ["train", "--epochs", "0", "--out", "x"], ["train", "--batch-size", "-5", "--out", "x"],
                                  ["verify", ".", "--samples", "-1"]])
def test_out_of_range_options_are_usage_errors(args: list[str]) -> None:
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "Invalid value" in res.output


def test_refused_artifact_is_one_line_exit_1(tmp_path: Path) -> None:
    (tmp_path / "graph.json").write_text("{not json")
    (tmp_path / "arrays.npz").write_bytes(b"")
    res = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert res.exit_code == 1
    assert [ln for ln in res.output.splitlines() if ln] == [f"Error: {tmp_path / 'graph.json'}: not valid JSON "
                                                            "(Expecting property name enclosed in double quotes "
                                                            "at line 1)"]


def test_unexpected_exception_is_reported_as_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(targets.TARGETS, "broken", object())       # asdict() of a non-dataclass: a bug
    res = CliRunner().invoke(main, ["targets", "--json"])
    assert res.exit_code == INTERNAL_ERROR
    assert "internal error (a bug in neurodeploy" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["--debug", "targets", "--json"])
    assert res.exit_code == INTERNAL_ERROR and "Traceback" in res.output
