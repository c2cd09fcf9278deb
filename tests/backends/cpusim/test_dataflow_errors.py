"""Graphs the simulators cannot run are refused before any step, with a one-line IRError naming
the offending node: a cycle (refused when the Graph is built), a dangling population, merges of
mismatched shapes (two synapses into one population, a concat of unequal spatial sizes), a
population fed by a pool instead of a synapse; both implementations, the backend's ``check``
and the ANN reference refuse the same way."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.backends.cpusim.backend import CpuSimBackend
from neurodeploy.ir import Concat, Conv, Dense, Flatten, Graph, IFPopulation, Input, IRError, Readout, SumPool
from neurodeploy.ir.nodes import Node
from neurodeploy.reference import ann_reference


def pop(name: str, sources: str | tuple[str, ...], shape: tuple[int, ...]) -> IFPopulation:
    return IFPopulation(name, sources, shape, threshold=10, v0=0, bias_mant=0)


def dense(name: str, src: str, n_out: int, n_in: int) -> Dense:
    return Dense(name, src, np.ones((n_out, n_in), np.int64))


def tail(src: str, n_in: int) -> list[Node]:
    return [dense("fc_out", src, 2, n_in), Readout("out", "fc_out", (2,), bias_mant=0)]


def one_line(exc: pytest.ExceptionInfo[IRError], node: str) -> None:
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(node), msg


def test_cycle_refused_naming_a_node() -> None:
    """``a -> fc_b -> b -> fc_a -> a`` cannot even be built."""
    nodes = [Input("input", (2,)), dense("fc_in", "input", 2, 2), pop("a", ("fc_in", "fc_a"), (2,)),
             dense("fc_b", "a", 2, 2), pop("b", "fc_b", (2,)), dense("fc_a", "b", 2, 2), *tail("b", 2)]
    with pytest.raises(IRError, match="cycle") as exc:
        Graph(tuple(nodes))
    assert "\n" not in str(exc.value) and any(n in str(exc.value) for n in ("a", "fc_b", "b", "fc_a"))


BROKEN = {
    "dangling": ("if2", [Input("input", (3,)), dense("fc1", "input", 3, 3), pop("if1", "fc1", (3,)),
                         dense("fc2", "if1", 3, 3), pop("if2", "fc2", (3,)), *tail("if1", 3)]),
    "merge shapes": ("if2", [Input("input", (3,)), dense("fc1", "input", 4, 3), pop("if1", "fc1", (4,)),
                             dense("fa", "if1", 4, 4), dense("fb", "input", 3, 3),
                             pop("if2", ("fa", "fb"), (4,)), *tail("if2", 4)]),
    "concat shapes": ("cat", [Input("input", (1, 4, 4)), Conv("c1", "input", np.ones((2, 1, 3, 3), np.int64)),
                              pop("if1", "c1", (2, 2, 2)), Concat("cat", ("input", "if1")),
                              Flatten("flat", "cat"), *tail("flat", 24)]),
    "pool feeds population": ("if_bad", [Input("input", (1, 4, 4)), SumPool("pool", "input", 2),
                                         pop("if_bad", "pool", (1, 2, 2)), Flatten("flat", "if_bad"),
                                         *tail("flat", 4)]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_dataflow_refused(case: str) -> None:
    """simulate (both impls), CpuSimBackend.check and ann_reference refuse with one line naming the node."""
    node, nodes = BROKEN[case]
    g = Graph(tuple(nodes))
    x = np.zeros((1, *g.input.shape), np.int64)
    for impl in ("fast", "reference"):
        with pytest.raises(IRError) as exc:
            simulate(g, x, 2, impl=impl)
        one_line(exc, node)
    with pytest.raises(IRError) as exc:
        ann_reference(g, x, 2)
    one_line(exc, node)
    reasons = CpuSimBackend().check(g)
    assert len(reasons) == 1 and reasons[0].startswith(node)
