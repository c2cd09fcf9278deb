"""Artifact manifests: what produced a folder and a SHA-256 of every file in it."""
from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from neurodeploy import __version__
from neurodeploy.atomic import write_json

MANIFEST_FILE = "manifest.json"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions(names: tuple[str, ...] = ("numpy", "torch", "brevitas", "lava-nc")) -> dict[str, str]:
    """Installed versions of the packages that shape an artifact (absent ones omitted)."""
    out = {"neurodeploy": __version__, "python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_manifest(folder: Path, kind: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Hash every file under ``folder`` (except the manifest) and write ``manifest.json``."""
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): file_sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST_FILE and "__pycache__" not in p.parts
    }
    doc = {"kind": kind, "versions": package_versions(), "files": files, **(extra or {})}
    write_json(folder / MANIFEST_FILE, doc)
    return doc


def check_manifest(folder: Path) -> list[str]:
    """Problems found comparing ``folder`` to its manifest ([] = every hash matches)."""
    folder = Path(folder)
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return [f"{path}: missing"]
    doc = json.loads(path.read_text())
    problems = []
    for rel, digest in doc.get("files", {}).items():
        p = folder / rel
        if not p.is_file():
            problems.append(f"{p}: listed in the manifest but missing")
        elif file_sha256(p) != digest:
            problems.append(f"{p}: content differs from the manifest's sha256")
    return problems
