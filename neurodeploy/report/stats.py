"""Operation and activity counts of an integer SNN, per layer and per inference, at each T.

Definitions follow NeuroBench (Yik et al., "NeuroBench: A Framework for Benchmarking
Neuromorphic Computing Algorithms and Systems", arXiv:2304.04640, 2023; Nature Communications
16, 2025): synaptic operations are counted as *effective* operations (both the activation and
the weight non-zero; bias additions are not synaptic operations), an operation on a binary
(spike) input is an accumulate (AC), one on a multi-valued input a multiply-accumulate (MAC);
activation sparsity is ``1 - non-zero activations / all activations`` over the spiking layers and
all time steps; membrane updates count, per sample, every neuron at the first step plus the
neurons whose membrane potential changed at each later step.  An inference at useful T runs
``S = schedule.total_steps(T, D)`` logical steps (plain: T; SRP: tau + T; two-phase:
(D+1)·window) and every one of them is counted.  For synapse ``k``, spike source ``S``
(:mod:`neurodeploy.report.fanout`), spike counts ``N_j = sum_t s_j(t)`` over the S steps::

    ACs_k      = sum_{S spiking} sum_j N_j * fanout_{k,S}[j]          (spikes x fan-out, SynOps)
    MACs_k     = S * sum_j [x_j != 0] * fanout_{k,Input}[j]           (the integer input, presented
                                                                       at every step)
    layer_ops_k = sum_t sum_i [u_i(t) != 0] * f_k[i]                  (NeuroBench's count on the
                   synapse's own input u; equals ACs + MACs unless a SumPool sums spikes to > 1)
    ANN_MACs_k = sum_i f_k^dense[i]                                    (one dense ANN pass,
                   in-bounds taps, zero weights included)
    ANN_eff_k  = sum_i [a_i != 0] * f_k[i]                             (a: the integer reference's
                   activations at L levels, i.e. the QAT ANN's)

and per population: spikes ``sum N``, firing rate ``spikes / (neurons * S)`` (spikes per neuron
per step), activation sparsity ``1 - rate``, membrane updates as above and neuron updates
``neurons * S`` (a time-driven chip updates every compartment at every step).  All totals are
exact integers over the samples seen; per-inference figures are totals / samples.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.graph import Graph
from neurodeploy.reference import AnnResult
from neurodeploy.report.fanout import source_fanouts, synapse_input, synapses, target_of

DEFINITIONS = ("NeuroBench (Yik et al., arXiv:2304.04640, 2023; Nature Communications 16, 2025): effective "
               "synaptic operations (non-zero activation x non-zero weight, bias excluded; ACs on spikes, MACs on the "
               "multi-valued input, counted at every step), activation sparsity (1 - spikes / (neurons x steps)), "
               "membrane updates (every neuron at the first step, then the neurons whose potential changed); "
               "SNN ACs = spikes x fan-out (through pools: the sum over the windows a spike lies in)")


def useful_steps(graph: Graph, steps: list[int]) -> list[int]:
    """:func:`neurodeploy.evaluate.snn_points` (the T values a run can report), sorted and unique."""
    from neurodeploy.evaluate import snn_points
    return sorted(set(snn_points(graph, steps)))


def graph_levels(graph: Graph) -> int:
    """The QAT levels L recorded in the graph (0 when unknown)."""
    return int(graph.meta.get("levels", "0") or 0)


class OpCounter:
    """Accumulates the counts of the module docstring over chunks of samples (:meth:`add`)."""

    def __init__(self, graph: Graph, steps: list[int]) -> None:
        self.graph = graph
        self.steps = useful_steps(graph, steps)
        self.total = {t: int(graph.schedule.total_steps(t, graph.depth)) for t in self.steps}
        shapes = graph.shapes()
        self.pops = [p.name for p in graph.populations()]
        self.neurons = {p: int(np.prod(shapes[p])) for p in self.pops}
        self.syns = synapses(graph)
        self.fan = {k: source_fanouts(graph, k) for k in self.syns}
        own = {k: shapes[graph.node(k).inputs[0]] for k in self.syns}
        self.own_fan = {k: graph.node(k).fanout(own[k]) for k in self.syns}            # type: ignore[union-attr]
        self.ann_macs = {k: int(graph.node(k).fanout(own[k], False).sum()) for k in self.syns}  # type: ignore[union-attr]
        bounds = graph.value_bounds()
        self.binary = {k: bounds[graph.node(k).inputs[0]] <= 1 for k in self.syns}
        self.samples = 0
        self.ann_eff: dict[str, int] | None = dict.fromkeys(self.syns, 0)
        self.acs = {t: dict.fromkeys(self.syns, 0) for t in self.steps}
        self.macs = {t: dict.fromkeys(self.syns, 0) for t in self.steps}
        self.layer_ops = {t: dict.fromkeys(self.syns, 0) for t in self.steps}
        self.spikes = {t: dict.fromkeys(self.pops, 0) for t in self.steps}
        self.mem = {t: dict.fromkeys(self.pops, 0) for t in self.steps}
        self.hist = {t: {p: np.zeros(self.total[t] + 1, np.int64) for p in self.pops} for t in self.steps}

    def add(self, x: np.ndarray, trace: Trace, ann: AnnResult | None) -> None:
        """Count one chunk: inputs ``x``, its trace (all populations probed, ``record_v``) and the
        integer reference at L levels (``None``: ANN effective MACs unknown)."""
        batch = len(x)
        self.samples += batch
        self._add_ann(x, ann)
        inp = self.graph.input.name
        for t in self.steps:
            S = self.total[t]
            counts = {}
            for p in self.pops:
                s = trace.spikes[p][:S]
                counts[p] = s.sum(axis=0, dtype=np.int64)
                self.spikes[t][p] += int(counts[p].sum())
                self.hist[t][p] += np.bincount(counts[p].ravel(), minlength=S + 1)
                v = trace.v[p][:S].reshape(S, batch, -1)
                self.mem[t][p] += batch * self.neurons[p] + int(np.count_nonzero(v[1:] != v[:-1]))
            for k in self.syns:
                for src, f in self.fan[k].items():
                    if src == inp:
                        self.macs[t][k] += S * int(((x != 0) * f).sum())
                    else:
                        self.acs[t][k] += int((counts[src] * f).sum())
                values = {}
                for src in self.fan[k]:                     # fold time into the batch: (S * batch, *shape)
                    series = np.broadcast_to(x, (S, *x.shape)) if src == inp else trace.spikes[src][:S]
                    values[src] = series.reshape(S * batch, *series.shape[2:])
                u = synapse_input(self.graph, k, values)
                self.layer_ops[t][k] += int(((u != 0) * self.own_fan[k]).sum())

    def _add_ann(self, x: np.ndarray, ann: AnnResult | None) -> None:
        if self.ann_eff is None:
            return
        if ann is None:
            self.ann_eff = None
            return
        values = {**ann.counts, self.graph.input.name: x}
        levels = {p: max(1, graph_levels(self.graph)) for p in self.pops}          # counts are 0..L
        for k in self.syns:
            u = synapse_input(self.graph, k, {s: values[s] for s in self.fan[k]}, levels)
            self.ann_eff[k] += int(((u != 0) * self.own_fan[k]).sum())

    def result(self) -> dict[str, Any]:
        """JSON-ready counts: exact totals (``*_total``) and per-inference means."""
        n = max(self.samples, 1)
        inp = self.graph.input.name
        layers = []
        for k in self.syns:
            node = self.graph.node(k)
            reads = sorted(self.fan[k])
            layers.append({
                "synapse": k, "kind": type(node).__name__, "target": target_of(self.graph, k),
                "reads": reads, "input": ("analog" if reads == [inp] else "spikes" if inp not in reads else "mixed"),
                "binary_input": bool(self.binary[k]), "synapses": int(self.own_fan[k].sum()),
                "ann_macs": self.ann_macs[k],
                "ann_effective_macs": None if self.ann_eff is None else self.ann_eff[k] / n,
                "ann_effective_macs_total": None if self.ann_eff is None else self.ann_eff[k]})
        per_t = {str(t): self._at(t) for t in self.steps}
        totals_ann = {"ann_macs": sum(self.ann_macs.values()),
                      "ann_effective_macs": None if self.ann_eff is None else sum(self.ann_eff.values()) / n}
        return {"samples": self.samples, "schedule": self.graph.schedule.kind, "definitions": DEFINITIONS,
                "layers": layers,
                "populations": [{"name": p, "neurons": self.neurons[p]} for p in self.pops],
                "ann": totals_ann, "per_T": per_t}

    def _at(self, t: int) -> dict[str, Any]:
        n, S = max(self.samples, 1), self.total[t]
        syn = {k: {"acs_total": self.acs[t][k], "macs_total": self.macs[t][k],
                   "synops": (self.acs[t][k] + self.macs[t][k]) / n, "acs": self.acs[t][k] / n,
                   "macs": self.macs[t][k] / n, "layer_ops_total": self.layer_ops[t][k],
                   "layer_ops": self.layer_ops[t][k] / n} for k in self.syns}
        pops = {}
        for p in self.pops:
            slots = self.neurons[p] * S * n
            rate = self.spikes[t][p] / slots
            pops[p] = {"spikes_total": self.spikes[t][p], "spikes": self.spikes[t][p] / n,
                       "firing_rate": rate, "activation_sparsity": 1.0 - rate,
                       "membrane_updates_total": self.mem[t][p], "membrane_updates": self.mem[t][p] / n,
                       "neuron_updates": self.neurons[p] * S,
                       "count_histogram": [int(c) for c in self.hist[t][p]]}
        all_slots = sum(self.neurons.values()) * S * n
        all_spikes = sum(self.spikes[t].values())
        totals = {"acs": sum(self.acs[t].values()) / n, "macs": sum(self.macs[t].values()) / n,
                  "synops": (sum(self.acs[t].values()) + sum(self.macs[t].values())) / n,
                  "acs_total": sum(self.acs[t].values()), "macs_total": sum(self.macs[t].values()),
                  "layer_ops": sum(self.layer_ops[t].values()) / n,
                  "spikes": all_spikes / n, "activation_sparsity": 1.0 - all_spikes / max(all_slots, 1),
                  "membrane_updates": sum(self.mem[t].values()) / n,
                  "neuron_updates": sum(self.neurons.values()) * S}
        return {"T": t, "total_steps": S, "synapses": syn, "populations": pops, "totals": totals}
