"""integerize on hand-built DAGs: the merge equations W_int,i 2**e_i = W_i u_i Theta / lambda with
Theta = 2**k chosen jointly over all branches, per-channel units through concat, and min_exponent."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.convert.integerize import integerize, min_exponent
from neurodeploy.convert.stages import FloatNetwork, FloatPopulation, FloatSynapse, InputSpec, TensorOp
from neurodeploy.ir.dtypes import IRError

SPEC = InputSpec((4,), 8, 1 / 4)


def _dense(name: str, src: str, w: np.ndarray, b: np.ndarray | None = None, **kw: object) -> FloatSynapse:
    return FloatSynapse(name, "dense", src, np.asarray(w, float), np.zeros(len(w)) if b is None else b, **kw)  # type: ignore[arg-type]


def test_min_exponent() -> None:
    assert min_exponent(np.array([0.0, 3.0, -7.0])) == 0
    assert min_exponent(np.array([0.5, 0.25])) == 2
    assert min_exponent(np.array([3 * 2.0**-9])) == 9
    assert min_exponent(np.array([0.1])) > 40
    with pytest.raises(IRError, match="non-finite"):
        min_exponent(np.array([np.nan]))


def test_identity_shortcut_sets_theta_jointly() -> None:
    """a (lambda 1/4) -> c (lambda 4) by identity + a dense branch: W_eff,id = 1/16 needs Theta >= 16."""
    eye = np.eye(4)
    nodes = (
        FloatPopulation("a_if", (_dense("a_syn", "input", 2 * eye),), threshold=0.25),
        FloatPopulation("c_if", (_dense("c_syn", "a_if", 16 * eye[::-1]),
                                 _dense("c_syn2", "a_if", eye, identity=True)), threshold=4.0),
        FloatPopulation("out", (_dense("out_syn", "c_if", eye),)),
    )
    graph, report = integerize(FloatNetwork(SPEC, nodes, levels=4))
    c = report.layer("c_if")
    assert report.exact and c.threshold == 16 and [b.synapse for b in c.branches] == ["c_syn", "c_syn2"]
    ident, main = graph.node("c_syn2"), graph.node("c_syn")
    assert np.array_equal(ident.weight << ident.weight_exp, eye.astype(int))         # 1/16 * 16
    assert np.array_equal(main.weight << main.weight_exp, 16 * eye[::-1].astype(int))  # 16 * 1/4 / 4 * 16
    assert graph.node("c_if").sources == ("c_syn", "c_syn2")
    assert int(graph.node("c_if").v0.flat[0]) == 8                                     # v0 = Theta / 2


def test_concat_units_per_channel_and_inexact_report() -> None:
    """concat(a lambda 1, b lambda 2) -> dense: each input feature carries its own unit."""
    half = np.eye(2, 4)
    nodes = (
        FloatPopulation("a_if", (_dense("a_syn", "input", half),), threshold=1.0),
        FloatPopulation("b_if", (_dense("b_syn", "input", half),), threshold=2.0),
        TensorOp("cat", "concat", ("a_if", "b_if")),
        FloatPopulation("out", (_dense("out_syn", "cat", np.array([[1.0, 0.5, 0.25, 3.0]])),)),
    )
    net = FloatNetwork(SPEC, nodes, levels=4)
    graph, report = integerize(net)
    syn, theta = graph.node("out_syn"), report.layer("out").threshold
    assert np.array_equal(syn.weight << syn.weight_exp, np.array([[1, 0.5, 0.5, 6.0]]) * theta)
    inexact = FloatNetwork(SPEC, nodes[:-1] + (FloatPopulation("out", (_dense("out_syn", "cat",
                                                                             np.array([[0.1, 0, 0, 1.0]])),)),))
    _, report = integerize(inexact)
    out = report.layer("out")
    assert not out.exact and not out.branches[0].exact and 0 < out.max_weight_error < 1e-2
    with pytest.raises(IRError, match="out: no power-of-two threshold"):
        integerize(inexact, allow_inexact=False)


def test_theta_is_lowered_until_the_summed_current_fits_the_target() -> None:
    """W_eff = 0.75 * 1/4 = 3/16 needs Theta = 16 (W_int = 3): the current bound 4 * 3 * 255 = 3060
    exceeds 12-bit currents (2047), so Theta drops to 8, W_int = rint(1.5) = 2, bound 2040 fits;
    the layer is reported inexact with the reason, and an exact mapping is refused."""
    from dataclasses import replace as dc_replace

    from neurodeploy.targets import CPU
    narrow = dc_replace(CPU, name="narrow", current_bits=12)
    nodes = (
        FloatPopulation("a_if", (_dense("a_syn", "input", np.full((2, 4), 0.75)),), threshold=1.0),
        FloatPopulation("out", (_dense("out_syn", "a_if", np.eye(1, 2)),)),
    )
    net = FloatNetwork(SPEC, nodes, levels=4)
    _, wide = integerize(net, reset="zero", compare=">")
    assert wide.layer("a_if").threshold == 16 and wide.layer("a_if").exact
    graph, report = integerize(net, narrow, reset="zero", compare=">")
    a = report.layer("a_if")
    assert a.threshold == 8 and not a.exact and a.accumulator_bound == 2040
    assert "from 2^4 to 2^3" in a.note and "12-bit currents of target narrow" in a.note
    assert np.array_equal(graph.node("a_syn").weight << graph.node("a_syn").weight_exp, np.full((2, 4), 2))
    assert any(a.note in row for row in report.summary_rows())
    with pytest.raises(IRError, match="a_if: summed current bound 3060 exceeds 12-bit .* exact mapping was required"):
        integerize(net, narrow, reset="zero", compare=">", allow_inexact=False)
