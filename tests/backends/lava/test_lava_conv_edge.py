"""Lava's Conv keeps ``groups`` in an int8 Var: a depthwise conv with 128 channels (MobileNet's
``conv15``) had ``groups`` wrap to -128 and Lava's model then convolved no group at all (an
all-zero current).  The plan regroups such a conv to the largest divisor that fits int8
(block-diagonal, exact); these tiny hand-built graphs run it on Lava against the simulator."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from neurodeploy.backends.lava.parts import LAVA_CONV_INT8_MAX, _ungrouped, lava_groups

from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, IFPopulation, Input, Readout
from neurodeploy.ir.random_graph import random_inputs


def _depthwise_net(channels: int, seed: int = 0) -> Graph:
    """input (4,2,2) -> 1x1 conv -> if0 (C,2,2) -> depthwise 3x3 (groups C, pad 1,
    weight_exp 5) -> if1 -> flatten -> dense readout: conv15's shape in miniature."""
    rng = np.random.default_rng(seed)
    c = channels

    def pop(name: str, src: str, lo: int, hi: int) -> IFPopulation:
        th = rng.integers(lo, hi, size=(c, 2, 2))
        return IFPopulation(name, src, (c, 2, 2), th, th // 2, rng.integers(-8, 9, size=(c, 2, 2)), bias_exp=1)

    nodes = [
        Input("input", (4, 2, 2), bits=4, scale=1 / 16),
        Conv("c0", "input", rng.integers(-128, 128, (c, 4, 1, 1))), pop("if0", "c0", 100, 600),
        Conv("dw", "if0", rng.integers(-128, 128, (c, 1, 3, 3)), padding=1, groups=c, weight_exp=5),
        pop("if1", "dw", 2000, 9000),
        Flatten("flat", "if1"),
        Dense("fc", "flat", rng.integers(-128, 128, (3, 4 * c))),
        Readout("out", "fc", (3,), bias_mant=rng.integers(-8, 9, 3)),
    ]
    return Graph(tuple(nodes), meta={"origin": f"depthwise_net({channels})"})


@pytest.mark.parametrize("groups", [6, 127, 128, 130, 131, 256])
def test_lava_groups_is_the_same_convolution(groups: int) -> None:
    rng = np.random.default_rng(groups)
    w = rng.integers(-128, 128, (2 * groups, 3, 3, 2))
    w2, g2 = lava_groups(w, groups)
    assert g2 <= LAVA_CONV_INT8_MAX and groups % g2 == 0
    assert g2 == (groups if groups <= LAVA_CONV_INT8_MAX else {128: 64, 130: 65, 131: 1, 256: 64}[groups])
    a = Conv("a", "x", w, groups=groups)
    b = Conv("b", "x", w2, groups=g2)
    np.testing.assert_array_equal(_ungrouped(a), _ungrouped(b))


@pytest.mark.lava
@pytest.mark.skipif(importlib.util.find_spec("lava") is None, reason="lava-nc not installed")
@pytest.mark.parametrize("channels", [128, 129])
def test_depthwise_conv_beyond_int8_groups_matches_cpu_simulator(channels: int) -> None:
    from lava_helpers import check_equal
    g = _depthwise_net(channels)
    x = random_inputs(g, 2, 3)
    from neurodeploy.backends.cpusim.simulate import simulate
    tr = simulate(g, x, 4, probes=["if1"], record_v=True, record_current=True)
    assert np.count_nonzero(tr.current["if1"]) > 0          # the depthwise conv carries current
    check_equal(g, x, 4)
