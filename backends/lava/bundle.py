"""The Lava deployment bundle: write it, and run/check it (used by the bundle's deploy.py).

Bundle layout (a folder written atomically)::

    graph.json, arrays.npz   the integer IR graph (as saved by neurodeploy.ir.serialize)
    test_vectors.npz         x (N, *input shape) int64; readout (T_total, N, *out) int64;
                             counts/<population> (N, *shape) int64 spike counts: the CPU
                             simulator's expected results
    deploy.py                a fixed script copied from deploy_template.py (never generated)
    manifest.json            versions, SHA-256 of every file, target, steps, schedule, the
                             graph's content_sha256 and the manifest's own hash

Before anything runs, :func:`open_bundle` refuses a bundle holding any file or folder the
manifest does not list (``__pycache__`` included), any hash mismatch, a swapped graph and test
vectors that do not fit the graph; ``deploy.py --check`` and ``neurodeploy check-bundle`` share it.

The bundle needs ``neurodeploy`` (and, to run, lava-nc) installed: deploy.py imports this
module, which rebuilds the Lava process graph from graph.json with the same code as
:class:`~neurodeploy.backends.lava.backend.LavaBackend`.
"""
from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.atomic import atomic_dir, write_bytes
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.serialize import (
    ARRAYS_FILE,
    GRAPH_FILE,
    HASH_FIELD,
    graph_to_json,
    load_graph,
    read_arrays,
    read_graph_doc,
    write_graph_files,
)
from neurodeploy.manifest import MANIFEST_FILE, ManifestError, verify_exact, write_manifest
from neurodeploy.targets import TARGETS, TargetSpec

TEMPLATE = Path(__file__).with_name("deploy_template.py")
DEPLOY_FILE = "deploy.py"
VECTORS_FILE = "test_vectors.npz"
BUNDLE_KIND = "lava-bundle"
GRAPH_HASH_FIELD = "graph_content_sha256"     # graph.json's content_sha256, recorded in the manifest
MAX_BUNDLE_STEPS = 1 << 16
MAX_BUNDLE_SAMPLES = 1 << 20


class BundleError(ValueError):
    """A bundle whose files are intact but do not fit together (one line naming the file)."""


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
            "target": spec.name, "steps": int(steps), "samples": len(x), GRAPH_HASH_FIELD: doc[HASH_FIELD],
            "schedule": {"kind": sched.kind, "tau": sched.tau, "window": sched.window},
            "requires": "neurodeploy (imported by deploy.py) and lava-nc 0.10.0 to run",
            **({"resources": resources} if resources is not None else {}),
        })
    return Path(out)


def load_vectors(folder: Path) -> dict[str, np.ndarray]:
    """``test_vectors.npz`` without pickles, with the same member checks as ``arrays.npz``."""
    return read_arrays(Path(folder) / VECTORS_FILE)


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


