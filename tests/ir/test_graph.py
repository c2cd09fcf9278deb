"""The DAG container: topological order from any node order, logical depth = longest synaptic
path (unequal branches of a residual merge), and one-line refusals naming the node for a
cycle, an unknown source, a dangling node, a synapse feeding two targets, and merges or
concatenations of mismatched shapes."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.ir import Concat, Conv, Dense, Flatten, Graph, IFPopulation, Input, IRError, Readout
from neurodeploy.ir.random_graph import random_dag


def pop(name: str, sources: tuple[str, ...] | str, shape: tuple[int, ...]) -> IFPopulation:
    return IFPopulation(name, sources, shape, threshold=4, v0=2, bias_mant=0)


def residual() -> list:
    """input -> a -> b -> c, with a 1x1 shortcut a -> c: c merges a 2-hop and a 1-hop branch."""
    w3 = np.ones((2, 2, 3, 3), np.int64)
    return [Input("input", (2, 4, 4)),
            Conv("s1", "input", w3, padding=1), pop("a", "s1", (2, 4, 4)),
            Conv("s2", "a", w3, padding=1), pop("b", "s2", (2, 4, 4)),
            Conv("s3", "b", w3, padding=1), Conv("short", "a", np.eye(2, dtype=np.int64)[:, :, None, None]),
            pop("c", ("s3", "short"), (2, 4, 4)),
            Flatten("flat", "c"), Dense("fc", "flat", np.ones((3, 32), np.int64)),
            Readout("out", "fc", (3,), bias_mant=0)]


def test_topological_order_and_depths() -> None:
    nodes = residual()
    g = Graph(tuple(reversed(nodes)))                     # any order in, topological order out
    seen: set[str] = set()
    for n in g.nodes:
        assert set(n.inputs) <= seen, n.name
        seen.add(n.name)
    assert {k: g.depths[k] for k in ("a", "b", "c", "out")} == {"a": 1, "b": 2, "c": 3, "out": 4}
    assert g.depth == 3
    g.check_dataflow()


def test_cycle_refused_naming_node() -> None:
    nodes = residual()
    nodes[1] = Conv("s1", "c", np.ones((2, 2, 3, 3), np.int64), padding=1)    # a <- c <- ... <- a
    with pytest.raises(IRError, match=r"part of a cycle"):
        Graph(tuple(nodes))


def test_unknown_source_refused() -> None:
    nodes = residual()
    nodes[6] = Conv("short", "nowhere", np.eye(2, dtype=np.int64)[:, :, None, None])
    with pytest.raises(IRError, match=r"short\.source: 'nowhere' is not a node"):
        Graph(tuple(nodes))


def test_dangling_node_refused() -> None:
    nodes = residual() + [Conv("orphan", "a", np.ones((1, 2, 1, 1), np.int64))]
    with pytest.raises(IRError, match=r"orphan: a synapse must feed exactly one population"):
        Graph(tuple(nodes)).check_dataflow()
    nodes = residual() + [Flatten("loose", "b")]
    with pytest.raises(IRError, match=r"loose: dangling node"):
        Graph(tuple(nodes)).check_dataflow()


def test_merge_of_mismatched_shapes_refused() -> None:
    nodes = residual()
    nodes[6] = Conv("short", "a", np.eye(2, dtype=np.int64)[:, :, None, None], stride=2)
    with pytest.raises(IRError, match=r"c: source 'short' delivers shape \(2, 2, 2\)"):
        Graph(tuple(nodes)).shapes()


def test_concat_of_mismatched_shapes_refused() -> None:
    nodes = residual()[:5] + [Concat("cat", ("a", "s1"))]
    g = Graph(tuple(nodes))
    assert g.shapes()["cat"] == (4, 4, 4)
    bad = Graph(tuple(residual()[:5] + [Conv("half", "a", np.ones((2, 2, 1, 1), np.int64), stride=2),
                                        Concat("cat", ("a", "half"))]))
    with pytest.raises(IRError, match=r"cat: cannot concatenate 'half' of shape \(2, 2, 2\)"):
        bad.shapes()


def test_random_dags_are_valid() -> None:
    for seed in range(20):
        g = random_dag(seed)
        g.check_dataflow()
        assert g.depth >= 2
