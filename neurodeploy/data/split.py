"""The common return type of the dataset loaders."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DatasetSplit"]


@dataclass(frozen=True)
class DatasetSplit:
    """A labelled train/test split with integer inputs.

    The network input is ``x_int * input_scale`` where ``x_int`` holds unsigned integers of ``input_bits``
    bits and ``input_scale`` is a power of two (exact in float32).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_bits: int
    input_scale: float

    @property
    def num_classes(self) -> int:
        """Number of classes (labels are ``0..num_classes-1``)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1
