"""Property at the format limits: for both Lava neuron processes (neurodeploy's SubIF and
Lava's stock LIF), a graph drawn AT the TargetSpec limits (thresholds and states at their
maxima, biases at the top of their exponent range, weights at +-2**(bits-1), accumulators
within one bit of the current width, saturating inputs, the widest input, large fan-in) is
either refused by ``LavaBackend(spec).check`` with a message naming a node of the graph, or
runs on Lava with zero mismatches against the CPU simulator (``verify_backend``).  None is
accepted and then diverges.

Also: the one-neuron stock-LIF saturation case (threshold at the state maximum) is refused,
and without the refusal Lava really diverges at logical step 2; one step below the maximum
the same saturating drive verifies exactly; the negative-drift bound refuses at check time
for the target's horizon and at run time for the run's own steps per sample.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if importlib.util.find_spec("lava") is None:
    pytest.skip("lava-nc not installed", allow_module_level=True)

from neurodeploy.backends.lava.backend import LavaBackend
from neurodeploy.backends.lava.checks import LavaPlanError

from neurodeploy.harness.verify import verify_backend
from neurodeploy.ir.dtypes import IntT
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Dense, IFPopulation, Input, Node, Readout
from neurodeploy.targets import LAVA_SIM_LIF, LAVA_SIM_SUBIF, TargetSpec

pytestmark = pytest.mark.lava
RUNS = settings(max_examples=9, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
LIF_RUNS = settings(RUNS, max_examples=18)          # most stock-LIF draws are refused (no Lava run)
SIGNS = ("mixed", "excitatory", "inhibitory")


def _exp_at_limit(w: np.ndarray, x_max: int, spec: TargetSpec, delta: int) -> int:
    """The weight exponent putting ``max_i sum_j |w_ij| * x_max * 2**e`` within one bit of the
    target's current width (``delta = 0``) or one bit beyond it (``delta = 1``)."""
    fan = int(np.abs(w).sum(axis=1).max(initial=1)) * x_max
    lo, hi = spec.weight_exp_range
    return int(np.clip(spec.current_bits - 1 - fan.bit_length() + delta, lo, hi))


def _weights(rng: np.random.Generator, shape: tuple[int, int], spec: TargetSpec, sign: str) -> np.ndarray:
    t = IntT(spec.weight_bits)
    w = rng.integers(t.lo, t.hi + 1, size=shape)
    edge = rng.random(shape) < 0.4                     # many weights at the extremes
    w[edge] = rng.choice([t.lo, t.hi], size=int(edge.sum()))
    if sign == "excitatory":
        w = np.abs(w).clip(0, t.hi)
    elif sign == "inhibitory":
        w = -np.abs(w)
    return w


def _population(rng: np.random.Generator, name: str, src: str, n: int, spec: TargetSpec,
                at_max: bool, bias_sign: int) -> IFPopulation:
    state = IntT(spec.state_bits)
    top = min((1 << spec.threshold_bits) - 1, state.hi)
    lif = spec.lava_neuron == "lif"
    if lif:                                            # one threshold: the maximum or one below
        th = np.full(n, top if at_max else top - 1)
    else:                                              # per neuron, at or near the maximum
        th = np.where(rng.random(n) < 0.5, top, rng.integers(1, top, size=n))
    m = 1 << (spec.bias_mant_bits - 1)
    mant = rng.choice([-m, m - 1, 0], size=n) if bias_sign == 0 else np.full(n, m - 1 if bias_sign > 0 else -m)
    v0 = np.zeros(n, np.int64) if lif else rng.choice([state.lo, state.hi, 0], size=n)
    reset = spec.reset_modes[int(rng.integers(len(spec.reset_modes)))]
    compare = spec.compare_modes[int(rng.integers(len(spec.compare_modes)))]
    return IFPopulation(name, src, (n,), th, v0, mant, bias_exp=spec.bias_exp_range[1], reset=reset,
                        compare=compare, state_t=state)


