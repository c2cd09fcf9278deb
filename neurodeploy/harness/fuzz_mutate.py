"""Mutations of artifact folders for the loader fuzzer (:mod:`neurodeploy.harness.fuzz`).

Every mutator takes the folder (a private copy) and a seeded ``random.Random`` and returns a
short description.  Two families:

* *raw* mutations damage bytes or files without fixing any hash (byte flips, truncation,
  deletion, garbage, zip-member tricks, extra files): a loader must refuse them, or load an
  artifact that is semantically unchanged;
* *re-signed* mutations edit a JSON document and recompute its hashes (``resign``), as a forger
  could: they reach the parsers behind the hashes, which must refuse cleanly or produce an
  artifact that the downstream checks handle without crashing.
"""
from __future__ import annotations

import io
import json
import os
import random
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Mutator = Callable[[Path, random.Random], str]


def _deep(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


EVIL_VALUES: tuple[Any, ...] = (
    10 ** 30, -10 ** 30, 2 ** 63, 2 ** 64 - 1, -1, 0, 7, 1.5, float("nan"), float("inf"), "x", "",
    "int99999", "uint0", [], [1, 2, 3], [[1]], [10 ** 20, 1], {}, {"array": "nope"}, None, True,
    _deep(300), "A" * 20_000, ["a", "a"], -0.0,
)


def files_of(folder: Path) -> list[Path]:
    """Regular files under ``folder``, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def flip_bytes(folder: Path, rng: random.Random) -> str:
    path = rng.choice(files_of(folder))
    data = bytearray(path.read_bytes())
    if not data:
        return f"flip {path.name} (empty)"
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    return f"flip {path.name}"


def truncate(folder: Path, rng: random.Random) -> str:
    path = rng.choice(files_of(folder))
    size = path.stat().st_size
    keep = rng.randrange(size) if size else 0
    path.write_bytes(path.read_bytes()[:keep])
    return f"truncate {path.name} to {keep}"


def delete(folder: Path, rng: random.Random) -> str:
    path = rng.choice(files_of(folder))
    path.unlink()
    return f"delete {path.name}"


def append_garbage(folder: Path, rng: random.Random) -> str:
    path = rng.choice(files_of(folder))
    with open(path, "ab") as fh:
        fh.write(rng.randbytes(rng.randint(1, 64)))
    return f"append to {path.name}"


def _npz_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _write_members(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(a: np.ndarray) -> bytes:
    """Raw ``.npy`` bytes of ``a``.  Writing with ``allow_pickle=True`` lets the fuzzer plant object
    (pickled) members on purpose; the loaders under test read with ``allow_pickle=False`` and must
    refuse them — nothing here ever loads a pickle."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


def _pick_npz(folder: Path, rng: random.Random) -> Path:
    found = sorted(folder.glob("*.npz"))
    return rng.choice(found)


def npz_tamper(folder: Path, rng: random.Random) -> str:
    """Change one element of one member (no hash updated)."""
    path = _pick_npz(folder, rng)
    members = _npz_members(path)
    name = rng.choice(sorted(members))
    a = np.load(io.BytesIO(members[name]), allow_pickle=False).copy()
    if a.size:
        a.flat[rng.randrange(a.size)] += rng.choice((1, -1, 1 << 40))
    members[name] = _npy(a)
    _write_members(path, members)
    return f"tamper {path.name}:{name}"


def npz_special(folder: Path, rng: random.Random) -> str:
    """Extra, pickled, float, lying-header, huge-claim, encrypted-flag or bomb member."""
    path = _pick_npz(folder, rng)
    members = _npz_members(path)
    how = rng.choice(("extra", "pickle", "float", "header_lie", "bomb", "claim", "encrypted", "dupe"))
    if how == "extra":
        members["extra.npy"] = _npy(np.arange(3))
    elif how == "pickle":
        members[rng.choice(sorted(members))] = _npy(np.array([{"a": 1}], dtype=object))
    elif how == "float":
        name = rng.choice(sorted(members))
        members[name] = _npy(np.load(io.BytesIO(members[name])).astype(np.float64) + 0.5)
    elif how == "header_lie":
        name = rng.choice(sorted(members))
        count = rng.choice((10 ** 12, 2 ** 40, 10 ** 9))
        header = f"{{'descr': '<i8', 'fortran_order': False, 'shape': ({count},), }}"
        raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + header.encode().ljust(117) + b"\n"
        members[name] = raw + b"\0" * 64
    elif how == "bomb":
        members["bomb.npy"] = _npy(np.zeros(rng.choice((1 << 20, 1 << 22)), np.int64))
    elif how in ("claim", "encrypted"):
        _write_members(path, members)
        _patch_central_directory(path, how)
        return f"{how} {path.name}"
    else:
        _write_members(path, members)
        with zipfile.ZipFile(path, "a") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            zf.writestr(min(members), _npy(np.arange(2)))   # duplicate name: which one wins?
        return f"dupe {path.name}"
    _write_members(path, members)
    return f"{how} {path.name}"


def _patch_central_directory(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    if at < 0:
        return
    if how == "claim":                                  # uncompressed size field
        data[at + 24:at + 28] = struct.pack("<I", 0xFFFFFFF0)
    else:                                               # general purpose flag: encrypted
        data[at + 8] |= 1
    path.write_bytes(bytes(data))


def add_unlisted(folder: Path, rng: random.Random) -> str:
    """Drop a file, folder, link or FIFO the manifest does not list."""
    how = rng.choice(("json.py", "pycache", "package", "hidden", "emptydir", "symlink", "fifo", "nested"))
    if how == "json.py":
        (folder / "json.py").write_text("raise SystemExit('imported from the bundle')\n")
    elif how == "pycache":
        (folder / "__pycache__").mkdir(exist_ok=True)
        (folder / "__pycache__" / "deploy.cpython-311.pyc").write_bytes(b"\0" * 16)
    elif how == "package":
        (folder / "neurodeploy").mkdir(exist_ok=True)
        (folder / "neurodeploy" / "__init__.py").write_text("raise SystemExit('shadowed')\n")
    elif how == "hidden":
        (folder / ".env").write_text("X=1\n")
    elif how == "emptydir":
        (folder / "extra").mkdir(exist_ok=True)
    elif how == "symlink":
        os.symlink(folder / "graph.json", folder / "link.json")
    elif how == "fifo":
        os.mkfifo(folder / "pipe")
    else:
        (folder / "sub").mkdir(exist_ok=True)
        (folder / "sub" / "x.txt").write_text("x")
    return f"unlisted {how}"


def replace_with_link(folder: Path, rng: random.Random) -> str:
    """Replace a file by a symlink (to another file of the folder, or to /dev/null)."""
    files = files_of(folder)
    path = rng.choice(files)
    target = rng.choice([*(p for p in files if p != path), Path(os.devnull)])
    path.unlink()
    os.symlink(target, path)
    return f"link {path.name} -> {target.name}"


RAW_MUTATORS: tuple[Mutator, ...] = (flip_bytes, flip_bytes, truncate, delete, append_garbage, npz_tamper,
                                     npz_special, npz_special, replace_with_link)
BUNDLE_RAW_MUTATORS: tuple[Mutator, ...] = (*RAW_MUTATORS, add_unlisted, add_unlisted)


def evil(rng: random.Random) -> Any:
    """A value of a random wrong type or magnitude."""
    return rng.choice(EVIL_VALUES)


def edit_json(doc: Any, rng: random.Random) -> str:
    """Edit a random place of a JSON document in place: set, remove, add, or retype a value."""
    path: list[Any] = []
    node = doc
    while isinstance(node, (dict, list)) and node and rng.random() < 0.75:
        key = rng.choice(sorted(node)) if isinstance(node, dict) else rng.randrange(len(node))
        if not isinstance(node[key], (dict, list)) or not node[key]:
            break
        path.append(key)
        node = node[key]
    if isinstance(node, dict):
        key = rng.choice(sorted(node)) if node else "new"
        how = rng.choice(("set", "set", "remove", "add"))
        if how == "remove" and node:
            del node[key]
        elif how == "add":
            node[f"extra_{rng.randrange(100)}"] = evil(rng)
        else:
            node[key] = evil(rng)
        return f"{how} {'/'.join(map(str, [*path, key]))}"
    if isinstance(node, list) and node:
        i = rng.randrange(len(node))
        how = rng.choice(("set", "remove", "dup"))
        if how == "remove":
            del node[i]
        elif how == "dup":
            node.insert(i, node[i])
        else:
            node[i] = evil(rng)
        return f"{how} {'/'.join(map(str, [*path, i]))}"
    return "no-op"


def read_doc(path: Path) -> Any:
    return json.loads(path.read_text())


def write_doc(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=1))
