"""Any MNIST-format dataset: a folder with the four IDX files (gzipped or not).

File names follow MNIST: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
and ``t10k-labels-idx1-ubyte`` (``test-`` may replace ``t10k-``; ``idx4`` for colour images; each with or without
``.gz``).  Image files may hold any IDX element type (ubyte images keep the 8-bit encoding, others are
quantised, see :mod:`neurodeploy.data.encoding`); label files must be 1-D ubyte.  With ``checksums`` (file name
-> MD5) every file read, compressed or not, must be listed and match.
"""
from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from neurodeploy.data.encoding import build_split
from neurodeploy.data.split import DatasetSplit

__all__ = ["IdxError", "parse_idx", "find_idx_files", "read_idx_file", "load_idx_folder", "LABEL_MAGIC"]

LABEL_MAGIC = 0x0801
_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


class IdxError(ValueError):
    """A missing, corrupted or malformed IDX file (the message names the file)."""


def md5_of(path: Path) -> str:
    """MD5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_idx(data: bytes, name: str, *, labels: bool) -> np.ndarray:
    """Decode one IDX file: label files must be 1-D ubyte (magic 2049), image files at least 2-D."""
    if len(data) < 4:
        raise IdxError(f"{name}: truncated header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise IdxError(f"{name}: not an IDX file (bad magic number {int.from_bytes(data[:4], 'big')})")
    magic, ndim = int.from_bytes(data[:4], "big"), data[3]
    if labels and magic != LABEL_MAGIC:
        raise IdxError(f"{name}: bad magic number {magic} (expected {LABEL_MAGIC}: 1-D ubyte labels)")
    if not labels and ndim < 2:
        raise IdxError(f"{name}: bad magic number {magic} (images need at least 2 dimensions)")
    header_len = 4 * (1 + ndim)
    if len(data) < header_len:
        raise IdxError(f"{name}: truncated header ({len(data)} bytes)")
    shape = tuple(int(v) for v in np.frombuffer(data[4:header_len], dtype=">u4"))
    dtype = np.dtype(_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) != header_len + expected:
        raise IdxError(f"{name}: expected {expected} data bytes after the header, got {len(data) - header_len}"
                       + (" (truncated)" if len(data) < header_len + expected else ""))
    return np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape).astype(dtype.newbyteorder("="))


def find_idx_files(directory: Path) -> dict[str, Path] | None:
    """``{"train-images": path, ...}`` for the four files in ``directory``, or ``None`` if it has none."""
    found: dict[str, Path] = {}
    for split, prefixes in _PREFIXES.items():
        for kind, pattern in (("images", "images-idx*-ubyte"), ("labels", "labels-idx1-ubyte")):
            hits = sorted(p for prefix in prefixes for ext in ("", ".gz")
                          for p in directory.glob(f"{prefix}-{pattern}{ext}") if p.is_file())
            gz = [p for p in hits if p.suffix == ".gz"]
            if len({p.name.removesuffix(".gz") for p in hits}) > 1:
                raise IdxError(f"{directory}: several {split} {kind} files ({', '.join(p.name for p in hits)})")
            if hits:
                found[f"{split}-{kind}"] = gz[0] if gz else hits[0]
    if not found:
        return None
    missing = [key for key in ("train-images", "train-labels", "test-images", "test-labels") if key not in found]
    if missing:
        raise IdxError(f"{directory}: IDX file for {missing[0]} not found (expected e.g. "
                       f"{'t10k' if missing[0].startswith('test') else 'train'}-{missing[0].split('-')[1]}-"
                       f"idx{'3' if missing[0].endswith('images') else '1'}-ubyte[.gz])")
    return found


def read_idx_file(path: Path, checksums: Mapping[str, str] | None = None) -> bytes:
    """The decompressed bytes of ``path``; with ``checksums`` its MD5 must be listed and match."""
    if checksums is not None:
        expected = checksums.get(path.name)
        if expected is None:
            raise IdxError(f"{path}: no published checksum for this file name; expected one of {sorted(checksums)}")
        actual = md5_of(path)
        if actual != expected:
            raise IdxError(f"{path}: MD5 mismatch (expected {expected}, got {actual}); the file is corrupted")
    data = path.read_bytes()
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise IdxError(f"{path}: not a valid gzip file ({exc})") from None


def _pair(files: dict[str, Path], split: str, checksums: Mapping[str, str] | None) -> tuple[np.ndarray, np.ndarray]:
    img, lbl = files[f"{split}-images"], files[f"{split}-labels"]
    images = parse_idx(read_idx_file(img, checksums), str(img), labels=False)
    labels = parse_idx(read_idx_file(lbl, checksums), str(lbl), labels=True)
    if images.shape[0] != labels.shape[0]:
        raise IdxError(f"{img}: {images.shape[0]} images but {lbl.name} has {labels.shape[0]} labels")
    return images, labels


def load_idx_folder(directory: str | Path, *, name: str | None = None, checksums: Mapping[str, str] | None = None,
                    input_bits: int = 8, input_step: float | None = None) -> DatasetSplit:
    """Load, check and encode the four IDX files in ``directory`` (see the module docstring)."""
    directory = Path(directory)
    files = find_idx_files(directory)
    if files is None:
        raise IdxError(f"{directory}: no IDX files (train-images-idx3-ubyte[.gz] ...) in this folder")
    train = _pair(files, "train", checksums)
    test = _pair(files, "test", checksums)
    roles = {"x_train": files["train-images"].name, "y_train": files["train-labels"].name,
             "x_test": files["test-images"].name, "y_test": files["test-labels"].name}
    return build_split(str(directory), name or str(directory.resolve()), train, test, roles=roles,
                       input_bits=input_bits, input_step=input_step)
