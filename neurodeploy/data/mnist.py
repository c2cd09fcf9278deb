"""MNIST from the four local IDX files, verified by MD5 and never downloaded.

Pixels are 8-bit unsigned integers used as ``x_int`` with ``input_scale = 1/256`` (a power of two, so the model
input ``x_int / 256`` is exact in float32; note 256, not 255).  Every file read is checksummed: a gzipped file
against the published MD5, an uncompressed one against the MD5 of the decompressed published file, so neither
form can slip in unchecked.
"""
from __future__ import annotations

from pathlib import Path

from neurodeploy.data.idx import IdxError, find_idx_files, load_idx_folder
from neurodeploy.data.split import DatasetSplit

__all__ = ["load_mnist", "default_mnist_dir", "MNIST_FILES", "MNIST_RAW_FILES", "MNIST_INPUT_BITS",
           "MNIST_INPUT_SCALE", "MnistError"]

MNIST_INPUT_BITS = 8
MNIST_INPUT_SCALE = 1.0 / 256.0

#: Published MD5 of each gzipped file (LeCun, Cortes, Burges).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
#: MD5 of each file above once decompressed (computed from the verified gzipped files).
MNIST_RAW_FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

MnistError = IdxError
"""A missing, corrupted or malformed MNIST file (the IDX error type; kept under its old name)."""


def default_mnist_dir() -> Path | None:
    """``<repo root>/../shared/data/mnist`` if it exists (resolved from this file's location), else ``None``."""
    repo_root = Path(__file__).resolve().parents[2]
    candidate = (repo_root / ".." / "shared" / "data" / "mnist").resolve()
    return candidate if candidate.is_dir() else None


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
    try:
        files = find_idx_files(directory)
    except IdxError as exc:
        raise MnistError(f"{exc}; MNIST needs the four files {', '.join(MNIST_FILES)}") from None
    if files is None:
        raise MnistError(f"MNIST files not found in {directory}; expected the four files {', '.join(MNIST_FILES)} "
                         "there (they are never downloaded)")
    split = load_idx_folder(directory, name="mnist", checksums={**MNIST_FILES, **MNIST_RAW_FILES})
    if split.x_train.shape[1:] != (1, 28, 28) or split.num_classes > 10:
        raise MnistError(f"{directory}: not MNIST (samples {split.x_train.shape[1:]}, {split.num_classes} classes)")
    return split
