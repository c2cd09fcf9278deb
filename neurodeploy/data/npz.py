"""A dataset in one ``.npz`` file: ``x_train, y_train, x_test, y_test`` (+ ``x_val, y_val``, ``class_names``).

Read with ``allow_pickle=False``, so object arrays are refused.  ``x_*`` are ``(n, features)``, ``(n, H, W)``
(given a channel axis) or ``(n, C, H, W)``; ``y_*`` integer labels ``0..K-1``; ``class_names`` a 1-D string
array of length ``K`` (default: the labels' numbers).  Inputs are encoded by :mod:`neurodeploy.data.encoding`.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from neurodeploy.data.encoding import build_split
from neurodeploy.data.split import DatasetSplit

__all__ = ["load_npz", "REQUIRED_KEYS", "OPTIONAL_KEYS"]

REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL_KEYS = ("x_val", "y_val", "class_names")


def _read(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a readable .npz archive (a zip of named .npy arrays)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            unknown = sorted(set(archive.files) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
            if unknown:
                raise ValueError(f"{path}: unexpected array {unknown[0]!r}; allowed: "
                                 f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}")
            return {key: archive[key] for key in archive.files}
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz archive ({str(exc).splitlines()[0]})") from None
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: cannot read an array ({str(exc).splitlines()[0]}); object arrays "
                         "are refused (allow_pickle=False)") from None


def _class_names(path: Path, names: np.ndarray | None) -> tuple[str, ...]:
    if names is None:
        return ()
    if names.dtype.kind != "U" or names.ndim != 1 or len(names) == 0:
        raise ValueError(f"{path}: class_names must be a non-empty 1-D string array, got dtype {names.dtype} "
                         f"shape {names.shape}")
    if len(set(names.tolist())) != len(names):
        raise ValueError(f"{path}: class_names has duplicates")
    return tuple(str(n) for n in names)


def load_npz(path: str | Path, *, input_bits: int = 8, input_step: float | None = None) -> DatasetSplit:
    """Load, check and encode the ``.npz`` dataset at ``path`` (see the module docstring)."""
    path = Path(path)
    arrays = _read(path)
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path}: missing array {missing[0]!r}; expected {', '.join(REQUIRED_KEYS)}")
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise ValueError(f"{path}: x_val and y_val must be given together")
    val = (arrays["x_val"], arrays["y_val"]) if "x_val" in arrays else None
    return build_split(str(path), str(path.resolve()), (arrays["x_train"], arrays["y_train"]),
                       (arrays["x_test"], arrays["y_test"]), val, _class_names(path, arrays.get("class_names")),
                       input_bits=input_bits, input_step=input_step)
