"""The common return type of the dataset loaders, and its data contract (what an artifact records)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

__all__ = ["DatasetSplit", "array_fingerprint"]


def array_fingerprint(arrays: dict[str, np.ndarray | None], extra: dict[str, Any]) -> str:
    """SHA-256 over named arrays (name, dtype, shape and bytes, in key order) and a JSON-able ``extra``."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = arrays[key]
        if arr is None:
            continue
        arr = np.ascontiguousarray(arr)
        digest.update(f"{key}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    digest.update(json.dumps(extra, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class DatasetSplit:
    """A labelled train/test split with integer inputs.

    The network input is ``x_int * input_scale`` where ``x_int`` holds unsigned integers of ``input_bits``
    bits and ``input_scale`` is a power of two (exact in float32).  ``name`` is a built-in name (``digits``,
    ``mnist``) or the resolved path the data was read from.  ``encoding`` says how raw values became
    integers (``uint8``: as they are; ``quantised``: ``x_int = clip(round(x / input_step), 0, 2**bits - 1)``);
    ``sha256`` is the fingerprint of the whole dataset as loaded (kept by :meth:`subset`).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_bits: int
    input_scale: float
    class_names: tuple[str, ...] = ()
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    encoding: str = "integer"
    input_step: float = 1.0
    sha256: str = ""
    notes: tuple[str, ...] = ()

    @property
    def num_classes(self) -> int:
        """Number of classes (labels are ``0..num_classes-1``)."""
        if self.class_names:
            return len(self.class_names)
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def fingerprint(self) -> str:
        """``sha256`` if the loader set it, else computed from the arrays, class names and encoding."""
        return self.sha256 or self.compute_fingerprint()

    def compute_fingerprint(self) -> str:
        """SHA-256 of every array, the class names and the input encoding."""
        arrays = {"x_train": self.x_train, "y_train": self.y_train, "x_test": self.x_test, "y_test": self.y_test,
                  "x_val": self.x_val, "y_val": self.y_val}
        extra = {"class_names": list(self.class_names), "bits": int(self.input_bits),
                 "scale": float(self.input_scale), "encoding": self.encoding, "step": float(self.input_step)}
        return array_fingerprint(arrays, extra)

    def contract(self) -> dict[str, Any]:
        """What a checkpoint or graph records about its data (JSON-able)."""
        return {"dataset": self.name, "dataset_sha256": self.fingerprint,
                "class_names": list(self.class_names) or [str(i) for i in range(self.num_classes)],
                "input_bits": int(self.input_bits), "input_scale": float(self.input_scale),
                "input_encoding": {"kind": self.encoding, "step": float(self.input_step)}}

    def subset(self, limit: int | None, seed: int = 0) -> DatasetSplit:
        """The same dataset with a seeded random ``limit`` training samples (fingerprint unchanged)."""
        if limit is None or limit >= len(self.y_train):
            return self
        if limit < 1:
            raise ValueError(f"training-set limit must be >= 1, got {limit}")
        idx = np.sort(np.random.default_rng(seed).permutation(len(self.y_train))[:limit])
        return replace(self, x_train=self.x_train[idx], y_train=self.y_train[idx], sha256=self.fingerprint)
