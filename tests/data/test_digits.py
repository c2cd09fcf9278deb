"""The sklearn digits split is fixed, stratified and integer-valued with a power-of-two input scale.

Proves: x are uint8 in 0..16 of shape (n, 64), 1347/450 split, each class in the same proportion in both
halves, the same seed gives the same split and ``input_bits=5``, ``input_scale=1/16``.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.data import load_dataset
from neurodeploy.data.digits import load_digits_split


def test_split_properties() -> None:
    a = load_digits_split(seed=0)
    assert a.x_train.shape == (1347, 64) and a.x_test.shape == (450, 64)
    assert a.x_train.dtype == np.uint8 and a.x_train.max() == 16 and a.x_train.min() == 0
    assert a.input_bits == 5 and a.input_scale == 1 / 16
    frac = np.bincount(a.y_test, minlength=10) / np.bincount(np.concatenate([a.y_train, a.y_test]))
    assert np.all(np.abs(frac - 0.25) < 0.02)
    b = load_dataset("digits")
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)
    c = load_digits_split(seed=1)
    assert not np.array_equal(a.y_test, c.y_test)
