"""What NIR can express of an integer IR graph: refusals, loss notes and exact-translation notes.

NIR 1.0's ``IF`` (Pedersen et al., "Neuromorphic intermediate representation: a unified
instruction set for interoperable brain-inspired computing", Nat. Commun. 15, 8122, 2024) is
``dv/dt = R I``; it fires ``z = [v > v_threshold]`` and then sets ``v = v_reset``.  With ``dt = 1``
and ``R = 1`` (forward Euler, one NIR time unit per logical step) that is the IR's zero-reset
neuron ``v' = v + I + b; s = [v' > theta]; v = v' (1 - s)`` (:mod:`neurodeploy.ir.nodes`) with
``v_reset = 0``.  Everything else is classified here:

* **refused always** (one line naming the field; no NIR rendering computes the same function):
  the SRP and two-phase schedules (gate latch, potential reload, readout clear, integrate/fire
  windows); a bias that varies within a channel of a convolution-fed node (NIR's ``Conv2d``
  bias is per channel).
* **refused unless ``allow_loss``**, else exported with a note in the node's ``metadata``
  (key ``neurodeploy_loss``) and a printed warning: subtractive reset (``v -= theta``; written
  as NIR's reset to ``v_reset = 0``); a non-zero initial potential ``v0`` (NIR has no initial
  state; importers start at ``v_reset = 0``); a negative ``weight_exp`` (the IR floors the
  projection's sum, ``floor(W s / 2**k)``; NIR multiplies by ``W 2**-k`` exactly).
* **exact, with a note**: ``>=`` is written as ``v_threshold = theta - 1/2`` (IR potentials are
  integers, so ``v >= theta  <=>  v > theta - 1/2``); the IR saturates ``v`` to ``state_t`` while
  NIR's ``v`` is unbounded, which cannot matter for ``T <= saturation_free_steps`` (bound below);
  a grouped or non-square convolution is written as in torch, but nir 1.0.8's own shape
  inference gets it wrong (:func:`nir_types_hold`), so such files are read with
  ``nir.read(path, type_check=False)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, Readout

SCHEDULE_REASONS = {
    "srp": "SRP's pre-simulation (gate latch after tau steps, potential reload, readout clear)",
    "two_phase": "SpikeConverter's two-phase windows (integrate-only and fire-only windows per depth)",
}


class ExportRefused(ValueError):
    """The graph (or one of its nodes) has no NIR rendering; the message names node and field."""


@dataclass(frozen=True)
class Note:
    """One remark on a node's NIR rendering: ``loss`` (behaviour changes) or ``exact``; a loss says
    what NIR lacks (``text``), what is written instead (``rendering``) and how to avoid it (``fix``)."""

    node: str
    field: str
    kind: str          # "loss" or "exact"
    text: str
    rendering: str = ""
    fix: str = ""

    def line(self) -> str:
        """``node.field: text`` (plus the rendering of a loss): the metadata entry and warning."""
        tail = f"; written as {self.rendering}" if self.rendering else ""
        return f"{self.node}.{self.field}: {self.text}{tail}"

    def refusal(self, count: int) -> str:
        """The one-line refusal when losses are not allowed (``count`` losses in the graph)."""
        others = f" ({count - 1} more {'loss' if count == 2 else 'losses'} in the graph)" if count > 1 else ""
        fix = f"{self.fix}, or pass" if self.fix else "pass"
        return (f"{self.node}.{self.field}: {self.text}{others}; {fix} --allow-loss to write it as "
                f"{self.rendering} with a loss note")


def conv_fed(graph: Graph, target: IFPopulation | Readout) -> bool:
    """Whether ``target`` is fed by Conv synapses (its bias must then be per channel)."""
    return any(isinstance(graph.node(s), Conv) for s in target.sources)


def nir_types_hold(conv: Conv) -> bool:
    """Whether nir 1.0.8's shape inference gets ``conv`` right: it reads the input channels from
    ``weight.shape[1]`` (``C_in / groups`` in torch's layout) and both kernel sizes from
    ``weight.shape[2]``, so it holds for ungrouped convolutions with square kernels only."""
    return conv.groups == 1 and conv.weight.shape[2] == conv.weight.shape[3]


def saturation_free_steps(pop: IFPopulation, current_bound: int) -> int:
    """Steps ``T`` for which ``clip(u, state_t)`` provably cannot change a spike (0 if not even one).

    From above: a neuron that fires at ``v' = hi`` (``hi > theta``, or ``hi >= theta`` for ``>=``)
    fires whether or not ``u`` was clipped, and resets to 0 either way; otherwise ``v(t-1) <=
    max(theta, v0)`` and ``u <= max(theta, v0) + B + |b|`` must fit ``hi``.  From below
    ``v(t) >= min(v0, 0) - t (B + |b|)``, which stays ``>= lo`` for ``t <= (min(v0,0) - lo) / (B + |b|)``.
    ``B`` bounds the summed synaptic current (:func:`neurodeploy.ir.ranges.prove_ranges`)."""
    bias = int(np.abs(pop.bias).max(initial=0))
    step = current_bound + bias
    theta_max = int(pop.threshold.max(initial=0))
    fires_at_hi = pop.state_t.hi > theta_max or (pop.compare == ">=" and pop.state_t.hi >= theta_max)
    top = max(theta_max, int(pop.v0.max(initial=0))) + step
    if (pop.reset == "subtract" or not fires_at_hi) and top > pop.state_t.hi:
        return 0
    if step == 0:
        return 1 << 62
    return (min(int(pop.v0.min(initial=0)), 0) - pop.state_t.lo) // step


def review(graph: Graph, allow_loss: bool = False) -> list[Note]:
    """Classify ``graph`` for NIR: raise :class:`ExportRefused` at the first refusal (a lossy
    feature without ``allow_loss`` included), else return every loss and exact-translation note."""
    if graph.schedule.kind != "plain":
        raise ExportRefused(f"graph.schedule: {graph.schedule.kind!r} ({SCHEDULE_REASONS[graph.schedule.kind]}) "
                            "has no NIR equivalent; convert with --method qcfs or nq")
    graph.check_dataflow()
    notes: list[Note] = []
    for n in graph.nodes:
        if isinstance(n, (IFPopulation, Readout)) and conv_fed(graph, n):
            bias = n.bias.reshape(n.shape[0], -1)
            if np.any(bias != bias[:, :1]):
                raise ExportRefused(f"{n.name}.bias_mant: varies within a channel; NIR's Conv2d bias is one "
                                    "value per output channel")
        if isinstance(n, Conv) and not nir_types_hold(n):
            notes.append(Note(n.name, "weight", "exact", f"shape {n.weight.shape} with {n.groups} groups is written "
                                                         "as in torch, but nir 1.0.8's type inference takes C_in from "
                                                         "weight.shape[1] and a square kernel from weight.shape[2]; "
                                                         "read this file with nir.read(path, type_check=False)"))
        if isinstance(n, (Dense, Conv)) and n.weight_exp < 0:
            notes.append(Note(n.name, "weight_exp", "loss",
                              f"{n.weight_exp} floors the projection's sum (floor(W s / 2**{-n.weight_exp})), "
                              "which NIR cannot express", f"the exact product W * 2**{n.weight_exp} s "
                              "(currents may differ by less than 1)"))
        if isinstance(n, IFPopulation):
            notes.extend(_population_notes(n))
    lossy = [x for x in notes if x.kind == "loss"]
    if lossy and not allow_loss:
        raise ExportRefused(lossy[0].refusal(len(lossy)))
    return notes


def _population_notes(pop: IFPopulation) -> list[Note]:
    notes = []
    if pop.reset == "subtract":
        notes.append(Note(pop.name, "reset", "loss", "'subtract' (v -= theta after a spike) has no NIR field "
                                                     "(NIR's IF resets to v_reset)", "reset to v_reset = 0",
                          "convert with --neuron zero"))
    if np.any(pop.v0 != 0):
        notes.append(Note(pop.name, "v0", "loss", f"initial potentials {int(pop.v0.min())}..{int(pop.v0.max())} "
                                                  "have no NIR field", "the importers' start at v_reset = 0",
                          "convert with --neuron zero (v0 = 0)"))
    if pop.compare == ">=":
        notes.append(Note(pop.name, "compare", "exact", "'>=' is written as v_threshold = theta - 1/2 (integer "
                                                        "potentials: v >= theta <=> v > theta - 1/2)"))
    return notes
