"""Graph artifacts: ``graph.json`` (structure, types, hashes) + ``arrays.npz`` (integers).

Never pickled: arrays load with ``np.load(..., allow_pickle=False)``.  Every array's SHA-256
is stored in the JSON, and ``content_sha256`` covers the canonical JSON of everything else
(every scalar field, the schedule, the metadata), so editing any field or array is refused
on load.  Nodes are (de)serialized from their dataclass fields: a new node type needs no
code here.

Format 2 (DAG) is written.  Format 1 folders (chains, one ``source`` per population, scalar
stride/padding/kernel) are migrated on read: ``source`` becomes ``sources: [source]`` for
populations and the readout; scalar geometry becomes per-axis pairs.  Their content hash is
absent (format 1 never had one), so the loader checks the per-array hashes only and says so
in ``Graph.meta["migrated_from"]``.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy import __version__
from neurodeploy.atomic import atomic_dir, write_bytes, write_json
from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import FORMAT_VERSION, Graph
from neurodeploy.ir.nodes import NODE_TYPES, Node
from neurodeploy.ir.schedule import Schedule
from neurodeploy.manifest import MANIFEST_FILE, ManifestError, read_manifest, verify_listed

GRAPH_FILE = "graph.json"
ARRAYS_FILE = "arrays.npz"
MAX_GRAPH_JSON_BYTES = 64 << 20
MAX_ARRAY_BYTES = 1 << 31          # uncompressed size of one npz member
MAX_TOTAL_ARRAY_BYTES = 1 << 33    # uncompressed size of all members together
MAX_NODES = 100_000
HASH_FIELD = "content_sha256"


def array_digest(a: np.ndarray) -> str:
    """SHA-256 over dtype, shape and bytes of ``a`` (as little-endian int64)."""
    b = np.ascontiguousarray(a, dtype="<i8")
    h = hashlib.sha256(f"{b.dtype.str}{b.shape}".encode())
    h.update(b.tobytes())
    return h.hexdigest()


def content_digest(doc: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``doc`` without its own hash field."""
    body = {k: v for k, v in doc.items() if k != HASH_FIELD}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _node_to_json(node: Node) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    entry: dict[str, Any] = {"type": type(node).__name__}
    for f in fields(node):
        value = getattr(node, f.name)
        if f.name in node.array_fields:
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
    """The JSON document (with its content hash) and the arrays of ``graph``."""
    nodes, arrays = [], {}
    for n in graph.nodes:
        entry, arr = _node_to_json(n)
        nodes.append(entry)
        arrays.update(arr)
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "producer": f"neurodeploy {__version__}",
        "schedule": {"kind": graph.schedule.kind, "tau": graph.schedule.tau,
                     "window": graph.schedule.window},
        "meta": {k: v for k, v in graph.meta.items() if k != "migrated_from"},
        "nodes": nodes,
    }
    doc[HASH_FIELD] = content_digest(doc)
    return doc, arrays


def save_graph(graph: Graph, folder: Path) -> Path:
    """Write ``graph`` to ``folder`` (created or replaced atomically)."""
    doc, arrays = graph_to_json(graph)
    with atomic_dir(Path(folder), kind="graph") as tmp:
        write_graph_files(doc, arrays, tmp)
    return Path(folder)


