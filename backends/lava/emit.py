"""Plan a Lava process graph from an integer IR DAG (pure numpy; no Lava import).

The plan (:mod:`neurodeploy.backends.lava.plan`) holds every number the processes receive:

* **Populations** become one neuron process each (``SubIF`` or stock ``LIFReset``) whose
  InPort sums every inbound connection (Lava adds all connections of an InPort), so a
  residual merge is several projections into the same process.
* **Synapses** become one Lava Dense/Conv process per spike source they read
  (:mod:`neurodeploy.backends.lava.parts`: Concat/Flatten splitting, exponents, delays).
* **SumPool** has no Lava process: :func:`prepare` folds it into the next synapses
  (:func:`neurodeploy.passes.fold_pooling.fold_pooling`).
* **Readout**: each of its projections goes to its own sink RingBuffer; the host applies
  the projection's ``post_exp`` to it (so a floor acts on each projection's own sum), adds
  the bias and accumulates per the schedule (:mod:`neurodeploy.backends.lava.readback`).
* **Time.** All samples run back to back, ``period`` logical steps each; the node at logical
  depth ``d`` computes global logical step ``t`` at Lava step ``t + d`` (``SubIF``'s
  ``t_start = d``); the readout current of step ``t`` is in its sinks at Lava step
  ``t + d_readout``.
"""
from __future__ import annotations

import numpy as np
from neurodeploy.backends.lava.checks import LavaPlanError, check_plan_input
from neurodeploy.backends.lava.parts import projection, relays
from neurodeploy.backends.lava.plan import (
    NetworkPlan,
    PopulationPlan,
    flatten_perm,
    from_lava,
    lava_shape,
    to_lava,
)

from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation, SumPool
from neurodeploy.targets import TargetSpec

__all__ = ["LavaPlanError", "NetworkPlan", "build_plan", "flatten_perm", "from_lava", "input_stream",
           "lava_shape", "plan_network", "prepare", "to_lava"]


def prepare(graph: Graph) -> Graph:
    """Remove SumPool nodes with the fold_pooling pass (Lava has no pooling process)."""
    if not any(isinstance(n, SumPool) for n in graph.nodes):
        return graph
    from neurodeploy.passes.fold_pooling import fold_pooling
    return fold_pooling(graph)


def _population(graph: Graph, n: IFPopulation) -> PopulationPlan:
    ndim = len(n.shape)
    return PopulationPlan(
        name=n.name, depth=graph.depths[n.name], ir_shape=tuple(n.shape), shape=lava_shape(tuple(n.shape)),
        projections=tuple(projection(graph, s, n.name) for s in n.sources),
        vth=to_lava(n.threshold, ndim), v0=to_lava(n.v0, ndim), bias=to_lava(n.bias, ndim),
        bias_mant=to_lava(n.bias_mant, ndim), bias_exp=n.bias_exp, reset=n.reset, compare=n.compare,
        state_lo=n.state_t.lo, state_hi=n.state_t.hi)


def build_plan(graph: Graph, spec: TargetSpec, steps: int) -> NetworkPlan:
    """Translate ``graph`` (SumPools folded) into a :class:`NetworkPlan` without checking it."""
    graph.check_dataflow()
    inp, ro = graph.input, graph.readout
    pops = tuple(_population(graph, n) for n in graph.populations())
    ro_proj = tuple(projection(graph, s, ro.name) for s in ro.sources)
    parts = [p for pop in pops for p in pop.parts] + [p for pr in ro_proj for p in pr.parts]
    return NetworkPlan(
        input_name=inp.name, input_ir_shape=tuple(inp.shape), input_bits=inp.bits,
        populations=pops, relays=relays(graph, parts), readout_name=ro.name,
        readout_ir_shape=tuple(ro.shape), readout_depth=graph.depths[ro.name],
        readout_projections=ro_proj, readout_bias=np.asarray(ro.bias, np.int64),
        schedule=graph.schedule, period=graph.schedule.total_steps(steps, graph.depth),
        neuron=spec.lava_neuron, state_shift=spec.state_shift)


def plan_network(graph: Graph, spec: TargetSpec, steps: int) -> NetworkPlan:
    """:func:`build_plan` after :func:`checks.check_plan_input` for samples of exactly this many
    logical steps (LavaPlanError listing every issue)."""
    check_plan_input(graph, spec, graph.schedule.total_steps(steps, graph.depth))
    return build_plan(graph, spec, steps)


def input_stream(plan: NetworkPlan, x: np.ndarray) -> np.ndarray:
    """RingBuffer data ``(*lava input shape, physical steps)``: each sample's integers for
    its ``period`` steps, back to back, then zeros while the pipeline drains."""
    x = np.asarray(x, np.int64)
    n = x.shape[0]
    xl = to_lava(x, len(plan.input_ir_shape))                 # (N, *lava shape)
    rep = np.repeat(xl, plan.period, axis=0)                   # (N*period, *lava shape)
    pad = np.zeros((plan.physical_steps(n) - rep.shape[0], *rep.shape[1:]), np.int64)
    data = np.concatenate([rep, pad], axis=0)
    return np.moveaxis(data, 0, -1)
