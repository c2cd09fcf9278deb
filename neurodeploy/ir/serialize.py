"""Graph artifacts: ``graph.json`` (structure, types, hashes) + ``arrays.npz`` (integers).

Never pickled: arrays load with ``np.load(..., allow_pickle=False)``; every array's SHA-256
is stored in the JSON and checked on load, so a tampered or swapped array is refused.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy import __version__
from neurodeploy.atomic import atomic_dir, write_bytes, write_json
from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import FORMAT_VERSION, Graph, Schedule
from neurodeploy.ir.nodes import ARRAY_FIELDS, NODE_TYPES, Node

GRAPH_FILE = "graph.json"
ARRAYS_FILE = "arrays.npz"


def array_digest(a: np.ndarray) -> str:
    """SHA-256 over dtype, shape and bytes of ``a`` (as little-endian int64)."""
    b = np.ascontiguousarray(a, dtype="<i8")
    h = hashlib.sha256(f"{b.dtype.str}{b.shape}".encode())
    h.update(b.tobytes())
    return h.hexdigest()


def _node_to_json(node: Node) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    kind = type(node).__name__
    arrays: dict[str, np.ndarray] = {}
    entry: dict[str, Any] = {"type": kind}
    array_names = ARRAY_FIELDS.get(type(node), ())
    for f in fields(node):
        value = getattr(node, f.name)
        if f.name in array_names:
            key = f"{node.name}/{f.name}"
            arrays[key] = value
            entry[f.name] = {"array": key, "sha256": array_digest(value), "shape": list(value.shape)}
        elif isinstance(value, IntT):
            entry[f.name] = value.describe()
        elif isinstance(value, tuple):
            entry[f.name] = list(value)
        else:
            entry[f.name] = value
    return entry, arrays


def graph_to_json(graph: Graph) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON document and the arrays of ``graph``."""
    nodes, arrays = [], {}
    for n in graph.nodes:
        entry, arr = _node_to_json(n)
        nodes.append(entry)
        arrays.update(arr)
    doc = {
        "format_version": graph.format_version,
        "producer": f"neurodeploy {__version__}",
        "schedule": {"kind": graph.schedule.kind, "tau": graph.schedule.tau,
                     "window": graph.schedule.window},
        "meta": dict(graph.meta),
        "nodes": nodes,
    }
    return doc, arrays


def save_graph(graph: Graph, folder: Path) -> Path:
    """Write ``graph`` to ``folder`` (created or replaced atomically)."""
    doc, arrays = graph_to_json(graph)
    with atomic_dir(Path(folder)) as tmp:
        write_graph_files(doc, arrays, tmp)
    return Path(folder)


def write_graph_files(doc: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
    """Write graph.json + arrays.npz into an existing folder (used inside larger bundles)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v, dtype=np.int64) for k, v in arrays.items()})
    write_bytes(folder / ARRAYS_FILE, buf.getvalue())
    write_json(folder / GRAPH_FILE, doc)


def _check_version(version: Any, where: Path) -> None:
    major = str(version).split(".")[0]
    if major != FORMAT_VERSION.split(".")[0]:
        raise IRError(f"{where}: unsupported format_version {version!r} "
                      f"(this neurodeploy reads {FORMAT_VERSION.split('.')[0]}.x)")


def load_graph(folder: Path) -> Graph:
    """Load a graph folder; refuses pickles, unknown versions and tampered arrays."""
    folder = Path(folder)
    gpath, apath = folder / GRAPH_FILE, folder / ARRAYS_FILE
    for p in (gpath, apath):
        if not p.is_file():
            raise IRError(f"{p}: missing (not a neurodeploy graph folder?)")
    try:
        doc = json.loads(gpath.read_text())
    except json.JSONDecodeError as exc:
        raise IRError(f"{gpath}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    _check_version(doc.get("format_version"), gpath)
    try:
        with np.load(apath, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise IRError(f"{apath}: refused ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, OSError
        raise IRError(f"{apath}: unreadable ({type(exc).__name__}: {exc})") from None
    nodes = [_node_from_json(entry, arrays, gpath) for entry in doc.get("nodes", [])]
    sched = doc.get("schedule", {})
    return Graph(nodes=tuple(nodes), schedule=Schedule(**sched), meta=dict(doc.get("meta", {})),
                 format_version=str(doc["format_version"]))


def _node_from_json(entry: dict[str, Any], arrays: dict[str, np.ndarray], where: Path) -> Node:
    kind = entry.get("type")
    if kind not in NODE_TYPES:
        raise IRError(f"{where}: unknown node type {kind!r}")
    cls = NODE_TYPES[kind]
    kwargs: dict[str, Any] = {}
    name = entry.get("name", "?")
    for f in fields(cls):
        if f.name not in entry:
            continue
        value = entry[f.name]
        if f.name in ARRAY_FIELDS.get(cls, ()):
            key = value["array"]
            if key not in arrays:
                raise IRError(f"{where}: node {name}.{f.name}: array {key!r} missing from arrays.npz")
            a = arrays[key]
            if a.dtype.kind not in "iu":
                raise IRError(f"{where}: node {name}.{f.name}: array has dtype {a.dtype}, expected int")
            if array_digest(a) != value["sha256"]:
                raise IRError(f"{where}: node {name}.{f.name}: array content does not match its "
                              "sha256 in graph.json (tampered or mixed-up artifact)")
            value = a
        elif f.name.endswith("_t"):
            value = IntT.parse(value)
        elif f.name in ("shape",):
            value = tuple(value)
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise IRError(f"{where}: node {name}: {exc}") from None