def write_graph_files(doc: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
    """Write graph.json + arrays.npz into an existing folder (used inside larger bundles)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v, dtype=np.int64) for k, v in arrays.items()})
    write_bytes(folder / ARRAYS_FILE, buf.getvalue())
    write_json(folder / GRAPH_FILE, doc)


def _major(version: Any) -> str:
    return str(version).split(".")[0]


def read_graph_doc(path: Path) -> dict[str, Any]:
    """Parse and integrity-check ``graph.json`` (size, JSON, version, content hash)."""
    if not path.is_file():
        raise IRError(f"{path}: missing (not a neurodeploy graph folder?)")
    if path.stat().st_size > MAX_GRAPH_JSON_BYTES:
        raise IRError(f"{path}: larger than {MAX_GRAPH_JSON_BYTES} bytes")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise IRError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise IRError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise IRError(f"{path}: JSON nested too deeply") from None
    except ValueError as exc:                      # an integer literal of too many digits
        raise IRError(f"{path}: not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise IRError(f"{path}: expected a JSON object at the top level")
    major = _major(doc.get("format_version"))
    if major == "1":
        if HASH_FIELD in doc or any(isinstance(n, dict) and "sources" in n for n in doc.get("nodes") or []):
            raise IRError(f"{path}: a format-2 document relabelled as format 1 (refused: it would skip "
                          f"the {HASH_FIELD} check)")
        return _migrate_v1(doc)
    if major != _major(FORMAT_VERSION):
        raise IRError(f"{path}: unsupported format_version {doc.get('format_version')!r} "
                      f"(this neurodeploy reads 1.x, migrated on read, and {_major(FORMAT_VERSION)}.x)")
    try:
        intact = doc.get(HASH_FIELD) == content_digest(doc)
    except RecursionError:                         # parsed, but too deep to re-encode
        intact = False
    if not intact:
        raise IRError(f"{path}: {HASH_FIELD} does not match the document (a field was edited "
                      "after conversion, or the file is damaged)")
    return doc


def _migrate_v1(doc: dict[str, Any]) -> dict[str, Any]:
    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        raise IRError("graph.json: 'nodes' must be a list")
    out = []
    for entry in nodes:
        if not isinstance(entry, dict):
            raise IRError("graph.json: every node must be a JSON object")
        e = dict(entry)
        if e.get("type") in ("IFPopulation", "Readout") and "source" in e:
            e["sources"] = [e.pop("source")]
        out.append(e)
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    return {**doc, "nodes": out, "meta": {**meta, "migrated_from": str(doc.get("format_version"))}}


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Integer arrays of ``arrays.npz``; refuses pickles, oversize and non-integer members."""
    if not path.is_file():
        raise IRError(f"{path}: missing (not a neurodeploy graph folder?)")
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                if info.file_size > MAX_ARRAY_BYTES or total > MAX_TOTAL_ARRAY_BYTES:
                    raise IRError(f"{path}: member {info.filename!r} would decompress beyond the size limits "
                                  f"({MAX_ARRAY_BYTES} bytes per member, {MAX_TOTAL_ARRAY_BYTES} in all)")
                _check_npy_header(zf, info, path)
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as exc:  # zlib: corrupt stream; NotImplemented: unknown method; Runtime: encrypted
        raise IRError(f"{path}: refused, unreadable or not plain integer arrays ({type(exc).__name__}: {exc})") from None


def _check_npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
    """Refuse a member whose ``.npy`` header announces more data than the member holds (numpy
    would allocate the announced array before reading it)."""
    if not info.filename.endswith(".npy"):
        return
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    count = 1
    for dim in shape:
        count *= int(dim)
    if count * dtype.itemsize > info.file_size:
        raise IRError(f"{path}: member {info.filename!r} announces shape {shape} of {dtype}, "
                      f"more than its {info.file_size} bytes")


def _check_manifest(folder: Path) -> None:
    """When ``manifest.json`` is present, every file it lists must have its hash."""
    if not (folder / MANIFEST_FILE).exists() and not (folder / MANIFEST_FILE).is_symlink():
        return
    try:
        verify_listed(folder, read_manifest(folder))
    except ManifestError as exc:
        raise IRError(str(exc)) from None


def load_graph(folder: Path) -> Graph:
    """Load a graph folder; refuses pickles, unknown versions, tampered fields or arrays and,
    when the folder has a ``manifest.json``, any listed file whose hash differs."""
    folder = Path(folder)
    gpath = folder / GRAPH_FILE
    _check_manifest(folder)
    doc = read_graph_doc(gpath)
    arrays = read_arrays(folder / ARRAYS_FILE)
    nodes_doc = doc.get("nodes")
    if not isinstance(nodes_doc, list) or not 0 < len(nodes_doc) <= MAX_NODES:
        raise IRError(f"{gpath}: 'nodes' must be a non-empty list of at most {MAX_NODES} nodes")
    referenced = set()
    nodes = []
    for entry in nodes_doc:
        node, keys = _node_from_json(entry, arrays, gpath)
        nodes.append(node)
        referenced |= keys
    extra = sorted(set(arrays) - referenced)
    if extra:
        raise IRError(f"{folder / ARRAYS_FILE}: member {extra[0]!r} is not referenced by graph.json")
    sched = doc.get("schedule", {})
    meta = doc.get("meta", {})
    if not isinstance(sched, dict) or not isinstance(meta, dict):
        raise IRError(f"{gpath}: 'schedule' and 'meta' must be JSON objects")
    if not all(isinstance(v, str) for v in meta.values()):
        raise IRError(f"{gpath}: meta values must be strings")
    try:
        schedule = Schedule(**sched)
        graph = Graph(nodes=tuple(nodes), schedule=schedule, meta=dict(meta), format_version=FORMAT_VERSION)
        graph.check_dataflow()                       # a saved graph is complete: no dangling or mis-fed node
        return graph
    except TypeError as exc:
        raise IRError(f"{gpath}: schedule: {exc}") from None
    except IRError as exc:                         # structure rules: name the file too
        raise IRError(f"{gpath}: {exc}") from None


def _field_value(cls: type, fname: str, value: Any, arrays: dict[str, np.ndarray], where: str
                 ) -> tuple[Any, str | None]:
    if fname in cls.array_fields:                          # type: ignore[attr-defined]
        if not isinstance(value, dict) or not isinstance(value.get("array"), str):
            raise IRError(f"{where}: expected an array reference {{'array': ..., 'sha256': ...}}")
        key = value["array"]
        if key not in arrays:
            raise IRError(f"{where}: array {key!r} missing from arrays.npz")
        a = arrays[key]
        if a.dtype.kind not in "iu":
            raise IRError(f"{where}: array has dtype {a.dtype}, expected int")
        if array_digest(a) != value.get("sha256"):
            raise IRError(f"{where}: array content does not match its sha256 in graph.json "
                          "(tampered or mixed-up artifact)")
        return a, key
    if fname.endswith("_t"):
        if not isinstance(value, str):
            raise IRError(f"{where}: expected an integer type name like 'int24'")
        try:
            return IntT.parse(value), None
        except ValueError as exc:
            raise IRError(f"{where}: {exc}") from None
    if fname == "meta":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise IRError(f"{where}: expected an object of strings")
        return dict(value), None
    if isinstance(value, list):
        if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in value):
            raise IRError(f"{where}: expected a list of ints or names")
        return tuple(value), None
    if isinstance(value, (dict, bool)) or value is None:
        raise IRError(f"{where}: unexpected value {value!r}")
    return value, None


