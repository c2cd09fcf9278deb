"""Atomic artifact writing: nothing is ever left half-written, nothing foreign is ever deleted.

Files are written to a temporary sibling and moved into place with ``os.replace``; folders
are assembled in a temporary sibling folder (``.NAME.tmp-*``) and swapped in as a whole:

1. the previous artifact (if any) is renamed into ``.NAME.old-*/previous``;
2. the new folder is renamed to ``NAME``;
3. ``.NAME.old-*`` is removed.

Killed between 1 and 2, ``NAME`` is absent and the previous artifact survives in
``.NAME.old-*/previous``: the next write to ``NAME`` (or :func:`recover`) moves it back first.
Stale ``.NAME.tmp-*`` folders of killed runs are removed by the next write to ``NAME``.

``atomic_dir`` only replaces what the toolchain made: an existing *file*, or a non-empty
folder that is not a neurodeploy artifact (:func:`artifact_kind`), is refused with one line.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ARTIFACT_MARKERS: dict[str, tuple[str, ...]] = {       # kind -> files that identify it
    "graph": ("graph.json", "arrays.npz"),
    "checkpoint": ("config.json", "model.pt"),
    "evidence": ("report.json",),
}


class OutputRefused(ValueError):
    """An output path would replace something the toolchain did not create."""


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def artifact_kind(folder: Path) -> str | None:
    """``manifest.json``'s kind, else the kind whose marker files are all present, else None."""
    manifest = folder / "manifest.json"
    if manifest.is_file():
        with contextlib.suppress(OSError, ValueError):
            kind = json.loads(manifest.read_text()).get("kind")
            if isinstance(kind, str):
                return kind
    for kind, files in ARTIFACT_MARKERS.items():
        if all((folder / f).is_file() for f in files):
            return kind
    return None


def recover(path: Path) -> None:
    """Finish an interrupted swap: restore ``.NAME.old-*/previous`` when ``NAME`` is absent,
    and remove this path's stale temporaries."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        return
    for old in sorted(parent.glob(f".{path.name}.old-*")):
        previous = old / "previous"
        if previous.exists() and not path.exists():
            os.replace(previous, path)
        shutil.rmtree(old, ignore_errors=True)
    for tmp in parent.glob(f".{path.name}.tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


def check_output(path: Path, inputs: tuple[Path, ...] = (), kind: str | None = None) -> None:
    """Refuse an output that is a file, a non-empty folder that is not an artifact (of ``kind``,
    when given), or a path equal to, inside or above an input."""
    path = Path(path).resolve()
    for inp in inputs:
        src = Path(inp).resolve()
        if path == src or path in src.parents or src in path.parents:
            raise OutputRefused(f"{path}: the output would overwrite, contain or sit inside the input {src}")
    if path.is_file() or path.is_symlink():
        raise OutputRefused(f"{path}: exists and is not a folder; choose another output path")
    if path.is_dir() and any(path.iterdir()):
        found = artifact_kind(path)
        if found is None or (kind is not None and found != kind):
            what = "a neurodeploy artifact" if kind is None else f"a previous {kind} artifact"
            raise OutputRefused(f"{path}: exists, is not empty and is not {what}"
                                f"{f' (it holds a {found} artifact)' if found else ''}; "
                                "choose another output path (nothing was written)")


@contextlib.contextmanager
def atomic_dir(path: Path, inputs: tuple[Path, ...] = (), kind: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``path`` as a whole.

    Refused before anything is written when ``path`` is foreign or overlaps ``inputs``
    (:func:`check_output`).  On any exception the temporary folder is removed and ``path`` is
    left untouched."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise OutputRefused(f"{path}: name a new folder, not {path.name or '/'!r}")
    recover(path)
    check_output(path, inputs, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        os.replace(path, old / "previous")
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
