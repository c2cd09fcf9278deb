"""The fast simulator's kernels are exact: float32 / float64 / int64 accumulation is chosen at
exactly the 2**24 and 2**53 bounds and every path gives the exact integer result (also right at
the boundaries); Conv with groups (depthwise, channel multiplier, general groups), dilation and
per-axis stride/padding, and SumPool with kernel/stride/padding (incl. global), equal the IR's
exact int64 ``apply``."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.backends.cpusim.kernels import Synapse, int_dtype, matmul_dtype, sum_pool
from neurodeploy.ir import Conv, Dense, Graph, IFPopulation, Input, IntT, Readout, SumPool, verify_graph


@pytest.mark.parametrize("bound, dtype", [
    (0, np.float32), ((1 << 24) - 1, np.float32), (1 << 24, np.float64),
    ((1 << 53) - 1, np.float64), (1 << 53, np.int64), (1 << 62, np.int64),
])
def test_dtype_selection_at_boundaries(bound: int, dtype: type) -> None:
    """The accumulation type switches exactly at 2**24 and 2**53."""
    assert matmul_dtype(bound) is dtype


def _dense(n_in: int, wmax: int, weight_exp: int = 0) -> tuple[Dense, np.ndarray]:
    w = np.full((2, n_in), wmax, np.int64)
    w[1] = -wmax
    return Dense("fc", "input", w, weight_exp=weight_exp, weight_t=IntT(9)), w


@pytest.mark.parametrize("n_in, bits, expect", [
    (2, 23, np.float32),        # 2 * 1 * (2**23 - 1) < 2**24
    (2, 24, np.float64),        # 2 * (2**24 - 1) >= 2**24
    (64, 46, np.float64),       # 64 * (2**46 - 1) < 2**53
    (65, 47, np.int64),         # 65 * (2**47 - 1) >= 2**53
])
def test_paths_exact(n_in: int, bits: int, expect: type) -> None:
    """Each accumulation path reproduces Python-int dot products at its largest inputs."""
    node, w = _dense(n_in, 1)
    max_x = (1 << bits) - 1
    assert matmul_dtype(node.raw_bound(max_x)) is expect
    rng = np.random.default_rng(bits)
    x = rng.integers(max_x - 1000, max_x + 1, size=(5, n_in), dtype=np.int64)
    x[0] = max_x                                 # reach the bound exactly
    got = Synapse(node, max_x)(x)
    want = np.array([[sum(int(a) * int(b) for a, b in zip(wr, xr)) for wr in w] for xr in x])
    np.testing.assert_array_equal(got, want)


def test_float32_boundary_in_simulation() -> None:
    """A layer whose bound crosses 2**24 stays exact in the whole simulator."""
    n_in = (1 << 24) // 255 + 1                  # enough 8-bit inputs to cross 2**24 in float32
    inp = Input("input", (n_in,), bits=8)
    w = np.ones((1, n_in), np.int64)
    g = Graph((inp, Dense("fc", "input", w), Readout("out", "fc", (1,), bias_mant=[0])))
    x = np.full((2, n_in), 255, np.int64)
    x[1, ::3] = 254
    tr = simulate(g, x, 2)
    np.testing.assert_array_equal(tr.readout[-1, :, 0], 2 * x.sum(axis=1))
    assert g.nodes[1].raw_bound(255) >= 1 << 24


def test_weight_exp_shift_after_exact_sum() -> None:
    """``shift`` (floor for negative exponents) applies to the exact int64 sum."""
    inp = Input("input", (3,), bits=4)
    fc = Dense("fc", "input", [[1, -2, 3]], weight_exp=-2)
    pop = IFPopulation("if", "fc", (1,), threshold=[1000], v0=[0], bias_mant=[0])
    fc2 = Dense("fc2", "if", [[1]])
    g = Graph((inp, fc, pop, fc2, Readout("out", "fc2", (1,), bias_mant=[0])))
    verify_graph(g)
    tr = simulate(g, np.array([[1, 3, 0]]), 1, probes="all", record_current=True)
    assert tr.current["if"][0, 0, 0] == (1 - 6) >> 2 == -2


CONVS = [  # (C_in, C_out, groups, kernel, stride, padding, dilation)
    (3, 4, 1, (3, 3), (1, 1), (1, 1), (1, 1)),
    (3, 5, 1, (3, 2), (2, 1), (0, 2), (1, 1)),
    (2, 3, 1, (3, 3), (1, 2), (2, 1), (2, 1)),
    (4, 4, 4, (3, 3), (1, 1), (1, 1), (1, 1)),      # depthwise
    (3, 6, 3, (3, 3), (2, 2), (1, 0), (1, 2)),      # depthwise, channel multiplier 2
    (4, 6, 2, (2, 3), (1, 2), (1, 1), (2, 1)),      # two groups of two channels
]


@pytest.mark.parametrize("c_in, c_out, groups, kernel, stride, padding, dilation", CONVS)
@pytest.mark.parametrize("weight_exp, bits", [(0, 1), (-2, 4), (1, 30)])
def test_conv_variants_equal_apply(c_in: int, c_out: int, groups: int, kernel: tuple[int, int],
                                   stride: tuple[int, int], padding: tuple[int, int],
                                   dilation: tuple[int, int], weight_exp: int, bits: int) -> None:
    """Every conv layout (im2col, depthwise-like, per group) and accumulation type (bits 30
    forces float64) equals ``Conv.apply`` exactly."""
    rng = np.random.default_rng(c_in * 7 + c_out + bits)
    w = rng.integers(-128, 128, size=(c_out, c_in // groups, *kernel))
    node = Conv("c", "input", w, stride=stride, padding=padding, dilation=dilation, groups=groups,
                weight_exp=weight_exp)
    x = rng.integers(0, 1 << bits, size=(3, c_in, 7, 6))
    syn = Synapse(node, (1 << bits) - 1)
    assert syn.dtype is (np.float32 if bits < 30 else np.float64)
    np.testing.assert_array_equal(syn(x), node.apply([x]))


@pytest.mark.parametrize("kernel, stride, padding", [
    ((2, 2), None, (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (1, 0)), ((7, 6), None, (0, 0)),
])
def test_sum_pool_variants_equal_apply(kernel: tuple[int, int], stride: tuple[int, int] | None,
                                       padding: tuple[int, int]) -> None:
    """Overlapping, padded, odd-sized and global pools equal ``SumPool.apply`` (bool spikes in)."""
    node = SumPool("p", "input", kernel=kernel, stride=stride, padding=padding)
    s = np.random.default_rng(0).random((4, 3, 7, 6)) < 0.5
    got = sum_pool(node, s, int_dtype(node.area))
    np.testing.assert_array_equal(got, node.apply([s.astype(np.int64)]))