def _node_from_json(entry: Any, arrays: dict[str, np.ndarray], where: Path) -> tuple[Node, set[str]]:
    if not isinstance(entry, dict):
        raise IRError(f"{where}: every node must be a JSON object")
    kind, name = entry.get("type"), entry.get("name")
    if not isinstance(kind, str) or kind not in NODE_TYPES:
        raise IRError(f"{where}: unknown node type {kind!r}")
    if not isinstance(name, str) or not name:
        raise IRError(f"{where}: a {kind} node has no name")
    cls = NODE_TYPES[kind]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(entry) - known - {"type"})
    if unknown:
        raise IRError(f"{where}: node {name}: unknown field {unknown[0]!r}")
    kwargs: dict[str, Any] = {}
    keys: set[str] = set()
    for fname in known & set(entry):
        value, key = _field_value(cls, fname, entry[fname], arrays, f"{where}: node {name}.{fname}")
        kwargs[fname] = value
        if key:
            keys.add(key)
    try:
        return cls(**kwargs), keys
    except (TypeError, IRError) as exc:            # IRError: the node's own checks name the field
        raise IRError(f"{where}: node {name}: {exc}") from None
    except (OverflowError, MemoryError) as exc:
        raise IRError(f"{where}: node {name}: value out of range ({type(exc).__name__})") from None
