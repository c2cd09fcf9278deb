"""Seeded fuzzing of the artifact loaders (graph folders, checkpoints, bundles) and of the
bundle verifier: every mutated artifact is refused with one line naming the file, or loads
semantically unchanged, or (re-signed forgeries only) passes the downstream checks without an
unexpected exception; never another exception or a hang.  Plus: mutated graphs through the CLI
(exit 1, one line, no traceback), and `deploy.py` never imports from its own folder."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from neurodeploy.harness.fuzz import describe, summarize
from neurodeploy.harness.fuzz_targets import bundle_family, graph_family, make_bundles, make_graph_folder



def _defects(outcomes) -> list[dict]:
    return list(summarize(outcomes)["defects"])


def test_graph_folders_fuzz(tmp_path: Path) -> None:
    out = graph_family(tmp_path, 400, seed=11)
    assert _defects(out) == [], describe(out)
    counts = summarize(out)["counts"]["graph"]
    assert counts["refused-cleanly"] > 200 and counts["accepted-valid"] > 0


def test_bundles_fuzz(tmp_path: Path) -> None:
    out = bundle_family(tmp_path, 60, seed=12)
    assert _defects(out) == [], describe(out)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_checkpoints_fuzz(tmp_path: Path) -> None:
    from neurodeploy.harness.fuzz_targets import checkpoint_family
    out = checkpoint_family(tmp_path, 50, seed=13)
    assert _defects(out) == [], describe(out)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_checkpoint_without_config_hash_is_refused(tmp_path: Path) -> None:
    from neurodeploy.quant.checkpoint import CheckpointError, load_checkpoint

    from neurodeploy.harness.fuzz_targets import make_checkpoint
    make_checkpoint(tmp_path / "ck")
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    del cfg["config_sha256"]
    cfg["levels"] = cfg["model_config"]["levels"] = 1000
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="config"):
        load_checkpoint(tmp_path / "ck")


@pytest.mark.parametrize("edit", ["flip", "truncate", "version", "manifest", "array"])
@pytest.mark.parametrize("command", ["inspect", "eval"])
def test_cli_refuses_mutated_graph(tmp_path: Path, command: str, edit: str) -> None:
    from neurodeploy.cli import main
    folder = tmp_path / "g"
    make_graph_folder(folder)
    g = folder / "graph.json"
    if edit == "flip":
        data = bytearray(g.read_bytes())
        data[len(data) // 2] ^= 0x20
        g.write_bytes(bytes(data))
    elif edit == "truncate":
        g.write_bytes(g.read_bytes()[:100])
    elif edit == "version":
        g.write_text(g.read_text().replace('"format_version": "2.0"', '"format_version": "9.0"'))
    elif edit == "manifest":
        (folder / "conversion_report.json").write_text("{}")
    else:
        (folder / "manifest.json").unlink()
        (folder / "arrays.npz").write_bytes(b"PK\x03\x04" + b"\0" * 50)
    res = CliRunner().invoke(main, [command, str(folder)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert any(f in res.output for f in ("graph.json", "arrays.npz", "conversion_report.json")), res.output


def test_check_bundle_command(tmp_path: Path) -> None:
    from neurodeploy.commands.bundle import check_bundle
    lava, cpu = make_bundles(tmp_path)
    assert CliRunner().invoke(check_bundle, [str(cpu)]).exit_code == 0
    res = CliRunner().invoke(check_bundle, [str(lava), "--no-run", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["kind"] == "lava-bundle"
    (lava / "__pycache__").mkdir()
    res = CliRunner().invoke(check_bundle, [str(lava), "--no-run"])
    assert res.exit_code == 1 and "__pycache__" in res.output and "not listed" in res.output
    other = tmp_path / "other"
    make_graph_folder(other)
    res = CliRunner().invoke(check_bundle, [str(cpu), "--graph", str(other)])
    assert res.exit_code == 1 and "content_sha256" in res.output


def test_deploy_never_imports_from_its_folder(tmp_path: Path) -> None:
    lava, _ = make_bundles(tmp_path)
    marker = tmp_path / "imported"
    (lava / "json.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (lava / "argparse.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    r = subprocess.run([sys.executable, str(lava / "deploy.py"), "--check"], capture_output=True, text=True,
                       timeout=120, cwd=lava, check=False)
    assert not marker.exists(), r.stdout + r.stderr
    assert r.returncode == 2 and "not listed in manifest.json" in r.stdout and "DAMAGED" in r.stdout
