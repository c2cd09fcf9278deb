"""Proves the Lava bundle round-trips for a DAG (residual merge, concat, delays): emit writes graph + arrays + test vectors + a fixed
deploy.py + manifest atomically; `python deploy.py --check` in a fresh process rebuilds the
Lava graph and matches the CPU simulator's vectors exactly; a corrupted array is refused
(non-zero exit); deploy.py is a byte-for-byte copy of the template (never generated)."""
from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("lava") is None:
    pytest.skip("lava-nc not installed", allow_module_level=True)

from lava_helpers import merge_net
from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.backends.lava.bundle import TEMPLATE

from neurodeploy.ir.random_graph import random_inputs
from neurodeploy.targets import LOIHI2

pytestmark = pytest.mark.lava


def _deploy(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(folder / "deploy.py"), *args], capture_output=True,
                          check=False, text=True, timeout=300, cwd=folder.parent)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = merge_net(7)
    out = tmp_path_factory.mktemp("b") / "bundle"
    LavaBackend().emit(g, out, samples=random_inputs(g, 3, 0), steps=4, chip=LOIHI2)
    return out


def test_layout_and_template_copy(bundle: Path) -> None:
    names = sorted(p.name for p in bundle.iterdir())
    assert names == ["arrays.npz", "deploy.py", "graph.json", "manifest.json", "test_vectors.npz"]
    assert (bundle / "deploy.py").read_bytes() == TEMPLATE.read_bytes()
    man = json.loads((bundle / "manifest.json").read_text())
    assert man["target"] == "lava-sim-subif" and man["steps"] == 4
    assert man["schedule"]["kind"] == "plain" and "lava-nc" in man["versions"]
    assert set(man["files"]) == {"arrays.npz", "deploy.py", "graph.json", "test_vectors.npz"}
    assert man["resources"]["fits"] and any(lu["kind"] == "relay" for lu in man["resources"]["layers"])
    with np.load(bundle / "test_vectors.npz", allow_pickle=False) as v:
        assert v["x"].shape == (3, 2, 5, 5) and v["readout"].shape == (4, 3, 4)
        assert {"counts/if1", "counts/if2", "counts/if3", "counts/if4"} <= set(v.files)


def test_deploy_check_passes(bundle: Path) -> None:
    r = _deploy(bundle, "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("OK")


def _copy_with_edited_npz(bundle: Path, dst: Path, name: str) -> tuple[dict[str, np.ndarray], Path]:
    """Copy ``bundle`` to ``dst``; return the arrays of its ``name`` (editable copies) and that path."""
    dst.mkdir()
    for p in bundle.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    with np.load(dst / name, allow_pickle=False) as npz:
        return {k: npz[k].copy() for k in npz.files}, dst / name


def _save(arrays: dict[str, np.ndarray], path: Path) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())


def test_corrupted_array_fails(bundle: Path, tmp_path: Path) -> None:
    arrays, path = _copy_with_edited_npz(bundle, tmp_path / "bad", "arrays.npz")
    bad = path.parent
    key = next(k for k in arrays if k.endswith("/weight"))
    arrays[key].flat[0] += 1
    _save(arrays, path)
    assert zipfile.is_zipfile(bad / "arrays.npz")
    r = _deploy(bad, "--check")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "arrays.npz" in r.stdout and "DAMAGED" in r.stdout


def test_wrong_expectation_is_a_mismatch(bundle: Path, tmp_path: Path) -> None:
    """Re-hash a bundle whose test vectors were edited: it loads, runs, and must fail --check."""
    from neurodeploy.manifest import write_manifest
    vec, path = _copy_with_edited_npz(bundle, tmp_path / "edited", "test_vectors.npz")
    bad = path.parent
    vec["readout"][-1, 0, 0] += 1
    _save(vec, path)
    man = json.loads((bad / "manifest.json").read_text())
    extra = {k: v for k, v in man.items() if k not in ("kind", "versions", "files")}
    write_manifest(bad, man["kind"], extra)
    r = _deploy(bad, "--check")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "MISMATCH" in r.stdout


def test_check_bundle_replays_on_lava(bundle: Path) -> None:
    """`neurodeploy check-bundle` verifies the files, then runs what `deploy.py --check` runs."""
    from neurodeploy.bundle_check import check_bundle
    from neurodeploy.ir.serialize import read_graph_doc
    summary = check_bundle(bundle)
    assert summary["replayed"] and summary["mismatches"] == []
    man = json.loads((bundle / "manifest.json").read_text())
    assert man["graph_content_sha256"] == read_graph_doc(bundle / "graph.json")["content_sha256"]


def test_swapped_graph_is_refused_even_when_resigned(bundle: Path, tmp_path: Path) -> None:
    """Re-signing the file hashes keeps the recorded graph hash: a swapped graph is refused."""
    from neurodeploy.ir.random_graph import random_cnn
    from neurodeploy.ir.serialize import graph_to_json, write_graph_files
    from neurodeploy.manifest import write_manifest
    _, path = _copy_with_edited_npz(bundle, tmp_path / "swapped", "arrays.npz")
    bad = path.parent
    write_graph_files(*graph_to_json(random_cnn(3)), bad)
    man = json.loads((bad / "manifest.json").read_text())
    write_manifest(bad, man["kind"], {k: v for k, v in man.items() if k not in ("kind", "versions", "files")})
    r = _deploy(bad, "--check")
    assert r.returncode == 2 and "graph_content_sha256" in r.stdout, r.stdout + r.stderr
