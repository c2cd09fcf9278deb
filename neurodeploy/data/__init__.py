"""Datasets: the built-in ones by name, and the user's own by path (never downloaded).

``load_dataset(spec)`` takes

* ``"digits"`` (sklearn 8x8 digits, 5-bit pixels) or ``"mnist"`` (the checksummed local IDX files);
* a folder holding the four IDX files of any MNIST-format dataset (:mod:`neurodeploy.data.idx`);
* a folder with ``train/<class>/`` and ``test/<class>/`` images (:mod:`neurodeploy.data.images`);
* an ``.npz`` file with ``x_train, y_train, x_test, y_test`` (:mod:`neurodeploy.data.npz`).

Every loader checks shapes, dtypes, labels and class counts and raises a one-line ``ValueError`` naming the
file; the input encoding (:mod:`neurodeploy.data.encoding`) and a fingerprint are part of the result.
"""
from __future__ import annotations

from pathlib import Path

from neurodeploy.data.split import DatasetSplit

__all__ = ["DatasetSplit", "load_dataset", "DATASETS", "is_builtin"]

DATASETS = ("digits", "mnist")


def is_builtin(spec: str) -> bool:
    """True for the built-in dataset names."""
    return spec in DATASETS


def load_dataset(spec: str | Path, data_dir: str | Path | None = None, *, input_bits: int = 8,
                 input_step: float | None = None) -> DatasetSplit:
    """Load a built-in dataset by name or the user's own by path (see the module docstring).

    ``data_dir`` is MNIST's folder (default ``../shared/data/mnist``); ``input_bits`` and ``input_step`` apply
    to data that is not 8-bit (``input_step=None`` derives it from the training set)."""
    name = str(spec)
    if name == "digits":
        from neurodeploy.data.digits import load_digits_split

        return load_digits_split()
    if name == "mnist":
        from neurodeploy.data.mnist import load_mnist

        return load_mnist(data_dir)
    path = Path(name).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise ValueError(f"{path}: a dataset file must be an .npz archive (or give a folder)")
        from neurodeploy.data.npz import load_npz

        return load_npz(path, input_bits=input_bits, input_step=input_step)
    if path.is_dir():
        from neurodeploy.data.idx import find_idx_files, load_idx_folder
        from neurodeploy.data.images import is_image_folder, load_image_folder

        if is_image_folder(path):
            return load_image_folder(path)
        if find_idx_files(path) is not None:
            return load_idx_folder(path, input_bits=input_bits, input_step=input_step)
        raise ValueError(f"{path}: neither an image dataset (train/<class>/, test/<class>/) nor a folder of "
                         "IDX files (train-images-idx3-ubyte[.gz], ...)")
    raise ValueError(f"unknown dataset {name!r}: not a built-in name ({', '.join(DATASETS)}) and no such "
                     "file or folder")