def _field(manifest: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = manifest.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BundleError(f"{where / MANIFEST_FILE}: {key!r} must be a {kind.__name__}, got {value!r}")
    return value


def check_vectors(graph: Graph, vectors: dict[str, np.ndarray], samples: int, where: Path) -> None:
    """Refuse test vectors whose inputs, readout or counts do not fit ``graph`` (``where``: the file)."""
    x, readout = vectors.get("x"), vectors.get("readout")
    if x is None or readout is None:
        raise BundleError(f"{where}: needs members 'x' and 'readout'")
    if x.ndim < 1 or len(x) != samples or tuple(x.shape[1:]) != tuple(graph.input.shape):
        raise BundleError(f"{where}: x has shape {x.shape}, expected ({samples}, *{graph.input.shape})")
    graph.input.value_t.check(x, f"{where}: x")     # IRError naming the file
    if readout.ndim < 2 or readout.shape[1] != samples:
        raise BundleError(f"{where}: readout has shape {readout.shape}, expected (steps, {samples}, ...)")
    pops = {n.name for n in graph.nodes if n.role == "population"}
    for key, value in vectors.items():
        if key in ("x", "readout"):
            continue
        name = key.split("/", 1)[1] if key.startswith("counts/") else None
        if name not in pops or value.ndim < 1 or len(value) != samples:
            raise BundleError(f"{where}: unexpected member {key!r} with shape {value.shape}")


@dataclass(frozen=True)
class OpenBundle:
    """A bundle whose files were verified against its manifest and whose contents were checked."""

    folder: Path
    manifest: dict[str, Any]
    graph: Graph
    vectors: dict[str, np.ndarray]
    spec: TargetSpec
    steps: int


def open_bundle(folder: Path) -> OpenBundle:
    """Verify a Lava bundle before running anything: the manifest lists exactly the files present
    and every hash (:func:`neurodeploy.manifest.verify_exact`), the graph's content hash is the one
    recorded, target/steps/samples are sane, and the test vectors fit the graph.

    Raises :class:`~neurodeploy.manifest.ManifestError`, :class:`BundleError` or
    :class:`~neurodeploy.ir.dtypes.IRError` (one line each, naming the file)."""
    folder = Path(folder)
    manifest = verify_exact(folder)
    mpath = folder / MANIFEST_FILE
    if manifest.get("kind") != BUNDLE_KIND:
        raise BundleError(f"{mpath}: kind {manifest.get('kind')!r} is not {BUNDLE_KIND!r}")
    for required in (GRAPH_FILE, ARRAYS_FILE, VECTORS_FILE, DEPLOY_FILE):
        if required not in manifest["files"]:
            raise BundleError(f"{mpath}: does not list {required}")
    target = _field(manifest, "target", str, folder)
    if target not in TARGETS:
        raise BundleError(f"{mpath}: unknown target {target!r}")
    steps = _field(manifest, "steps", int, folder)
    samples = _field(manifest, "samples", int, folder)
    if not 1 <= steps <= MAX_BUNDLE_STEPS or not 1 <= samples <= MAX_BUNDLE_SAMPLES:
        raise BundleError(f"{mpath}: steps must be in 1..{MAX_BUNDLE_STEPS} and samples in "
                          f"1..{MAX_BUNDLE_SAMPLES}, got {steps} and {samples}")
    graph_hash = _field(manifest, GRAPH_HASH_FIELD, str, folder)
    doc = read_graph_doc(folder / GRAPH_FILE)
    if doc.get(HASH_FIELD) != graph_hash:
        raise BundleError(f"{folder / GRAPH_FILE}: content_sha256 differs from the manifest's "
                          f"{GRAPH_HASH_FIELD} (the bundle's graph was swapped)")
    graph = load_graph(folder)
    vectors = load_vectors(folder)
    check_vectors(graph, vectors, samples, folder / VECTORS_FILE)
    return OpenBundle(folder, manifest, graph, vectors, TARGETS[target], steps)


def replay(bundle: OpenBundle, *, hardware: bool = False, check: bool = False) -> tuple[int, dict[str, Any]]:
    """Run the test vectors of a verified bundle on Lava; (0 ran/matched or 1 mismatch, summary)."""
    from neurodeploy.backends.lava.backend import LavaBackend
    trace = LavaBackend(bundle.spec, hardware=hardware).run(bundle.graph, bundle.vectors["x"],
                                                            bundle.steps, probes="all")
    counts = {k: s.sum(axis=0, dtype=np.int64) for k, s in trace.spikes.items()}
    summary: dict[str, Any] = {
        "target": bundle.spec.name, "steps": bundle.steps, "samples": len(bundle.vectors["x"]),
        "predictions": trace.predictions()[-1].tolist() if trace.steps else [],
        "spikes": {k: int(c.sum()) for k, c in counts.items()},
    }
    if not check:
        return 0, summary
    mism = compare(bundle.vectors, trace.readout, counts)
    summary["mismatches"] = mism
    return (1 if mism else 0), summary


def run_bundle(folder: Path, *, hardware: bool = False, check: bool = False) -> tuple[int, dict[str, Any]]:
    """Verify (:func:`open_bundle`), then rebuild and run the bundle on Lava; (status, summary).

    Status 0 = ran (and, with ``check``, matched the test vectors exactly); 1 = mismatch;
    2 = the bundle is damaged, holds unlisted files or does not fit together (nothing was run).
    """
    try:
        bundle = open_bundle(Path(folder))
    except (ManifestError, BundleError, IRError) as exc:
        return 2, {"error": "bundle damaged", "problems": [str(exc)]}
    return replay(bundle, hardware=hardware, check=check)
