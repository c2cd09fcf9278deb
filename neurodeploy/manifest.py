"""Artifact manifests: what produced a folder and a SHA-256 of every file in it.

``manifest.json`` holds ``kind``, ``versions``, ``files`` (relative POSIX path -> SHA-256 of the
bytes), any extra fields of the writer, and ``manifest_sha256``: the SHA-256 of the canonical
JSON of everything else, so an edited manifest field is refused like an edited file.

Two ways to check a folder against its manifest:

* :func:`verify_listed` (graph folders, via ``load_graph``): every listed file exists, is a
  regular file and has its hash; other files in the folder (e.g. ``verify/`` evidence) are
  ignored.
* :func:`verify_exact` (bundles): the same, and additionally nothing else may be there: an
  unlisted file, folder (``__pycache__`` included) or link is refused, and the manifest must
  carry its own hash.

These hashes catch edits and corruption, not forgery: whoever can write the folder can rehash
it.  Every refusal is a :class:`ManifestError` whose one-line message names the file.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
from importlib import metadata
from pathlib import Path
from typing import Any

from neurodeploy import __version__
from neurodeploy.atomic import write_json

MANIFEST_FILE = "manifest.json"
HASH_FIELD = "manifest_sha256"
MAX_MANIFEST_BYTES = 4 << 20
MAX_LISTED_FILES = 10_000
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ManifestError(ValueError):
    """A folder disagrees with its manifest (one line naming the file)."""


def file_sha256(path: Path) -> str:
    """SHA-256 of the bytes of ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_digest(doc: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``doc`` without its own ``manifest_sha256``."""
    body = {k: v for k, v in doc.items() if k != HASH_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


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
    doc.pop(HASH_FIELD, None)                     # a re-signed manifest gets a fresh hash
    doc[HASH_FIELD] = manifest_digest(doc)
    write_json(folder / MANIFEST_FILE, doc)
    return doc


def _safe_relpath(rel: Any) -> bool:
    """A listed name must be a plain relative POSIX path inside the folder."""
    if not isinstance(rel, str) or not rel or len(rel) > 1024 or "\\" in rel or "\x00" in rel:
        return False
    parts = rel.split("/")
    return not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts) \
        and parts[-1] != MANIFEST_FILE


def read_manifest(folder: Path, *, require_hash: bool = False) -> dict[str, Any]:
    """Parse ``folder/manifest.json`` and check its shape and own hash (when present, or always
    with ``require_hash``); :class:`ManifestError` naming the file otherwise."""
    path = Path(folder) / MANIFEST_FILE
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing") from None
    if not stat.S_ISREG(st.st_mode):
        raise ManifestError(f"{path}: not a regular file")
    if st.st_size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise ManifestError(f"{path}: JSON nested too deeply") from None
    except ValueError as exc:                     # JSONDecodeError, or an int of too many digits
        raise ManifestError(f"{path}: not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: expected a JSON object at the top level")
    files = doc.get("files")
    if not isinstance(files, dict) or len(files) > MAX_LISTED_FILES:
        raise ManifestError(f"{path}: 'files' must be an object of at most {MAX_LISTED_FILES} entries")
    for rel, digest in files.items():
        if not _safe_relpath(rel):
            raise ManifestError(f"{path}: files: {rel!r} is not a relative path inside the folder")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ManifestError(f"{path}: files: {rel!r} has no SHA-256 (64 lowercase hex digits)")
    if HASH_FIELD in doc or require_hash:
        try:
            ok = doc.get(HASH_FIELD) == manifest_digest(doc)
        except (ValueError, RecursionError):      # NaN/Infinity, or nested too deeply to re-encode
            ok = False
        if not ok:
            raise ManifestError(f"{path}: {HASH_FIELD} missing or does not match the manifest "
                                "(a field was edited, or the file is damaged)")
    return doc


def verify_listed(folder: Path, doc: dict[str, Any]) -> None:
    """Every file listed in ``doc`` (a :func:`read_manifest` result) exists in ``folder`` as a
    regular file (not a link) with its SHA-256."""
    folder = Path(folder)
    for rel, digest in sorted(doc["files"].items()):
        p = folder / rel
        try:
            st = os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            raise ManifestError(f"{p}: listed in {MANIFEST_FILE} but missing") from None
        if not stat.S_ISREG(st.st_mode):
            raise ManifestError(f"{p}: listed in {MANIFEST_FILE} but not a regular file")
        if file_sha256(p) != digest:
            raise ManifestError(f"{p}: content differs from its SHA-256 in {MANIFEST_FILE} "
                                "(edited or damaged)")


def unlisted_entries(folder: Path, listed: set[str]) -> list[str]:
    """Paths under ``folder`` (relative, POSIX) that are neither ``manifest.json``, a listed
    regular file, nor a folder on the way to one; links always count as unlisted."""
    needed_dirs = {"/".join(rel.split("/")[:i]) for rel in listed for i in range(1, rel.count("/") + 1)}
    out: list[str] = []
    stack = [(Path(folder), "")]
    while stack:
        here, prefix = stack.pop()
        with os.scandir(here) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_symlink():
                out.append(rel)
            elif entry.is_dir(follow_symlinks=False):
                if rel in needed_dirs:
                    stack.append((Path(entry.path), rel + "/"))
                else:
                    out.append(rel + "/")
            elif not (rel in listed and entry.is_file(follow_symlinks=False)) and rel != MANIFEST_FILE:
                out.append(rel)
    return sorted(out)


def verify_exact(folder: Path) -> dict[str, Any]:
    """Strict check of a bundle before anything in it is used: the manifest carries its own hash,
    nothing unlisted is present (no extra file, folder, ``__pycache__`` or link) and every listed
    file has its hash.  Returns the manifest."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink() and not folder.resolve().is_dir():
        raise ManifestError(f"{folder}: not a folder")
    doc = read_manifest(folder, require_hash=True)
    extra = unlisted_entries(folder, set(doc["files"]))
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise ManifestError(f"{folder / extra[0]}: not listed in {MANIFEST_FILE}; "
                            f"refusing the folder{more}")
    verify_listed(folder, doc)
    return doc


def check_manifest(folder: Path) -> list[str]:
    """Problems found comparing ``folder`` to its manifest, strictly (:func:`verify_exact`);
    [] = the manifest is intact, lists exactly the files present and every hash matches."""
    try:
        verify_exact(Path(folder))
    except ManifestError as exc:
        return [str(exc)]
    return []
