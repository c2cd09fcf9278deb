"""Packaging guards: backends/ and quant/ install only as neurodeploy.backends / neurodeploy.quant,
every subpackage is listed for the wheel, and importing the core pulls in neither torch nor lava."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    setup = _pyproject()["tool"]["setuptools"]
    listed = set(setup["packages"])
    for pkg, folder in setup["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join([pkg, *rel.parts]) if rel.parts else pkg
            assert name in listed, f"{name} ({init.parent}) is missing from [tool.setuptools].packages"


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-c", code], cwd=cwd, capture_output=True, text=True)


def test_backends_and_quant_are_not_top_level_names(tmp_path: Path) -> None:
    for name in ("backends", "quant"):
        proc = _run(f"import {name}", tmp_path)
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, name
    proc = _run("import neurodeploy.backends.cpusim, neurodeploy.quant; print('ok')", tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_core_import_does_not_load_torch_or_lava(tmp_path: Path) -> None:
    code = ("import sys, neurodeploy, neurodeploy.ir, neurodeploy.cli, neurodeploy.backends.cpusim, "
            "neurodeploy.backends.lava; "
            "bad = [m for m in ('torch', 'brevitas', 'lava') if m in sys.modules]; print(bad)")
    proc = _run(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


def test_target_entry_points_resolve() -> None:
    names = {ep.name: ep for ep in entry_points(group="neurodeploy.targets")}
    assert {"cpu", "lava"} <= set(names)
    assert names["cpu"].load().name == "cpu"
