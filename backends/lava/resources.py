"""Loihi resource check of the Lava plan, driven entirely by :class:`~neurodeploy.targets.TargetSpec` data.

The check runs on the plan the Lava backend would emit (SumPools folded, synapses split per
spike source, :mod:`neurodeploy.backends.lava.parts`), so it counts what the DAG really
costs: every Lava connection into a population, the extra synapses of split or
pool-folded synapses, and the relay neurons that delay Conv projections.

Each population, the readout (a non-spiking compartment group on chip) and each relay is
split over cores independently; the input lives on the host / embedded cores and uses no
neurocore.  For a layer with ``n`` neurons and ``S`` synapses (non-zero weights of all its
incoming parts; a Conv part counts every in-bounds kernel tap of every output neuron)::

    cores = max( ceil(n / neurons_per_core),                       (neurons)
                 ceil(S / synapse_words_per_core) )                (synapse memory, if known)

Every core must accept the layer's fan-in, summed over its parts: for a Dense part the
source neurons with a non-zero weight into the layer, for a Conv part the whole source
(conservative).  A layer also needs ``projections <= max_fan_in_projections`` inbound
connections and every delay ``<= max_delay`` (Loihi 2: 6-bit synaptic delays).  A relay
counts one neuron per delayed element (an upper bound: on chip the delay can sit in the
synapses).  A limit the spec leaves ``None`` (not public) is not checked and reported as
unknown.  The network fits if ``sum(cores) <= cores_per_chip * chips``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from neurodeploy.backends.lava.emit import build_plan, prepare
from neurodeploy.backends.lava.parts import LavaPlanError
from neurodeploy.backends.lava.plan import PartPlan

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.targets import TargetSpec


class ResourceError(ValueError):
    """The network does not fit the target; the message names the layer and the limit."""


@dataclass(frozen=True)
class LayerUse:
    """Resources of one population, the readout or a relay on the target."""

    name: str
    neurons: int
    synapses: int
    fan_in: int
    cores: int
    limited_by: str
    kind: str = "population"        # "population" | "readout" | "relay"
    projections: int = 0            # Lava connections into the layer
    max_delay: int = 0              # longest delay of an inbound part (steps)


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


def _in_bounds(n_in: int, n_out: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """Per kernel tap: how many outputs read an in-bounds input on one axis."""
    idx = np.arange(n_out)[:, None] * s + np.arange(k)[None, :] * d - p
    return ((idx >= 0) & (idx < n_in)).sum(axis=0)


def part_counts(p: PartPlan) -> tuple[int, int]:
    """(synapses, fan-in axons) of one Lava synapse part."""
    w = p.weights
    if p.kind == "dense":
        return int(np.count_nonzero(w)), int(np.count_nonzero(np.any(w != 0, axis=0)))
    (xi, yi, _), (xo, yo, _) = p.in_shape, p.out_shape
    _, kx, ky, _ = w.shape
    cols = _in_bounds(xi, xo, kx, p.stride[0], p.padding[0], p.dilation[0])
    rows = _in_bounds(yi, yo, ky, p.stride[1], p.padding[1], p.dilation[1])
    nz = np.count_nonzero(w, axis=(0, 3))                          # (kx, ky)
    return int((nz * cols[:, None] * rows[None, :]).sum()), int(np.prod(p.in_shape))


def _layer(name: str, kind: str, neurons: int, parts: tuple[PartPlan, ...], spec: TargetSpec,
           issues: list[str]) -> LayerUse:
    counts = [part_counts(p) for p in parts]
    synapses, fan_in = sum(c[0] for c in counts), sum(c[1] for c in counts)
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
        issues.append(f"{name}: fan-in {fan_in} axons exceeds fan_in_axons_per_core="
                      f"{spec.fan_in_axons_per_core} (target {spec.name})")
    if len(parts) > spec.max_fan_in_projections:
        issues.append(f"{name}: {len(parts)} inbound projections exceed max_fan_in_projections="
                      f"{spec.max_fan_in_projections} (target {spec.name})")
    delay = max((p.delay for p in parts), default=0)
    if delay > spec.max_delay:
        worst = max(parts, key=lambda p: p.delay)
        issues.append(f"{name}: {worst.synapse} needs a delay of {delay} steps > max_delay="
                      f"{spec.max_delay} (target {spec.name})")
    return LayerUse(name, neurons, synapses, fan_in, cores, why, kind, len(parts), delay)


def map_cores(graph: Graph, spec: TargetSpec) -> ResourceReport:
    """Map every population, relay and the readout of ``graph``'s Lava plan to cores of
    ``spec`` (no exception; see ``issues``)."""
    unknown = [f for f in ("neurons_per_core", "synapse_words_per_core", "fan_in_axons_per_core",
                           "cores_per_chip", "chips") if getattr(spec, f) is None]
    try:
        plan = build_plan(prepare(graph), spec, 1)
    except (IRError, LavaPlanError) as exc:
        return ResourceReport(spec.name, [], 0, None, unknown, [str(exc)])
    issues: list[str] = []
    layers = [_layer(p.name, "population", int(np.prod(p.shape)), p.parts, spec, issues)
              for p in plan.populations]
    for r in plan.relays:
        n = int(np.prod(r.shape))
        cores = _ceil_div(n, spec.neurons_per_core) if spec.neurons_per_core is not None else 1
        layers.append(LayerUse(r.name, n, 0, n, cores, "relay neurons", "relay", 1, r.delay))
    ro_parts = tuple(p for pr in plan.readout_projections for p in pr.parts)
    layers.append(_layer(plan.readout_name, "readout", int(np.prod(plan.readout_ir_shape)), ro_parts,
                         spec, issues))
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
