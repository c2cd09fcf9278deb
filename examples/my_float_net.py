"""A plain float PyTorch network, the kind you already have: no Brevitas, no QCFS, BatchNorm included.

``make_net`` is the factory that ``neurodeploy train-float --model my_float_net:make_net`` and
``convert_float("my_float_net:make_net", ...)`` call (without arguments); it takes sklearn digits as 64
pixel values (``x_int / 16``, in [0, 1]).  BatchNorm is folded into the weights at conversion.
"""
from __future__ import annotations

from torch import nn


def make_net() -> nn.Sequential:
    """64 -> 128 -> 64 -> 10 with BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(),
        nn.Linear(64, 10),
    )
