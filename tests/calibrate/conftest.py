"""Tiny float networks (random weights, thresholds set) and integer inputs for the calibration tests:
a chain (conv - pool - flatten - dense - readout) and a DAG (identity residual, 1x1 shortcut,
channel concat, global pool)."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.convert.stages import FloatNetwork, FloatPopulation, FloatSynapse, InputSpec, TensorOp

SPEC = InputSpec((1, 8, 8), 8, 1 / 256)


def _conv(name: str, src: str, w: np.ndarray, b: np.ndarray, **kw: object) -> FloatSynapse:
    return FloatSynapse(name, "conv", src, w, b, **kw)  # type: ignore[arg-type]


def _dense(name: str, src: str, w: np.ndarray, b: np.ndarray) -> FloatSynapse:
    return FloatSynapse(name, "dense", src, w, b)


def tiny_network(seed: int = 0) -> FloatNetwork:
    rng = np.random.default_rng(seed)
    nodes = (
        FloatPopulation("c1_if", (_conv("c1_syn", "input", rng.normal(0, 0.6, (4, 1, 3, 3)), rng.normal(0, 0.05, 4),
                                        padding=(1, 1)),), threshold=0.8),
        TensorOp("pool1", "pool", ("c1_if",), kernel=(2, 2), stride=(2, 2)),
        TensorOp("flatten1", "flatten", ("pool1",)),
        FloatPopulation("d1_if", (_dense("d1_syn", "flatten1", rng.normal(0, 0.3, (12, 64)),
                                         rng.normal(0, 0.05, 12)),), threshold=0.6),
        FloatPopulation("out", (_dense("out_syn", "d1_if", rng.normal(0, 0.3, (3, 12)), np.zeros(3)),)),
    )
    return FloatNetwork(SPEC, nodes)


def residual_network(seed: int = 0) -> FloatNetwork:
    """c1 -> c2 + identity(c1) -> c3 (strided) + 1x1 shortcut(c2) -> concat(c3, c3b) -> global pool -> out."""
    rng = np.random.default_rng(seed)
    eye = np.eye(4).reshape(4, 4, 1, 1)
    nodes = (
        FloatPopulation("c1_if", (_conv("c1_syn", "input", rng.normal(0, 0.6, (4, 1, 3, 3)), rng.normal(0, 0.05, 4),
                                        padding=(1, 1)),), threshold=0.8),
        FloatPopulation("c2_if", (_conv("c2_syn", "c1_if", rng.normal(0, 0.3, (4, 4, 3, 3)), rng.normal(0, 0.05, 4),
                                        padding=(1, 1)),
                                  _conv("c2_syn2", "c1_if", eye, np.zeros(4), identity=True)), threshold=0.9),
        FloatPopulation("c3_if", (_conv("c3_syn", "c2_if", rng.normal(0, 0.3, (6, 4, 3, 3)), rng.normal(0, 0.05, 6),
                                        stride=(2, 2), padding=(1, 1)),
                                  _conv("c3_syn2", "c2_if", rng.normal(0, 0.4, (6, 4, 1, 1)), np.zeros(6),
                                        stride=(2, 2))), threshold=0.7),
        FloatPopulation("c4_if", (_conv("c4_syn", "c3_if", rng.normal(0, 0.5, (6, 1, 3, 3)), rng.normal(0, 0.05, 6),
                                        padding=(1, 1), groups=6),), threshold=0.5),
        TensorOp("concat1", "concat", ("c3_if", "c4_if")),
        TensorOp("pool1", "pool", ("concat1",), kernel=(4, 4), stride=(4, 4)),
        TensorOp("flatten1", "flatten", ("pool1",)),
        FloatPopulation("out", (_dense("out_syn", "flatten1", rng.normal(0, 0.3, (3, 12)), np.zeros(3)),)),
    )
    return FloatNetwork(SPEC, nodes)


@pytest.fixture(params=["chain", "dag"])
def net(request: pytest.FixtureRequest) -> FloatNetwork:
    return tiny_network() if request.param == "chain" else residual_network()


@pytest.fixture
def x_int() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (48, 1, 8, 8))
