"""Fan-out counts, checked against the IR's own exact evaluation (``apply``) as the oracle.

Proves: ``Dense/Conv.fanout`` equals the number of outputs a one-hot input reaches through a
non-zero weight (strides, padding, dilation, groups), and the dense count with all-ones weights;
the tensor ops' ``fanout_back`` is the exact transpose of their ``apply`` (<P x, f> = <x, P^T f>);
``source_fanouts`` through pools, concatenations and merges of random DAGs equals the one-hot
count through the whole path.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurodeploy.ir import Concat, Conv, Dense, Flatten, SumPool
from neurodeploy.ir.random_graph import random_cnn, random_dag
from neurodeploy.report.fanout import source_fanouts, synapse_input, synapses


def _one_hot_reach(node, in_shape, weights) -> np.ndarray:
    """Per input element: sum of the outputs of ``node`` with ``weights`` fed that element alone."""
    probe = dataclasses.replace(node, weight=weights, weight_exp=0)
    n = int(np.prod(in_shape))
    eye = np.eye(n, dtype=np.int64).reshape(n, *in_shape)
    return probe.apply([eye]).reshape(n, -1).sum(axis=1).reshape(in_shape)


CONVS = [  # (C_in, H, W), C_out, kernel, stride, padding, dilation, groups
    ((2, 5, 6), 3, 3, 1, 1, 1, 1), ((2, 7, 7), 4, 3, 2, 1, 1, 2), ((3, 6, 5), 3, (2, 3), (2, 1), (0, 2), 1, 3),
    ((1, 9, 9), 2, 3, 1, 2, 2, 1), ((4, 4, 4), 4, 1, 1, 0, 1, 4), ((2, 6, 6), 2, 5, 3, 2, 1, 1),
]


@pytest.mark.parametrize("case", CONVS)
def test_conv_fanout_equals_one_hot_reach(case) -> None:
    in_shape, c_out, k, stride, pad, dil, groups = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(hash(str(case)) % 2**32)
    w = rng.integers(-3, 4, size=(c_out, in_shape[0] // groups, kh, kw))
    node = Conv("c", "x", w, stride=stride, padding=pad, dilation=dil, groups=groups)
    np.testing.assert_array_equal(node.fanout(in_shape), _one_hot_reach(node, in_shape, (w != 0).astype(np.int64)))
    np.testing.assert_array_equal(node.fanout(in_shape, nonzero_only=False),
                                  _one_hot_reach(node, in_shape, np.ones_like(w)))


def test_dense_fanout_equals_one_hot_reach() -> None:
    w = np.random.default_rng(1).integers(-2, 3, size=(7, 11))
    node = Dense("d", "x", w)
    np.testing.assert_array_equal(node.fanout((11,)), _one_hot_reach(node, (11,), (w != 0).astype(np.int64)))
    assert node.fanout((11,)).sum() == node.synapse_count((7,))
    np.testing.assert_array_equal(node.fanout((11,), nonzero_only=False), np.full(11, 7))


@pytest.mark.parametrize("node, shapes", [
    (SumPool("p", "a", kernel=2), [(3, 6, 6)]), (SumPool("p", "a", kernel=3, stride=2, padding=1), [(2, 7, 5)]),
    (SumPool("p", "a", kernel=(2, 3), stride=1), [(1, 4, 5)]), (SumPool("p", "a", kernel=(4, 4)), [(2, 4, 4)]),
    (Flatten("f", "a"), [(2, 3, 4)]), (Concat("c", ("a", "b")), [(2, 3, 3), (1, 3, 3)]),
    (Concat("c", ("a", "b", "d")), [(4,), (2,), (3,)]),
])
def test_fanout_back_is_the_transpose_of_apply(node, shapes) -> None:
    rng = np.random.default_rng(7)
    xs = [rng.integers(0, 9, size=(1, *s)) for s in shapes]
    y = node.apply(xs)
    f = rng.integers(0, 50, size=y.shape[1:])
    back = node.fanout_back(f, shapes)
    assert [b.shape for b in back] == [tuple(s) for s in shapes]
    assert int((y[0] * f).sum()) == sum(int((x[0] * b).sum()) for x, b in zip(xs, back))


@pytest.mark.parametrize("graph", [random_cnn(0), *[random_dag(s) for s in range(6)]],
                         ids=["cnn"] + [f"dag{s}" for s in range(6)])
def test_source_fanouts_equal_one_hot_reach_through_the_path(graph) -> None:
    shapes = graph.shapes()
    rng = np.random.default_rng(3)
    for k in synapses(graph):
        syn = graph.node(k)
        mask = dataclasses.replace(syn, weight=(syn.weight != 0).astype(np.int64), weight_exp=0)
        fans = source_fanouts(graph, k)
        assert set(fans) == set(graph.spike_sources(syn.inputs[0]))
        for src, fan in fans.items():
            assert fan.shape == shapes[src]
            for j in rng.choice(fan.size, size=min(fan.size, 12), replace=False):
                values = {s: np.zeros((1, *shapes[s]), np.int64) for s in fans}
                values[src].reshape(-1)[j] = 1
                reach = mask.apply([synapse_input(graph, k, values)]).sum()
                assert reach == fan.reshape(-1)[j], (k, src, j)
