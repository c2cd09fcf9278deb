"""The Lava deployment bundle: write it, and run/check it (used by the bundle's deploy.py).

Bundle layout (a folder written atomically)::

    graph.json, arrays.npz   the integer IR graph (as saved by neurodeploy.ir.serialize)
    test_vectors.npz         x (N, *input shape) int64; readout (T_total, N, *out) int64;
                             counts/<population> (N, *shape) int64 spike counts: the CPU
                             simulator's expected results
    deploy.py                a fixed script copied from deploy_template.py (never generated)
    manifest.json            versions, SHA-256 of every file, target, steps, schedule

The bundle needs ``neurodeploy`` (and, to run, lava-nc) installed: deploy.py imports this
module, which rebuilds the Lava process graph from graph.json with the same code as
:class:`~neurodeploy.backends.lava.backend.LavaBackend`.
"""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.atomic import atomic_dir, write_bytes
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.serialize import graph_to_json, load_graph, write_graph_files
from neurodeploy.manifest import MANIFEST_FILE, check_manifest, write_manifest
from neurodeploy.targets import TargetSpec, get_target

TEMPLATE = Path(__file__).with_name("deploy_template.py")
DEPLOY_FILE = "deploy.py"
VECTORS_FILE = "test_vectors.npz"
BUNDLE_KIND = "lava-bundle"


def expected_vectors(graph: Graph, x: np.ndarray, steps: int) -> dict[str, np.ndarray]:
    """The CPU simulator's expected readout and per-population spike counts for ``x``."""
    from neurodeploy.backends.cpusim.simulate import simulate
    tr = simulate(graph, x, steps, probes="all")
    out = {"x": np.asarray(x, np.int64), "readout": tr.readout.astype(np.int64)}
    for name, s in tr.spikes.items():
        out[f"counts/{name}"] = s.sum(axis=0, dtype=np.int64)
    return out


def write_bundle(graph: Graph, out: Path, spec: TargetSpec, x: np.ndarray, steps: int,
                 resources: dict | None = None) -> Path:
    """Write the bundle folder ``out`` atomically (see the module docstring); ``resources`` is
    the chip core mapping (:func:`neurodeploy.backends.lava.resources.map_cores`) to record."""
    doc, arrays = graph_to_json(graph)
    vectors = expected_vectors(graph, x, steps)
    with atomic_dir(Path(out)) as tmp:
        write_graph_files(doc, arrays, tmp)
        buf = io.BytesIO()
        np.savez_compressed(buf, **vectors)
        write_bytes(tmp / VECTORS_FILE, buf.getvalue())
        shutil.copyfile(TEMPLATE, tmp / DEPLOY_FILE)
        sched = graph.schedule
        write_manifest(tmp, BUNDLE_KIND, {
            "target": spec.name, "steps": int(steps), "samples": len(x),
            "schedule": {"kind": sched.kind, "tau": sched.tau, "window": sched.window},
            "requires": "neurodeploy (imported by deploy.py) and lava-nc 0.10.0 to run",
            **({"resources": resources} if resources is not None else {}),
        })
    return Path(out)


def load_vectors(folder: Path) -> dict[str, np.ndarray]:
    """``test_vectors.npz`` without pickles."""
    with np.load(Path(folder) / VECTORS_FILE, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def compare(expected: dict[str, np.ndarray], readout: np.ndarray,
            counts: dict[str, np.ndarray]) -> list[str]:
    """Mismatches (zero tolerance) between the test vectors and a run; [] = identical."""
    problems = []
    if readout.shape != expected["readout"].shape or np.any(readout != expected["readout"]):
        bad = np.argwhere(readout != expected["readout"]) if readout.shape == expected["readout"].shape \
            else "shape"
        problems.append(f"readout differs (first index {bad[0].tolist() if len(bad) else bad})")
    for key, want in expected.items():
        if not key.startswith("counts/"):
            continue
        name = key.split("/", 1)[1]
        got = counts.get(name)
        if got is None or got.shape != want.shape or np.any(got != want):
            n_bad = "missing" if got is None else int(np.sum(got != want))
            problems.append(f"{name}: spike counts differ ({n_bad} neurons)")
    return problems


def run_bundle(folder: Path, *, hardware: bool = False, check: bool = False) -> tuple[int, dict[str, Any]]:
    """Verify hashes, rebuild and run the bundle on Lava; return (exit status, summary).

    Status 0 = ran (and, with ``check``, matched the test vectors exactly); 1 = mismatch;
    2 = the bundle is damaged (hash or load failure).
    """
    from neurodeploy.backends.lava.backend import LavaBackend
    folder = Path(folder)
    problems = check_manifest(folder)
    if problems:
        return 2, {"error": "bundle damaged", "problems": problems}
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    try:
        graph = load_graph(folder)
        vectors = load_vectors(folder)
    except (IRError, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:   # damaged files
        return 2, {"error": f"bundle unreadable: {exc}"}
    backend = LavaBackend(get_target(manifest["target"]), hardware=hardware)
    trace = backend.run(graph, vectors["x"], int(manifest["steps"]), probes="all")
    counts = {k: s.sum(axis=0, dtype=np.int64) for k, s in trace.spikes.items()}
    summary: dict[str, Any] = {
        "target": manifest["target"], "steps": manifest["steps"], "samples": len(vectors["x"]),
        "predictions": trace.predictions()[-1].tolist() if trace.steps else [],
        "spikes": {k: int(c.sum()) for k, c in counts.items()},
    }
    if not check:
        return 0, summary
    mism = compare(vectors, trace.readout, counts)
    summary["mismatches"] = mism
    return (1 if mism else 0), summary
