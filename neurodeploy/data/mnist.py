"""MNIST from the four local IDX files, verified by MD5 and never downloaded.

Pixels are 8-bit unsigned integers used as ``x_int`` with ``input_scale = 1/256`` (a power of two, so the model
input ``x_int / 256`` is exact in float32; note 256, not 255).
"""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from neurodeploy.data.split import DatasetSplit

__all__ = ["load_mnist", "default_mnist_dir", "MNIST_FILES", "MNIST_INPUT_BITS", "MNIST_INPUT_SCALE"]

MNIST_INPUT_BITS = 8
MNIST_INPUT_SCALE = 1.0 / 256.0

#: Published MD5 of each gzipped file (LeCun, Cortes, Burges).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049


class MnistError(ValueError):
    """A missing, corrupted or malformed MNIST file."""


def default_mnist_dir() -> Path | None:
    """``<repo root>/../shared/data/mnist`` if it exists (resolved from this file's location), else ``None``."""
    repo_root = Path(__file__).resolve().parents[2]
    candidate = (repo_root / ".." / "shared" / "data" / "mnist").resolve()
    return candidate if candidate.is_dir() else None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_verified(directory: Path, gz_name: str, md5: str) -> bytes:
    """Bytes of the decompressed IDX file; the ``.gz`` is MD5-checked, a raw file is parsed as-is."""
    gz_path = directory / gz_name
    raw_path = directory / gz_name[: -len(".gz")]
    if gz_path.is_file():
        actual = _md5(gz_path)
        if actual != md5:
            raise MnistError(f"{gz_path}: MD5 mismatch (expected {md5}, got {actual}); the file is corrupted")
        try:
            return gzip.decompress(gz_path.read_bytes())
        except (OSError, EOFError) as exc:
            raise MnistError(f"{gz_path}: not a valid gzip file ({exc})") from None
    if raw_path.is_file():
        # Only the gzipped files have published checksums; an uncompressed file is checked by its header.
        return raw_path.read_bytes()
    expected = ", ".join(MNIST_FILES)
    raise MnistError(
        f"MNIST file {gz_name} (or {raw_path.name}) not found in {directory}; "
        f"expected the four files {expected} there (they are never downloaded)"
    )


def _parse_idx(data: bytes, magic: int, name: str) -> np.ndarray:
    ndim = 3 if magic == _IMAGE_MAGIC else 1
    header_len = 4 * (1 + ndim)
    if len(data) < header_len:
        raise MnistError(f"{name}: truncated header ({len(data)} bytes)")
    header = np.frombuffer(data[:header_len], dtype=">u4")
    if int(header[0]) != magic:
        raise MnistError(f"{name}: bad magic number {int(header[0])} (expected {magic})")
    shape = tuple(int(v) for v in header[1:])
    expected = int(np.prod(shape))
    if len(data) != header_len + expected:
        raise MnistError(f"{name}: expected {expected} data bytes after the header, got {len(data) - header_len}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape).copy()


def _load_pair(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    img_name, lbl_name = f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"
    images = _parse_idx(_read_verified(directory, img_name, MNIST_FILES[img_name]), _IMAGE_MAGIC, img_name)
    labels = _parse_idx(_read_verified(directory, lbl_name, MNIST_FILES[lbl_name]), _LABEL_MAGIC, lbl_name)
    if images.shape[0] != labels.shape[0]:
        raise MnistError(f"{prefix}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.max() > 9:
        raise MnistError(f"{lbl_name}: label {int(labels.max())} out of range 0..9")
    return images[:, None, :, :], labels.astype(np.int64)


def load_mnist(directory: str | Path | None = None) -> DatasetSplit:
    """Load and verify MNIST from ``directory`` (default: :func:`default_mnist_dir`).

    Returns ``x_*`` as ``uint8`` arrays of shape ``(n, 1, 28, 28)``, ``y_*`` as ``int64``, ``input_bits=8``,
    ``input_scale=1/256``. Raises :class:`MnistError` naming the file on any problem.
    """
    if directory is None:
        directory = default_mnist_dir()
        if directory is None:
            raise MnistError("no MNIST directory given and ../shared/data/mnist (next to the repo) does not exist")
    directory = Path(directory)
    if not directory.is_dir():
        raise MnistError(f"MNIST directory {directory} does not exist; expected {', '.join(MNIST_FILES)} in it")
    x_train, y_train = _load_pair(directory, "train")
    x_test, y_test = _load_pair(directory, "t10k")
    return DatasetSplit(
        name="mnist",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        input_bits=MNIST_INPUT_BITS,
        input_scale=MNIST_INPUT_SCALE,
    )