def limit_mlp(spec: TargetSpec, seed: int, n_in: int, hidden: int, bits: int, deltas: tuple[int, int],
              at_max: bool, sign: str) -> Graph:
    """``input -> fc1 -> if1 (hidden) -> fc2 -> if2 (3) -> readout`` at the limits of ``spec``."""
    rng = np.random.default_rng(seed)
    x_max = (1 << bits) - 1
    w1 = _weights(rng, (hidden, n_in), spec, "mixed")
    w2 = _weights(rng, (3, hidden), spec, sign)
    bias_sign = {"mixed": 0, "excitatory": 1, "inhibitory": -1}[sign]
    nodes: list[Node] = [
        Input("input", (n_in,), bits=bits),
        Dense("fc1", "input", w1, weight_exp=_exp_at_limit(w1, x_max, spec, deltas[0])),
        _population(rng, "if1", "fc1", hidden, spec, at_max, 0),
        Dense("fc2", "if1", w2, weight_exp=_exp_at_limit(w2, 1, spec, deltas[1])),
        _population(rng, "if2", "fc2", 3, spec, at_max, bias_sign),
        Dense("fo", "if2", rng.integers(-128, 128, size=(2, 3))),
        Readout("out", "fo", (2,), bias_mant=rng.integers(-8, 9, size=2)),
    ]
    return Graph(tuple(nodes), meta={"origin": f"limit_mlp({spec.name}, {seed})"})


def one_neuron(w: int, threshold: int, spec: TargetSpec, *, bits: int = 8, exp: int = 2,
               v0: int = 0, bias: int = 0) -> Graph:
    """``input (1) -> fc -> if1 (1 neuron) -> readout``: the saturation probe."""
    lif = spec.lava_neuron == "lif"
    nodes: list[Node] = [
        Input("input", (1,), bits=bits), Dense("fc", "input", np.array([[w]]), weight_exp=exp),
        IFPopulation("if1", "fc", (1,), np.array([threshold]), np.array([v0]), np.array([bias]),
                     reset="zero" if lif else "subtract", compare=">" if lif else ">=",
                     state_t=IntT(spec.state_bits)),
        Dense("fo", "if1", np.array([[1]])), Readout("out", "fo", (1,), bias_mant=np.array([0])),
    ]
    return Graph(tuple(nodes))


def _saturating_inputs(g: Graph, seed: int) -> np.ndarray:
    hi = (1 << g.input.bits) - 1
    rand = np.random.default_rng(seed).integers(0, hi + 1, size=g.input.shape)
    return np.stack([np.full(g.input.shape, hi), rand]).astype(np.int64)


def _names_a_node(issue: str, g: Graph) -> bool:
    head = re.match(r"([\w@~-]+)", issue)
    return head is not None and head.group(1) in {n.name for n in g.nodes}


def refused_or_exact(g: Graph, spec: TargetSpec, x: np.ndarray, steps: int) -> str:
    """The property: refused with a message naming a node, or zero mismatches on Lava."""
    be = LavaBackend(spec)
    found = be.check(g)
    if found:
        assert all(_names_a_node(i, g) for i in found), found
        return "refused"
    rep = verify_backend(g, x, steps, backend=be)
    assert rep.ok, (rep.mismatches, rep.first_divergence)
    return "exact"


LIMIT_GRAPHS = {"seed": st.integers(0, 10_000), "n_in": st.integers(1, 4), "hidden": st.integers(4, 24),
                "deltas": st.tuples(st.sampled_from([-1, 0, 0, 1]), st.sampled_from([-1, 0, 0, 1])),
                "at_max": st.booleans(), "sign": st.sampled_from(SIGNS), "steps": st.integers(1, 6)}


@RUNS
@given(bits=st.sampled_from([1, 4, LAVA_SIM_SUBIF.input_bits]), **LIMIT_GRAPHS)
def test_subif_at_limits_refused_or_exact(seed: int, n_in: int, hidden: int, bits: int,
                                          deltas: tuple[int, int], at_max: bool, sign: str,
                                          steps: int) -> None:
    g = limit_mlp(LAVA_SIM_SUBIF, seed, n_in, hidden, bits, deltas, at_max, sign)
    refused_or_exact(g, LAVA_SIM_SUBIF, _saturating_inputs(g, seed), steps)


@LIF_RUNS
@given(bits=st.sampled_from([1, 4, 8]), **LIMIT_GRAPHS)
def test_stock_lif_at_limits_refused_or_exact(seed: int, n_in: int, hidden: int, bits: int,
                                              deltas: tuple[int, int], at_max: bool, sign: str,
                                              steps: int) -> None:
    """The LIF target is checked for samples of exactly ``steps`` (its horizon set to them),
    so graphs whose negative drift is only dangerous later are accepted and run."""
    spec = replace(LAVA_SIM_LIF, max_sample_steps=steps)
    g = limit_mlp(spec, seed, n_in, hidden, bits, deltas, at_max, sign)
    refused_or_exact(g, spec, _saturating_inputs(g, seed), steps)


