"""Check a deployment bundle from outside (``neurodeploy check-bundle``).

Order of checks, nothing of the bundle being run before the first three pass:

1. the manifest carries its own hash, lists exactly the files present (an extra file, folder,
   ``__pycache__`` or link is refused) and every file has its SHA-256
   (:func:`neurodeploy.manifest.verify_exact`);
2. the bundle's contents fit together: the graph loads, its content hash is the one recorded,
   the test vectors fit the graph (Lava: :func:`neurodeploy.backends.lava.bundle.open_bundle`);
3. with ``graph_dir``, the bundle's graph is that graph (same ``content_sha256``);
4. unless ``run=False``, the test vectors are replayed with zero tolerance: a Lava bundle on
   Lava (the code behind ``deploy.py --check``), a CPU bundle on the CPU simulator.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.backends.lava.bundle import BUNDLE_KIND, BundleError, open_bundle, replay
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.serialize import (
    ARRAYS_FILE,
    GRAPH_FILE,
    HASH_FIELD,
    load_graph,
    read_arrays,
    read_graph_doc,
)
from neurodeploy.manifest import MANIFEST_FILE, verify_exact

CPU_KIND = "cpu"
CPU_VECTORS_FILE = "vectors.npz"      # neurodeploy.backends.cpusim.backend.VECTORS_FILE
CPU_ALLOWED = {GRAPH_FILE, ARRAYS_FILE, CPU_VECTORS_FILE}


def _graph_hash(folder: Path) -> str:
    return str(read_graph_doc(Path(folder) / GRAPH_FILE).get(HASH_FIELD))


def _check_cpu_vectors(graph: Graph, vectors: dict[str, np.ndarray], where: Path) -> int:
    """Refuse CPU test vectors that do not fit ``graph``; returns the number of samples."""
    x, readout = vectors.get("inputs"), vectors.get("readout")
    if x is None or readout is None:
        raise BundleError(f"{where}: needs members 'inputs' and 'readout'")
    if x.ndim < 1 or not 1 <= len(x) <= 1 << 20 or tuple(x.shape[1:]) != tuple(graph.input.shape):
        raise BundleError(f"{where}: inputs have shape {x.shape}, expected (samples, *{graph.input.shape})")
    graph.input.value_t.check(x, f"{where}: inputs")  # IRError naming the file
    if readout.ndim < 1 or len(readout) != len(x):
        raise BundleError(f"{where}: readout has shape {readout.shape}, expected ({len(x)}, ...)")
    pops = {n.name for n in graph.nodes if n.role == "population"}
    for key, value in vectors.items():
        name = key.split("/", 1)[1] if key.startswith("counts/") else None
        if key not in ("inputs", "readout") and (name not in pops or value.ndim < 1 or len(value) != len(x)):
            raise BundleError(f"{where}: unexpected member {key!r} with shape {value.shape}")
    return len(x)


def _cpu_bundle(folder: Path, manifest: dict[str, Any], run: bool) -> dict[str, Any]:
    """Check (and replay on the CPU simulator) a ``cpu`` bundle written by CpuSimBackend.emit."""
    from neurodeploy.backends.cpusim.simulate import simulate

    mpath = folder / MANIFEST_FILE
    unknown = sorted(set(manifest["files"]) - CPU_ALLOWED)
    if unknown:
        raise BundleError(f"{folder / unknown[0]}: not a file of a cpu bundle")
    steps = manifest.get("steps")
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 1 << 16:
        raise BundleError(f"{mpath}: 'steps' must be an int in 1..65536, got {steps!r}")
    recorded = manifest.get("graph_content_sha256")
    if recorded is not None and recorded != _graph_hash(folder):
        raise BundleError(f"{folder / GRAPH_FILE}: content_sha256 differs from the manifest's record")
    graph = load_graph(folder)
    summary: dict[str, Any] = {"kind": CPU_KIND, "steps": steps, "replayed": False}
    if CPU_VECTORS_FILE not in manifest["files"]:
        return summary
    vpath = folder / CPU_VECTORS_FILE
    vectors = read_arrays(vpath)
    summary["samples"] = _check_cpu_vectors(graph, vectors, vpath)
    if not run:
        return summary
    trace = simulate(graph, vectors["inputs"], steps, probes="all")
    problems = []
    if trace.readout[-1].shape != vectors["readout"].shape or np.any(trace.readout[-1] != vectors["readout"]):
        problems.append("readout differs")
    for key, want in vectors.items():
        if key.startswith("counts/"):
            got = trace.spike_counts(key.split("/", 1)[1])
            if got.shape != want.shape or np.any(got != want):
                problems.append(f"{key.split('/', 1)[1]}: spike counts differ")
    summary.update(replayed=True, mismatches=problems)
    return summary


def check_bundle(folder: Path, *, graph_dir: Path | None = None, run: bool = True) -> dict[str, Any]:
    """Verify ``folder`` (see the module docstring) and return a summary; ``summary["mismatches"]``
    lists replay differences ([] = bit-exact).  Refusals raise a ValueError subclass
    (ManifestError, BundleError, IRError) with one line naming the file."""
    folder = Path(folder)
    manifest = verify_exact(folder)
    kind = manifest.get("kind")
    if kind == BUNDLE_KIND:
        bundle = open_bundle(folder)
        summary: dict[str, Any] = {"kind": kind, "target": bundle.spec.name, "steps": bundle.steps,
                                   "samples": len(bundle.vectors["x"]), "replayed": False}
    elif kind == CPU_KIND:
        summary = _cpu_bundle(folder, manifest, run)
    else:
        raise BundleError(f"{folder / MANIFEST_FILE}: kind {kind!r} is not a bundle "
                          f"({BUNDLE_KIND!r} or {CPU_KIND!r})")
    if graph_dir is not None and _graph_hash(folder) != _graph_hash(Path(graph_dir)):
        raise BundleError(f"{folder / GRAPH_FILE}: not the graph of {graph_dir} (content_sha256 differs)")
    summary["files"] = len(manifest["files"])
    if kind == BUNDLE_KIND and run:
        _, result = replay(bundle, check=True)       # status 1 <=> result["mismatches"] != []
        summary.update(result, replayed=True)
    return summary
