"""Datasets: sklearn digits and MNIST from local IDX files (never downloaded)."""
from __future__ import annotations

from pathlib import Path

from neurodeploy.data.split import DatasetSplit

__all__ = ["DatasetSplit", "load_dataset", "DATASETS"]

DATASETS = ("digits", "mnist")


def load_dataset(name: str, data_dir: str | Path | None = None) -> DatasetSplit:
    """Load ``"digits"`` (``data_dir`` ignored) or ``"mnist"`` (from ``data_dir`` or the default folder)."""
    if name == "digits":
        from neurodeploy.data.digits import load_digits_split

        return load_digits_split()
    if name == "mnist":
        from neurodeploy.data.mnist import load_mnist

        return load_mnist(data_dir)
    raise ValueError(f"unknown dataset {name!r}; known: {list(DATASETS)}")
