"""The simulator satisfies the exact layer-local identities of methods.md §0.3 and the schedule
semantics of §3 (SRP) and §4.1 (SpikeConverter A):

I1 conservation, I2 0 <= N <= T, I3 constant drive (including c < 0 and c >= theta), I4 no
"ANN>0 and SNN=0" at T = L with v0 = theta/2, I5 the categories computed from counts equal those
computed from v(T); SRP with an all-ones gate equals a plain run, phase-A activity never reaches
the readout and gated neurons stay silent; two_phase equals the integer ANN reference exactly
(so the order of spikes inside a window is irrelevant).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Conv, Dense, Graph, IFPopulation, Input, Readout, Schedule
from neurodeploy.ir.random_graph import random_cnn, random_dag, random_inputs, random_mlp
from neurodeploy.reference import ann_reference, layer_local_counts, mismatch_categories

KW = dict(probes="all", record_v=True, record_current=True)


def plain_runs():
    """Plain-schedule traces of random chains and DAGs (summed currents into merges)."""
    for seed in range(3):
        for make in (random_mlp, random_cnn, random_dag):
            g = make(seed)
            yield g, simulate(g, random_inputs(g, 6, seed), 4 + 2 * seed, **KW)


def test_i1_conservation_and_i2_bounds() -> None:
    """I1 ``v(T) = v0 + sum_t (I_t + b) - N theta`` with I the summed current, and I2 0 <= N <= T."""
    for g, tr in plain_runs():
        for p in g.populations():
            N = tr.spike_counts(p.name)
            drive = (tr.current[p.name] + p.bias).sum(axis=0)
            np.testing.assert_array_equal(tr.v[p.name][-1], p.v0 + drive - N * p.threshold)
            assert N.min() >= 0 and N.max() <= tr.steps


def constant_drive_graph(w: np.ndarray, bias: np.ndarray, theta: np.ndarray, v0: np.ndarray) -> Graph:
    n = len(w)
    inp = Input("input", (n,), bits=8)
    fc = Dense("fc", "input", np.diag(w))
    pop = IFPopulation("if", "fc", (n,), threshold=theta, v0=v0, bias_mant=bias)
    fc2 = Dense("fc2", "if", np.ones((1, n), np.int64))
    return Graph((inp, fc, pop, fc2, Readout("out", "fc2", (1,), bias_mant=[0])))


@pytest.mark.parametrize("T", [1, 3, 8, 13])
def test_i3_constant_drive(T: int) -> None:
    """I3: a constant drive c gives N = clip(floor((T c + v0) / theta), 0, T), incl. c < 0 and c >= theta."""
    rng = np.random.default_rng(T)
    n = 400
    w, bias = rng.integers(-128, 128, n), rng.integers(-300, 300, n)
    theta = rng.integers(1, 2000, n)
    v0 = rng.integers(0, theta)                          # 0 <= v0 < theta
    x = rng.integers(0, 256, (3, n))
    tr = simulate(constant_drive_graph(w, bias, theta, v0), x, T, probes="all")
    c = w * x + bias
    assert (c < 0).any() and (c >= theta).any()          # both extreme regimes are covered
    np.testing.assert_array_equal(tr.spike_counts("if"), np.clip((T * c + v0) // theta, 0, T))


def test_i4_and_i5_layer_local() -> None:
    """I5: layer-local counts from inputs equal those from v(T); I4: no ANN>0 and SNN=0 (v0 = theta/2)."""
    for g, tr in plain_runs():
        for p in g.populations():
            n_in, n_res, N = layer_local_counts(g, tr, p.name)
            np.testing.assert_array_equal(n_in, n_res)                    # I5
            cats = mismatch_categories(n_in, N)
            assert cats["ann_pos_snn0"] == 0                              # I4 (v0 = theta//2)
            assert sum(cats.values()) == N.size
            vT, th = tr.v[p.name][-1], p.threshold
            flagged = (N >= 1) & (vT < (1 - N) * th)                      # I5: ANN=0 and SNN>0
            np.testing.assert_array_equal(flagged, (n_in == 0) & (N > 0))


def positive_mlp(seed: int, schedule: Schedule) -> Graph:
    """Weights in {1, 2}, positive biases, theta = 997, v0 = 498: after one pre-simulation step
    every drive is in [1, 498), so no neuron fires yet and every v is in (0, theta): gate = 1."""
    g = random_mlp(seed, schedule=schedule)
    nodes = []
    for n in g.nodes:
        if isinstance(n, Dense):
            n = dataclasses.replace(n, weight=np.abs(n.weight) % 2 + 1, weight_exp=0)
        elif isinstance(n, IFPopulation):
            th = np.full(n.shape, 997)
            n = dataclasses.replace(n, threshold=th, v0=th // 2, bias_mant=np.abs(n.bias_mant) + 1)
        nodes.append(n)
    return g.with_nodes(nodes)


def test_srp_with_all_ones_gate_equals_plain() -> None:
    """SRP whose gate is all ones (checked) equals a plain run after the latch."""
    tau, T = 1, 6
    for seed in range(3):
        srp_g = positive_mlp(seed, Schedule("srp", tau=tau))
        x = random_inputs(srp_g, 8, seed)
        srp = simulate(srp_g, x, T, **KW)
        for p in srp_g.populations():                                      # precondition: gate = 1
            assert (1000 * srp.v[p.name][tau - 1] > p.threshold).all()
        plain = simulate(srp_g.with_schedule(Schedule()), x, T, **KW)
        np.testing.assert_array_equal(srp.readout[tau:], plain.readout)
        for p in srp_g.populations():
            np.testing.assert_array_equal(srp.spikes[p.name][tau:], plain.spikes[p.name])
            np.testing.assert_array_equal(srp.v[p.name][tau:], plain.v[p.name])


@pytest.mark.parametrize("make", [random_mlp, random_cnn, random_dag])
def test_srp_phase_a_isolated_and_gate_silences(make) -> None:
    """Phase-A activity never reaches the readout, gated neurons stay silent, I5 holds at tau."""
    tau = 3
    g = make(5, schedule=Schedule("srp", tau=tau))
    tr = simulate(g, random_inputs(g, 6, 1), 5, **KW)
    ro = g.readout
    after = np.cumsum(tr.current[ro.name][tau:] + ro.bias, axis=0)        # phase B only
    np.testing.assert_array_equal(tr.readout[tau:], after)
    gated_any = False
    for p in g.populations():
        gate = 1000 * tr.v[p.name][tau - 1] > p.threshold
        gated_any |= bool((~gate).any())
        assert not tr.spikes[p.name][tau:][:, ~gate].any()                 # gated: silent in phase B
        n_in, _, N = layer_local_counts(g, tr, p.name, 0, tau)            # §3.5: I5 at end of phase A
        flagged = (N >= 1) & (tr.v[p.name][tau - 1] < (1 - N) * p.threshold)
        np.testing.assert_array_equal(flagged, (n_in == 0) & (N > 0))
    assert gated_any


@pytest.mark.parametrize("compare", [">=", ">"])
@pytest.mark.parametrize("make", [random_mlp, random_cnn, random_dag])
def test_two_phase_equals_integer_ann(make, compare: str) -> None:
    """two_phase at window L equals the integer ANN reference (weight_exp >= 0), chains and DAGs."""
    for L in (1, 4, 7):
        g = make(L, compare=compare, schedule=Schedule("two_phase", window=L))
        g = g.with_nodes([dataclasses.replace(n, weight_exp=max(n.weight_exp, 0))
                          if isinstance(n, (Dense, Conv)) else n for n in g.nodes])
        x = random_inputs(g, 5, L)
        tr = simulate(g, x, L, probes="all")
        ann = ann_reference(g, x, L)
        for p in g.populations():
            np.testing.assert_array_equal(tr.spike_counts(p.name), ann.counts[p.name], err_msg=p.name)
        np.testing.assert_array_equal(tr.readout[-1], ann.logits)
