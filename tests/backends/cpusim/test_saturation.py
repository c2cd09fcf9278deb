"""The membrane state saturates at its IntT bounds exactly as the IR documents:
``v' = clip(v + I + bias, state_t.lo, state_t.hi)`` *before* the compare and the reset, in both
the reference and the fast simulator (and in the two_phase accumulate window)."""
from __future__ import annotations

import numpy as np
import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Dense, Graph, IFPopulation, Input, IntT, Readout, Schedule


def one_neuron(weight: int, theta: int, v0: int, reset: str, bits: int = 8,
               schedule: Schedule = Schedule()) -> Graph:
    inp = Input("input", (1,), bits=8)
    fc = Dense("fc", "input", [[weight]])
    pop = IFPopulation("if", ("fc",), (1,), threshold=[theta], v0=[v0], bias_mant=[3], reset=reset,
                       state_t=IntT(bits))
    out = Dense("fc2", "if", [[1]])
    return Graph((inp, fc, pop, out, Readout("out", "fc2", (1,), bias_mant=[0])), schedule=schedule)


def expected_plain(current: int, theta: int, v0: int, reset: str, steps: int, st: IntT) -> list[int]:
    v, out = v0, []
    for _ in range(steps):
        u = min(max(v + current + 3, st.lo), st.hi)    # saturate, then fire and reset
        s = int(u >= theta)
        v = u - s * theta if reset == "subtract" else u * (1 - s)
        out.append(v)
    return out


@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("weight, x", [(127, 255), (-128, 255), (1, 40)])
def test_plain_saturation(impl: str, reset: str, weight: int, x: int) -> None:
    """v saturates at int8 before compare and reset, pinned at lo without wrapping."""
    g = one_neuron(weight, theta=100, v0=50, reset=reset)
    tr = simulate(g, np.array([[x]]), 6, probes="all", record_v=True, impl=impl)
    want = expected_plain(weight * x, 100, 50, reset, 6, IntT(8))
    assert tr.v["if"][:, 0, 0].tolist() == want
    if weight == -128:
        assert want[-1] == IntT(8).lo                  # pinned at the lower bound, no wrap


@pytest.mark.parametrize("impl", ["fast", "reference"])
def test_two_phase_accumulate_saturates(impl: str) -> None:
    """The two_phase integrate window saturates too; the fire window ignores the input."""
    g = one_neuron(127, theta=100, v0=0, reset="subtract", schedule=Schedule("two_phase", window=4))
    tr = simulate(g, np.array([[255]]), 4, probes="all", record_v=True, impl=impl)
    v = tr.v["if"][:, 0, 0].tolist()
    assert v[:4] == [127] * 4                          # window 1: integrate, clip at hi = 127
    assert v[4:] == [27, 27, 27, 27]                   # window 2: one spike (127 -> 27), input ignored
    assert tr.spike_counts("if")[0, 0] == 1


def test_readout_is_not_saturated() -> None:
    """The readout accumulator is int64 and never clipped."""
    g = one_neuron(127, theta=1, v0=0, reset="subtract", bits=24)
    tr = simulate(g, np.array([[255]]), 3)
    assert tr.readout[:, 0, 0].tolist() == [1, 2, 3]
