"""scikit-learn's 8×8 digits (1797 images, pixels 0..16) as a fixed stratified split.

Pixels are used as 5-bit unsigned integers (``x_int = pixel``) with ``input_scale = 1/16``, so the model input
``x_int / 16`` lies in [0, 1] exactly.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.data.split import DatasetSplit

__all__ = ["load_digits_split", "DIGITS_INPUT_BITS", "DIGITS_INPUT_SCALE"]

DIGITS_INPUT_BITS = 5
DIGITS_INPUT_SCALE = 1.0 / 16.0


def load_digits_split(seed: int = 0, test_fraction: float = 0.25) -> DatasetSplit:
    """Return the digits data split stratified by label (deterministic for a given ``seed``).

    ``x_*`` are ``uint8`` arrays of shape ``(n, 64)`` with values 0..16; ``y_*`` are ``int64`` labels.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    bunch = load_digits()
    data = np.asarray(bunch.data)
    x = data.astype(np.uint8)
    if not np.array_equal(x, data) or x.max() > 16:
        raise ValueError("sklearn digits pixels are not integers in 0..16")
    y = np.asarray(bunch.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return DatasetSplit(
        name="digits",
        x_train=np.ascontiguousarray(x_train),
        y_train=np.ascontiguousarray(y_train),
        x_test=np.ascontiguousarray(x_test),
        y_test=np.ascontiguousarray(y_test),
        input_bits=DIGITS_INPUT_BITS,
        input_scale=DIGITS_INPUT_SCALE,
    )