def test_one_neuron_lif_saturation_refused_and_real(monkeypatch: pytest.MonkeyPatch) -> None:
    """I = 70 * 255 << 2 = 71400 per step: v saturates at step 2 at the state maximum 2**17 - 1
    = threshold.  The IR does not fire (v == vth); Lava's clip 2**23 - 1 > vth << 6 fires."""
    g = one_neuron(70, (1 << 17) - 1, LAVA_SIM_LIF)
    x = np.array([[255]])
    found = LavaBackend(LAVA_SIM_LIF).check(g)
    assert any(i.startswith("if1.threshold") for i in found), found
    # the refusal is necessary: with both proofs switched off Lava diverges at logical step 2
    from neurodeploy.backends.lava import emit, network
    monkeypatch.setattr(emit, "check_plan_input", lambda graph, spec, period=None: None)
    monkeypatch.setattr(network, "plan_issues", lambda plan: [])
    rep = verify_backend(g, x, 3, backend=LavaBackend(LAVA_SIM_LIF))
    d = rep.first_divergence
    assert d is not None and (d.layer, d.step, d.expected_spike, d.actual_spike) == ("if1", 1, 0, 1)


@pytest.mark.parametrize("w,th", [(70, (1 << 17) - 2), (-70, 1)], ids=["positive", "negative"])
def test_one_neuron_lif_saturation_below_max_is_exact(w: int, th: int) -> None:
    """Saturating one step below the maximum threshold: both fire at the clip (positive); a
    constant negative drive clips at the negative end where v is read back equal (negative)."""
    g = one_neuron(w, th, LAVA_SIM_LIF)
    assert refused_or_exact(g, LAVA_SIM_LIF, np.array([[255], [3]]), 5) == "exact"


def test_one_neuron_subif_saturation_both_ends_exact() -> None:
    """SubIF clips exactly like the IR: threshold and v0 at the 24-bit extremes, bias at the
    top of its exponent range, the widest input; saturates positive and negative."""
    spec = LAVA_SIM_SUBIF
    top = (1 << spec.threshold_bits) - 1
    bias = (1 << (spec.bias_mant_bits - 1)) - 1
    g = one_neuron(-127, top, spec, bits=spec.input_bits, exp=0, v0=IntT(spec.state_bits).lo, bias=bias)
    g = g.with_nodes([replace(n, bias_exp=spec.bias_exp_range[1]) if n.name == "if1" else n for n in g.nodes])
    x = np.array([[0], [(1 << spec.input_bits) - 1], [7]])
    assert refused_or_exact(g, spec, x, 6) == "exact"


def _drift_graph() -> Graph:
    """if1: two neurons firing every step; if2 gets -32768 + 32512 per step but its per-step
    bound is lo = -32768, hi = 32512: the state minimum is reachable by step 4 and v == vth
    (100) at the earliest 5 steps later, so samples of at most 8 steps are proven exact."""
    spec = LAVA_SIM_LIF
    nodes: list[Node] = [
        Input("input", (2,), bits=4), Dense("fc1", "input", np.array([[100, 0], [0, 100]])),
        IFPopulation("if1", "fc1", (2,), np.full(2, 10), np.zeros(2), np.zeros(2), reset="zero",
                     compare=">", state_t=IntT(spec.state_bits)),
        Dense("fc2", "if1", np.array([[-128, 127]]), weight_exp=8),
        IFPopulation("if2", "fc2", (1,), np.array([100]), np.zeros(1), np.zeros(1), reset="zero",
                     compare=">", state_t=IntT(spec.state_bits)),
        Dense("fo", "if2", np.array([[1]])), Readout("out", "fo", (1,), bias_mant=np.array([0])),
    ]
    return Graph(tuple(nodes))


def test_negative_drift_refused_for_the_horizon_and_the_run() -> None:
    g = _drift_graph()
    assert LavaBackend(replace(LAVA_SIM_LIF, max_sample_steps=8)).check(g) == []
    found = LavaBackend(replace(LAVA_SIM_LIF, max_sample_steps=9)).check(g)
    assert len(found) == 1 and found[0].startswith("if2:") and "at most 8 steps" in found[0], found
    unbounded = LavaBackend(replace(LAVA_SIM_LIF, max_sample_steps=None)).check(g)
    assert any(i.startswith("if2:") and "any length" in i for i in unbounded), unbounded
    short = LavaBackend(replace(LAVA_SIM_LIF, max_sample_steps=6))
    with pytest.raises(LavaPlanError, match=r"if2: .*at most 8 steps, not samples of 9 steps"):
        short.run(g, np.array([[15, 15]]), 9)                 # refused before Lava is started
    assert refused_or_exact(g, replace(LAVA_SIM_LIF, max_sample_steps=6), np.array([[15, 15], [0, 9]]),
                            6) == "exact"
