"""NIR export of hand-built graphs, read back with ``nir.read``.

Proves: (1) every IR primitive maps to the NIR node and fields stated in
:mod:`neurodeploy.interop.nir_export`, with the exact float values the integers stand for
(hand-computed: ``W * 2**e``, ``bias_mant << bias_exp``, ``theta``; ``theta - 1/2`` for ``>=``);
(2) a merge is several edges into one IF and only the first synapse carries the bias; (3) a
concatenation becomes per-source synapses whose sum equals the original synapse on random
spikes (numpy oracle); (4) what NIR cannot express is refused with one line naming node and
field, or, with ``allow_loss``, exported with a loss note in the node's metadata; (5) the
saturation bound matches a hand count.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurodeploy.interop.nir_export import to_nir, write_nir
from neurodeploy.interop.nir_policy import ExportRefused, review, saturation_free_steps
from neurodeploy.ir.dtypes import IntT
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import Concat, Conv, Dense, Flatten, IFPopulation, Input, Readout, SumPool

nir = pytest.importorskip("nir")
STATE_24 = IntT(24)


def _pop(name: str, sources: tuple[str, ...] | str, shape: tuple[int, ...], theta: int = 5, *, bias: int = 0,
         bias_exp: int = 0, reset: str = "zero", compare: str = ">", v0: int = 0,
         state_t: IntT = STATE_24) -> IFPopulation:
    return IFPopulation(name, sources, shape, threshold=np.full(shape, theta), v0=np.full(shape, v0),
                        bias_mant=np.full(shape, bias), bias_exp=bias_exp, reset=reset,  # type: ignore[arg-type]
                        compare=compare, state_t=state_t)                              # type: ignore[arg-type]


def _mlp(**pop_kwargs: object) -> Graph:
    """input(3) -> fc1 (W1 << 2) -> if1 (theta 5/7, bias [1, -2] << 1) -> fc2 (W2) -> out (bias 3)."""
    w1 = np.array([[1, -2, 3], [0, 4, -1]])
    if1 = _pop("if1", "fc1", (2,), **pop_kwargs)                                   # type: ignore[arg-type]
    if1 = IFPopulation("if1", ("fc1",), (2,), threshold=np.array([5, 7]), v0=if1.v0, bias_mant=np.array([1, -2]),
                       bias_exp=1, reset=if1.reset, compare=if1.compare, state_t=if1.state_t)
    return Graph((Input("input", (3,), bits=4, scale=1 / 16), Dense("fc1", "input", w1, weight_exp=2), if1,
                  Dense("fc2", "if1", np.array([[2, -3]])),
                  Readout("out", ("fc2",), (1,), bias_mant=np.array([3]))))


def _roundtrip(graph: Graph, path: Path, type_check: bool = True) -> nir.NIRGraph:
    write_nir(graph, path)
    return nir.read(str(path), type_check=type_check)


def test_dense_if_readout_values_are_the_exact_floats(tmp_path: Path) -> None:
    g = _roundtrip(_mlp(), tmp_path / "m.nir")
    assert sorted(g.edges) == sorted([("input", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "out"),
                                      ("out", "output")])
    assert isinstance(g.nodes["input"], nir.Input) and list(g.nodes["input"].input_type["input"]) == [3]
    fc1, if1, fc2, out = (g.nodes[k] for k in ("fc1", "if1", "fc2", "out"))
    assert isinstance(fc1, nir.Affine) and isinstance(fc2, nir.Affine)
    assert np.array_equal(fc1.weight, [[4, -8, 12], [0, 16, -4]])                  # W * 2**2
    assert np.array_equal(fc1.bias, [2, -4])                                       # [1, -2] << 1
    assert isinstance(if1, nir.IF)
    assert np.array_equal(if1.v_threshold, [5, 7]) and np.array_equal(if1.r, [1, 1])
    assert np.array_equal(if1.v_reset, [0, 0])
    assert np.array_equal(fc2.weight, [[2, -3]]) and np.array_equal(fc2.bias, [3])
    assert isinstance(out, nir.I) and np.array_equal(out.r, [1])
    assert isinstance(g.nodes["output"], nir.Output)
    assert g.metadata["time"].startswith("one NIR time unit = one logical step") and g.metadata["losses"] == 0
    assert if1.metadata["neurodeploy_node"] == "IFPopulation if1"


def test_greater_equal_is_threshold_minus_a_half() -> None:
    export = to_nir(_mlp(compare=">="))
    assert np.array_equal(export.graph.nodes["if1"].v_threshold, [4.5, 6.5])
    assert [(n.node, n.kind) for n in export.notes] == [("if1", "exact")] and not export.losses


def _conv_net() -> Graph:
    rng = np.random.default_rng(0)
    k = rng.integers(-5, 6, size=(3, 2, 3, 2))
    conv = Conv("conv", "input", k, stride=(2, 1), padding=(1, 0), dilation=(1, 2), weight_exp=1)
    shape = conv.out_shape([(2, 6, 7)])                                            # (3, 3, 5)
    bias = np.broadcast_to(np.array([1, -1, 2])[:, None, None], shape)
    pop = IFPopulation("if1", ("conv",), shape, threshold=np.full(shape, 9), v0=np.zeros(shape, np.int64),
                       bias_mant=bias, bias_exp=2, reset="zero", compare=">")
    pool = SumPool("pool", "if1", kernel=(2, 2), stride=(1, 2))
    pshape = pool.out_shape([shape])
    fc = Dense("fc", "flat", rng.integers(-3, 4, size=(4, int(np.prod(pshape)))))
    return Graph((Input("input", (2, 6, 7), bits=3), conv, pop, pool, Flatten("flat", "pool"), fc,
                  Readout("out", ("fc",), (4,), bias_mant=np.zeros(4, np.int64))))


def test_conv_pool_flatten_fields(tmp_path: Path) -> None:
    graph = _conv_net()
    notes = to_nir(graph).notes
    assert [(n.node, n.kind) for n in notes] == [("conv", "exact")] and "type_check=False" in notes[0].text
    g = _roundtrip(graph, tmp_path / "c.nir", type_check=False)     # nir 1.0.8 assumes square kernels
    conv = g.nodes["conv"]
    assert isinstance(conv, nir.Conv2d)
    assert np.array_equal(conv.weight, graph.node("conv").weight * 2)
    assert tuple(conv.stride) == (2, 1) and tuple(conv.padding) == (1, 0) and tuple(conv.dilation) == (1, 2)
    assert conv.groups == 1 and np.array_equal(conv.bias, [4, -4, 8])               # per channel, << 2
    pool = g.nodes["pool"]
    assert isinstance(pool, nir.SumPool2d)
    assert list(pool.kernel_size) == [2, 2] and list(pool.stride) == [1, 2] and list(pool.padding) == [0, 0]
    flat = g.nodes["flat"]
    assert isinstance(flat, nir.Flatten) and (flat.start_dim, flat.end_dim) == (0, -1)
    assert list(flat.input_type["input"]) == [3, 2, 2] and list(flat.output_type["output"]) == [12]
    assert isinstance(g.nodes["fc"], nir.Affine) and np.array_equal(g.nodes["fc"].bias, np.zeros(4))


def test_merge_is_two_edges_and_the_bias_rides_on_the_first_synapse() -> None:
    a = Dense("a", "input", np.array([[1, 2], [3, 4]]))
    b = Dense("b", "input", np.array([[5, 6], [7, 8]]), weight_exp=1)
    graph = Graph((Input("input", (2,)), a, b, _pop("if1", ("a", "b"), (2,), bias=3),
                   Dense("fc", "if1", np.eye(2, dtype=np.int64)), Readout("out", ("fc",), (2,), np.zeros(2, np.int64))))
    g = to_nir(graph).graph
    assert ("a", "if1") in g.edges and ("b", "if1") in g.edges
    assert isinstance(g.nodes["a"], nir.Affine) and np.array_equal(g.nodes["a"].bias, [3, 3])
    assert isinstance(g.nodes["b"], nir.Linear) and np.array_equal(g.nodes["b"].weight, [[10, 12], [14, 16]])


def test_concat_becomes_one_synapse_per_source_with_the_same_sum() -> None:
    """cat(if_a (2 ch), if_b (3 ch)) -> flatten -> fc: two flattens, two synapse pieces, and
    W [flat(a); flat(b)] = W_0 flat(a) + W_1 flat(b) on random spikes."""
    rng = np.random.default_rng(1)
    ka, kb = rng.integers(-3, 4, size=(2, 1, 1, 1)), rng.integers(-3, 4, size=(3, 1, 1, 1))
    w = rng.integers(-9, 10, size=(4, 5 * 2 * 2))
    graph = Graph((Input("input", (1, 2, 2)), Conv("ca", "input", ka), Conv("cb", "input", kb),
                   _pop("if_a", "ca", (2, 2, 2)), _pop("if_b", "cb", (3, 2, 2)), Concat("cat", ("if_a", "if_b")),
                   Flatten("flat", "cat"), Dense("fc", "flat", w), Readout("out", ("fc",), (4,), np.arange(4))))
    g = to_nir(graph).graph
    assert "cat" not in g.nodes and "fc" not in g.nodes
    assert {("if_a", "flat__0"), ("if_b", "flat__1"), ("flat__0", "fc__0"), ("flat__1", "fc__1"),
            ("fc__0", "out"), ("fc__1", "out")} <= set(g.edges)
    w0, w1 = g.nodes["fc__0"], g.nodes["fc__1"]
    assert isinstance(w0, nir.Affine) and isinstance(w1, nir.Linear)
    assert np.array_equal(w0.bias, np.arange(4))
    sa, sb = rng.integers(0, 2, size=(2, 2, 2)), rng.integers(0, 2, size=(3, 2, 2))
    whole = w @ np.concatenate([sa, sb]).reshape(-1)
    assert np.array_equal(w0.weight @ sa.reshape(-1) + w1.weight @ sb.reshape(-1), whole)


def test_schedules_are_always_refused() -> None:
    for sched, word in ((Schedule("srp", tau=4), "SRP"), (Schedule("two_phase", window=4), "two-phase")):
        with pytest.raises(ExportRefused, match=f"graph.schedule: .*{word}.*--method qcfs") as err:
            to_nir(_mlp().with_schedule(sched), allow_loss=True)
        assert "\n" not in str(err.value)


def test_bias_varying_within_a_channel_is_always_refused() -> None:
    graph = _conv_net()
    pop = graph.node("if1")
    bias = np.array(pop.bias_mant)
    bias[0, 0, 0] += 1
    broken = graph.with_nodes([IFPopulation("if1", pop.sources, pop.shape, pop.threshold, pop.v0, bias,
                                            pop.bias_exp, "zero", ">") if n.name == "if1" else n
                               for n in graph.nodes])
    with pytest.raises(ExportRefused, match=r"^if1.bias_mant: varies within a channel"):
        to_nir(broken, allow_loss=True)


@pytest.mark.parametrize(("kwargs", "field"), [({"reset": "subtract", "compare": ">="}, "if1.reset"),
                                               ({"v0": 2}, "if1.v0")])
def test_lossy_features_are_refused_unless_allowed(kwargs: dict, field: str) -> None:
    with pytest.raises(ExportRefused, match=f"^{field}: .*--allow-loss"):
        to_nir(_mlp(**kwargs))
    export = to_nir(_mlp(**kwargs), allow_loss=True)
    assert [n.node + "." + n.field for n in export.losses] == [field]
    assert field in export.graph.nodes["if1"].metadata["neurodeploy_loss"]
    assert export.graph.metadata["losses"] == 1


def test_negative_weight_exponent_is_a_loss() -> None:
    graph = _mlp()
    graph = graph.with_nodes([Dense("fc2", "if1", np.array([[2, -3]]), weight_exp=-1) if n.name == "fc2" else n
                              for n in graph.nodes])
    with pytest.raises(ExportRefused, match=r"^fc2.weight_exp: -1 floors"):
        review(graph)
    export = to_nir(graph, allow_loss=True)
    assert np.array_equal(export.graph.nodes["fc2"].weight, [[1.0, -1.5]])
    assert "floors" in export.graph.nodes["fc2"].metadata["neurodeploy_loss"]


def test_saturation_free_steps_hand_count() -> None:
    """int8 state [-128, 127], theta 10, |I| <= 20, |bias| 2: from below (0 - (-128)) // 22 = 5
    steps; from above a neuron at 127 > 10 fires clipped or not.  With theta = hi = 127 a clipped
    u can never exceed it (0 steps)."""
    pop = _pop("p", "s", (1,), theta=10, bias=2, state_t=IntT(8))
    assert saturation_free_steps(pop, 20) == 5
    assert saturation_free_steps(_pop("p", "s", (1,), theta=127, state_t=IntT(8)), 20) == 0


def test_every_ir_node_type_has_a_nir_rendering() -> None:
    """The exporter's visitor table covers the IR's closed set of node types."""
    from neurodeploy.interop.nir_export import RENDERERS
    from neurodeploy.ir.nodes import NODE_TYPES
    assert set(RENDERERS) == set(NODE_TYPES.values())
