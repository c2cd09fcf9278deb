"""An independent oracle: the IR equations for three single neurons written out in plain Python
ints, straight from the documentation (not through ``Schedule``), agree with both the reference
interpreter and the fast simulator on every step's spike, v, current and readout.

The graph ``x -> A -> B -> C -> readout`` has shortcuts ``A -> C`` and ``A -> readout``, so under
two_phase (window 3) A's spikes reach C one window late and the readout two windows late; A
saturates its int8 state; SRP (tau 3) latches one open and one closed gate; each runs in both
neuron modes."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Dense, Graph, IFPopulation, Input, IntT, Readout, Schedule

W, TAU, STEPS = 3, 3, 6
DEPTH = {"A": 1, "B": 2, "C": 3, "out": 4}            # readout at D + 1 with D = 3
NEURONS = {  # name: (theta, v0, bias, state bits)
    "A": (60, 30, 0, 8),
    "B": (100, 0, -6, 24),
    "C": (45, 10, -15, 24),
}
SYNAPSES = {  # name: (source, target, weight, weight_exp)
    "a": ("x", "A", 5, 0), "b": ("A", "B", 70, 0), "c": ("B", "C", 50, 0), "s": ("A", "C", -40, -1),
    "r": ("C", "out", 7, 0), "q": ("A", "out", 3, 1),
}
READOUT_BIAS = 2
X = 9


def graph(schedule: Schedule, reset: str, compare: str) -> Graph:
    nodes: list = [Input("x", (1,), bits=4)]
    for syn, (src, _, w, e) in SYNAPSES.items():
        nodes.append(Dense(syn, src, [[w]], weight_exp=e))
    for name, (theta, v0, bias, bits) in NEURONS.items():
        sources = tuple(s for s, (_, tgt, _, _) in SYNAPSES.items() if tgt == name)
        nodes.append(IFPopulation(name, sources, (1,), threshold=[theta], v0=[v0], bias_mant=[bias],
                                  reset=reset, compare=compare, state_t=IntT(bits)))
    nodes.append(Readout("out", ("r", "q"), (1,), bias_mant=[READOUT_BIAS]))
    return Graph(tuple(nodes), schedule=schedule)


def oracle(kind: str, reset: str, compare: str, total: int) -> dict[str, list[int]]:
    """Per-step lists ``{name}.s``, ``{name}.v``, ``{name}.I`` and ``out.acc``, in Python ints."""
    v = {n: p[1] for n, p in NEURONS.items()}
    gate = {n: 1 for n in NEURONS}
    emitted: dict[str, dict[int, int]] = {n: {} for n in NEURONS}
    acc, log = 0, {}

    def arriving(src: str, t: int, consumer: str) -> int:
        if src == "x":
            return X
        delay = (DEPTH[consumer] - 1 - DEPTH[src]) * W if kind == "two_phase" else 0
        return emitted[src].get(t - delay, 0)

    def current(target: str, t: int) -> int:
        total_i = 0
        for src, tgt, w, e in SYNAPSES.values():
            if tgt == target:
                raw = w * arriving(src, t, target)
                total_i += raw << e if e >= 0 else raw >> -e           # Python >> floors
        return total_i

    for t in range(1, total + 1):
        for n, (theta, v0, bias, bits) in NEURONS.items():
            d = DEPTH[n]
            integrate = kind != "two_phase" or (d - 1) * W < t <= d * W
            fire = kind != "two_phase" or d * W < t <= (d + 1) * W
            i_n = current(n, t)
            u = v[n] + i_n + bias if integrate else v[n]
            u = max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, u))
            s = int(fire and (u >= theta if compare == ">=" else u > theta))
            v[n] = u - s * theta if (reset == "subtract" or kind == "two_phase") else u * (1 - s)
            emitted[n][t] = s * gate[n]
            for key, val in ((".s", emitted[n][t]), (".v", v[n]), (".I", i_n)):
                log.setdefault(n + key, []).append(val)
        i_out = current("out", t)
        if kind != "two_phase" or t > 3 * W:
            acc += i_out + READOUT_BIAS
        log.setdefault("out.acc", []).append(acc)
        log.setdefault("out.I", []).append(i_out)
        if kind == "srp" and t == TAU:
            for n, (theta, v0, _, _) in NEURONS.items():
                gate[n] = int(1000 * v[n] > theta)
                v[n] = v0
            acc = 0
            log["gates"] = [gate[n] for n in NEURONS]
    return log


@pytest.mark.parametrize("impl", ["reference", "fast"])
@pytest.mark.parametrize("reset, compare", [("subtract", ">="), ("zero", ">")])
@pytest.mark.parametrize("schedule", [Schedule(), Schedule("srp", tau=TAU), Schedule("two_phase", window=W)],
                         ids=lambda s: s.kind)
def test_simulators_match_oracle(schedule: Schedule, reset: str, compare: str, impl: str) -> None:
    """Spikes, v and summed currents of A, B, C and the readout equal the oracle at every step."""
    g = graph(schedule, reset, compare)
    total = schedule.total_steps(STEPS, 3)
    tr = simulate(g, np.array([[X]]), STEPS, probes="all", record_v=True, record_current=True, impl=impl)
    want = oracle(schedule.kind, reset, compare, total)
    for n in NEURONS:
        assert tr.spikes[n][:, 0, 0].tolist() == want[n + ".s"], n
        assert tr.v[n][:, 0, 0].tolist() == want[n + ".v"], n
        assert tr.current[n][:, 0, 0].tolist() == want[n + ".I"], n
    assert tr.current["out"][:, 0, 0].tolist() == want["out.I"]
    assert tr.readout[:, 0, 0].tolist() == want["out.acc"]


def test_oracle_exercises_delays_latch_and_saturation() -> None:
    """The oracle's scenario really contains what the comparison is meant to cover."""
    tp = oracle("two_phase", "subtract", ">=", 4 * W)
    a_spikes = [t + 1 for t, s in enumerate(tp["A.s"]) if s]
    assert a_spikes and all(W < t <= 2 * W for t in a_spikes)                 # A fires in window 2
    shortcut_steps = [t + 1 for t, i in enumerate(tp["C.I"]) if i < 0]      # only A -> C is negative
    assert shortcut_steps and all(2 * W < t <= 3 * W for t in shortcut_steps)   # arrives one window late
    assert any(i != 0 for i in tp["out.I"][3 * W:])                          # readout window gets input
    assert max(tp["A.v"]) == 127                                             # int8 saturation
    assert sorted(oracle("srp", "subtract", ">=", TAU + STEPS)["gates"]) == [0, 1, 1]
