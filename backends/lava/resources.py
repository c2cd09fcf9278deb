"""Loihi resource check, driven entirely by :class:`~neurodeploy.targets.TargetSpec` data.

Each population (and the readout, which would be a non-spiking compartment group on chip)
is split over cores independently; the input lives on the host / embedded cores and uses no
neurocore.  For a layer with ``n`` neurons and ``S`` synapses (non-zero weights of its
incoming synapse; a conv counts every in-bounds kernel tap of every output neuron)::

    cores = max( ceil(n / neurons_per_core),                       (neurons)
                 ceil(S / synapse_words_per_core) )                (synapse memory, if known)

and every core must accept the layer's fan-in: for a Dense the number of source neurons
with a non-zero weight into the layer, for a Conv the input size (a Conv core needs the
whole input window range; counted conservatively as all inputs).  A limit that the spec
leaves ``None`` (unknown publicly) is not checked and is reported as unknown.  The network
fits if ``sum(cores) <= cores_per_chip * chips``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, Readout
from neurodeploy.targets import TargetSpec


class ResourceError(ValueError):
    """The network does not fit the target; the message names the layer and the limit."""


@dataclass(frozen=True)
class LayerUse:
    """Resources of one population on the target."""

    name: str
    neurons: int
    synapses: int
    fan_in: int
    cores: int
    limited_by: str


@dataclass
class ResourceReport:
    """Per-layer and total core use; ``issues`` lists what does not fit ([] = fits)."""

    target: str
    layers: list[LayerUse]
    total_cores: int
    available_cores: int | None
    unknown_limits: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.issues

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["fits"] = self.fits
        return d


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _synapse_counts(syn: Dense | Conv, in_shape: tuple[int, ...]) -> tuple[int, int]:
    """(synapses, fan-in) of a synapse node."""
    w = np.asarray(syn.weight)
    if isinstance(syn, Dense):
        return int(np.count_nonzero(w)), int(np.count_nonzero(np.any(w != 0, axis=0)))
    _, h, wd = in_shape
    co, ci, kh, kw = w.shape
    p, s = syn.padding, syn.stride
    ho, wo = (h + 2 * p - kh) // s + 1, (wd + 2 * p - kw) // s + 1
    rows = np.arange(ho)[:, None] * s - p + np.arange(kh)[None, :]      # input row per tap
    cols = np.arange(wo)[:, None] * s - p + np.arange(kw)[None, :]
    taps = int(((rows >= 0) & (rows < h)).sum()) * int(((cols >= 0) & (cols < wd)).sum())
    nz_per_tap = int(np.count_nonzero(w)) / max(kh * kw, 1)             # non-zeros per (kh,kw) tap
    return int(round(taps * nz_per_tap)), int(ci * h * wd)


def map_cores(graph: Graph, spec: TargetSpec) -> ResourceReport:
    """Map every population of ``graph`` to cores of ``spec`` (no exception; see ``issues``)."""
    shapes = graph.shapes()
    by_name = {n.name: n for n in graph.nodes}
    unknown = [f for f in ("neurons_per_core", "synapse_words_per_core", "fan_in_axons_per_core",
                           "cores_per_chip", "chips") if getattr(spec, f) is None]
    layers: list[LayerUse] = []
    issues: list[str] = []
    for n in graph.nodes:
        if not isinstance(n, (IFPopulation, Readout)):
            continue
        syn = by_name[n.source]
        assert isinstance(syn, (Dense, Conv))
        neurons = int(np.prod(n.shape))
        synapses, fan_in = _synapse_counts(syn, shapes[syn.source])
        cores, why = 1, "minimum"
        if spec.neurons_per_core is not None:
            c = _ceil_div(neurons, spec.neurons_per_core)
            if c >= cores:
                cores, why = c, f"neurons_per_core={spec.neurons_per_core}"
        if spec.synapse_words_per_core is not None:
            c = _ceil_div(synapses, spec.synapse_words_per_core)
            if c > cores:
                cores, why = c, f"synapse_words_per_core={spec.synapse_words_per_core}"
        if spec.fan_in_axons_per_core is not None and fan_in > spec.fan_in_axons_per_core:
            issues.append(f"{n.name}: fan-in {fan_in} axons exceeds fan_in_axons_per_core="
                          f"{spec.fan_in_axons_per_core} (target {spec.name})")
        layers.append(LayerUse(n.name, neurons, synapses, fan_in, cores, why))
    total = sum(lu.cores for lu in layers)
    available = None
    if spec.cores_per_chip is not None:
        available = spec.cores_per_chip * (spec.chips if spec.chips is not None else 1)
        if total > available:
            worst = max(layers, key=lambda lu: lu.cores)
            issues.append(f"network needs {total} cores > cores_per_chip * chips = {available} "
                          f"(target {spec.name}); largest layer {worst.name}: {worst.cores} cores "
                          f"({worst.limited_by})")
    return ResourceReport(spec.name, layers, total, available, unknown, issues)


def require_fit(graph: Graph, spec: TargetSpec) -> ResourceReport:
    """:func:`map_cores`, raising :class:`ResourceError` listing every issue."""
    rep = map_cores(graph, spec)
    if rep.issues:
        raise ResourceError("; ".join(rep.issues))
    return rep
