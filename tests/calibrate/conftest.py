"""A tiny float conv network (random weights, thresholds set) and integer inputs for the calibration tests."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.convert.stages import FloatNetwork, FloatStage, InputSpec


def tiny_network(seed: int = 0) -> FloatNetwork:
    rng = np.random.default_rng(seed)
    stages = (
        FloatStage("c1", "conv", rng.normal(0, 0.6, (4, 1, 3, 3)), rng.normal(0, 0.05, 4), padding=1,
                   threshold=0.8),
        FloatStage("d1", "dense", rng.normal(0, 0.3, (12, 4 * 4 * 4)), rng.normal(0, 0.05, 12),
                   pre=(("pool", 2), ("flatten", 0)), threshold=0.6),
        FloatStage("out", "dense", rng.normal(0, 0.3, (3, 12)), np.zeros(3)),
    )
    return FloatNetwork(InputSpec((1, 8, 8), 8, 1 / 256), stages)


@pytest.fixture
def net() -> FloatNetwork:
    return tiny_network()


@pytest.fixture
def x_int() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (48, 1, 8, 8))
