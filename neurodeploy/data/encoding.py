"""How raw samples become the unsigned integer inputs of a network, and the checks every loader shares.

Two encodings, chosen by the training set's dtype and recorded in every artifact:

* ``uint8``: 8-bit images are used as they are, ``x_int = x`` with ``input_scale = 1/256``.
* ``quantised``: any other dtype (floats, wider or signed integers, booleans) must be finite and
  non-negative; ``step = max(x_train) / (2**bits - 1)`` (derived from the training set, or the recorded
  one when re-reading a dataset for an artifact), ``x_int = clip(round(x / step), 0, 2**bits - 1)`` and the
  network sees ``x_int * 2**-bits``, i.e. inputs in [0, 1).  Test values above the training maximum clip.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from neurodeploy.data.split import DatasetSplit

__all__ = ["Encoded", "build_split", "encode_split", "check_labels", "check_samples", "MAX_INPUT_BITS"]

MAX_INPUT_BITS = 16


@dataclass(frozen=True)
class Encoded:
    """Integer arrays plus the encoding that produced them."""

    arrays: tuple[np.ndarray | None, ...]
    bits: int
    scale: float
    kind: str
    step: float


def check_samples(where: str, x: np.ndarray, role: str) -> np.ndarray:
    """A numeric ``(n, ...)`` array with ``n >= 1``; ``(n, H, W)`` gains a channel axis ``(n, 1, H, W)``."""
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {role} has dtype {x.dtype}; expected numbers (uint8 images, ints or floats)")
    if x.ndim < 2:
        raise ValueError(f"{where}: {role} has shape {x.shape}; expected (samples, features...) ")
    if len(x) == 0:
        raise ValueError(f"{where}: {role} is empty")
    return x[:, None] if x.ndim == 3 else x


def check_labels(where: str, y: np.ndarray, n: int, role: str, num_classes: int | None = None) -> np.ndarray:
    """Integer labels ``0..num_classes-1``, one per sample; returned as int64."""
    if y.dtype.kind not in "iu":
        raise ValueError(f"{where}: {role} has dtype {y.dtype}; expected integer class labels")
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{where}: {role} has shape {y.shape}; expected ({n},), one label per sample")
    if y.min() < 0:
        raise ValueError(f"{where}: {role} has a negative label {int(y.min())}")
    if num_classes is not None and y.max() >= num_classes:
        raise ValueError(f"{where}: {role} has label {int(y.max())}, but there are only {num_classes} classes")
    return y.astype(np.int64)


def check_classes(where: str, y_train: np.ndarray, num_classes: int, has_val: bool) -> None:
    """Every class has training samples (two, when a validation split is to be drawn from them)."""
    counts = np.bincount(y_train, minlength=num_classes)
    need = 1 if has_val else 2
    thin = [int(c) for c in np.flatnonzero(counts < need)]
    if thin:
        raise ValueError(f"{where}: class {thin[0]} has {int(counts[thin[0]])} training samples; each of the "
                         f"{num_classes} classes needs at least {need}")


def encode_split(where: str, xs: Sequence[np.ndarray | None], bits: int, step: float | None = None) -> Encoded:
    """Encode ``xs`` (train first; ``None`` entries pass through) by the rule in the module docstring."""
    x_train = xs[0]
    assert x_train is not None
    if x_train.dtype == np.uint8 and all(x is None or x.dtype == np.uint8 for x in xs):
        return Encoded(tuple(xs), 8, 1.0 / 256.0, "uint8", 1.0)
    if not 1 <= bits <= MAX_INPUT_BITS:
        raise ValueError(f"--input-bits {bits}: expected 1..{MAX_INPUT_BITS}")
    top = (1 << bits) - 1
    for x in xs:
        if x is None:
            continue
        values = x.astype(np.float64, copy=False)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{where}: inputs contain NaN or infinity")
        if values.min() < 0:
            raise ValueError(f"{where}: inputs contain negative values ({values.min():g}); the network's inputs "
                             "are unsigned, so shift the data to be >= 0")
    if step is None:
        peak = float(np.max(x_train.astype(np.float64, copy=False)))
        if peak <= 0:
            raise ValueError(f"{where}: every training input is 0; nothing to learn from")
        step = peak / top
    dtype = np.uint8 if bits <= 8 else np.uint16
    out = tuple(None if x is None else np.clip(np.rint(x.astype(np.float64) / step), 0, top).astype(dtype)
                for x in xs)
    return Encoded(out, bits, 2.0 ** -bits, "quantised", float(step))


def build_split(where: str, name: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                val: tuple[np.ndarray, np.ndarray] | None = None, class_names: Sequence[str] = (), *,
                input_bits: int = 8, input_step: float | None = None, notes: Sequence[str] = (),
                roles: Mapping[str, str] | None = None) -> DatasetSplit:
    """Check raw arrays (shapes, dtypes, labels, class counts), encode them and fingerprint the result.

    Messages start with ``where`` and call each array by ``roles[key]`` (e.g. its file name) or its key."""
    r = {k: (roles or {}).get(k, k) for k in ("x_train", "y_train", "x_test", "y_test", "x_val", "y_val")}
    x_tr = check_samples(where, np.asarray(train[0]), r["x_train"])
    x_te = check_samples(where, np.asarray(test[0]), r["x_test"])
    if x_te.shape[1:] != x_tr.shape[1:]:
        raise ValueError(f"{where}: {r['x_test']} samples have shape {x_te.shape[1:]}, {r['x_train']} samples "
                         f"{x_tr.shape[1:]}")
    k = len(class_names) or None
    y_tr = check_labels(where, np.asarray(train[1]), len(x_tr), r["y_train"], k)
    num_classes = k or int(y_tr.max()) + 1
    y_te = check_labels(where, np.asarray(test[1]), len(x_te), r["y_test"], num_classes)
    x_va = y_va = None
    if val is not None:
        x_va = check_samples(where, np.asarray(val[0]), r["x_val"])
        if x_va.shape[1:] != x_tr.shape[1:]:
            raise ValueError(f"{where}: {r['x_val']} samples have shape {x_va.shape[1:]}, {r['x_train']} samples "
                             f"{x_tr.shape[1:]}")
        y_va = check_labels(where, np.asarray(val[1]), len(x_va), r["y_val"], num_classes)
    check_classes(f"{where}: {r['y_train']}", y_tr, num_classes, has_val=val is not None)
    enc = encode_split(where, (x_tr, x_te, x_va), input_bits, input_step)
    x_tr, x_te, x_va = enc.arrays
    split = DatasetSplit(name=name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, input_bits=enc.bits,
                         input_scale=enc.scale, class_names=tuple(class_names), x_val=x_va, y_val=y_va,
                         encoding=enc.kind, input_step=enc.step, notes=tuple(notes))
    return replace(split, sha256=split.compute_fingerprint())
