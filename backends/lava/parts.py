"""Split each IR synapse into Lava synapse processes, one per spike source, and align them in time.

**Concat / Flatten.** A synapse may read its spike sources (populations or the Input) through
tensor ops (Flatten, Concat).  Those ops only move values, so the synapse is linear in each
source separately: ``I = sum_k W_k @ s_k`` where ``W_k`` collects the columns (Dense) or input
channels (Conv) of ``W`` that read source ``k`` (a source read twice gets its columns added).
Each ``W_k`` becomes one Lava Dense/Conv process connected to that source's port; the parts'
outputs sum at the consumer's InPort, which is exactly ``I`` before the exponent.  Which input
element comes from which source is found by running the tensor ops' own ``apply`` on index
arrays (no second definition of Concat or Flatten).  A Conv keeps ``groups`` when it reads one
source in channel order; otherwise it is expanded to ``groups = 1`` (zeros between groups).
Lava's Conv model holds ``groups`` in an int8 Var (precision 8): 128 wraps to -128 and the
model then loops over no group at all (all-zero output), larger values wrap or raise.  So a
Conv with more than :data:`LAVA_CONV_INT8_MAX` groups is given to Lava with the largest
divisor ``g'`` of ``groups`` that fits, each Lava group holding ``groups / g'`` consecutive IR
groups block-diagonally (zeros elsewhere): the same sums, so still exact.

**Exponents.** Lava's Conv ignores ``weight_exp``: ``e >= 0`` is pre-shifted into the weights
(``W << e``, exact), ``e < 0`` is left to the consumer (``post_exp``), because the floor must
act on the projection's whole sum.  Dense uses the ``2*q`` recipe (``weights = 2*W``,
``weight_exp = e - 1``, exact: docs/lava.md §6); when a Dense with ``e < 0`` is split into
several parts each part emits its exact sum (``weight_exp = -1``) and the consumer floors.

**Time.** Source ``s`` (depth ``d_s``) emits logical step ``t`` at Lava step ``t + d_s``; one
hop later it reaches the consumer (depth ``d_c``), which computes step ``t + e`` at Lava step
``t + e + d_c``, ``e = schedule.edge_delay(d_s, d_c)``.  So each part is delayed by
``d_c - 1 - d_s + e`` extra steps: a Dense part with ``DelayDense`` (uniform synaptic delay,
Loihi 2's 6-bit per-synapse delay on chip), a Conv part by a relay process (a ring buffer of
spike vectors, :mod:`procs.relay`; Lava 0.10 has no delayed Conv) placed between source and
Conv, shared by all Conv parts of that source with that delay.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from neurodeploy.backends.lava.plan import PartPlan, ProjectionPlan, RelayPlan, flatten_perm, lava_shape

from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, SumPool

LAVA_MIXED_WEIGHT_SCALE = 2   # the 2*q recipe: Lava drops one LSB of mixed-sign weights
LAVA_CONV_INT8_MAX = 127    # Lava's Conv holds groups (and kernel/stride/padding/dilation) as int8


class LavaPlanError(ValueError):
    """The graph cannot be expressed exactly on the Lava target; the message names the layer."""


def element_sources(graph: Graph, name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """For the tensor node ``name``: its spike sources and, per element (IR shape), the index
    of the source it comes from and its C-order flat index inside that source."""
    sources = graph.spike_sources(name)
    shapes = graph.shapes()

    def labels(n: str) -> tuple[np.ndarray, np.ndarray]:
        node = graph.node(n)
        if node.role in ("population", "input"):
            shape = shapes[n]
            k = np.full((1, *shape), sources.index(n), np.int64)
            return k, np.arange(int(np.prod(shape)), dtype=np.int64).reshape(1, *shape)
        if node.role != "tensor" or isinstance(node, SumPool):
            raise LavaPlanError(f"{n}: a {type(node).__name__} cannot sit between a spike source and a "
                                "synapse on Lava (fold SumPools first)")
        ins = [labels(s) for s in node.inputs]
        return node.apply([a for a, _ in ins]), node.apply([b for _, b in ins])

    src, flat = labels(name)
    return sources, src[0], flat[0]


def part_delay(graph: Graph, source: str, consumer: str) -> int:
    """Extra Lava steps between ``source`` and ``consumer`` (see the module docstring)."""
    ds, dc = graph.depths[source], graph.depths[consumer]
    return dc - 1 - ds + graph.schedule.edge_delay(ds, dc)


def _dense_columns(w: np.ndarray, src: np.ndarray, flat: np.ndarray, k: int, size: int) -> np.ndarray:
    cols = np.flatnonzero(src == k)
    out = np.zeros((size, w.shape[0]), np.int64)
    np.add.at(out, flat[cols], w[:, cols].T)
    return out.T


def _ungrouped(conv: Conv) -> np.ndarray:
    co, ci_g, kh, kw = conv.weight.shape
    g = conv.groups
    full = np.zeros((co, ci_g * g, kh, kw), np.int64)
    co_g = co // g
    for gi in range(g):
        full[gi * co_g:(gi + 1) * co_g, gi * ci_g:(gi + 1) * ci_g] = conv.weight[gi * co_g:(gi + 1) * co_g]
    return full


def lava_groups(weight: np.ndarray, groups: int) -> tuple[np.ndarray, int]:
    """``(weight', groups')`` with ``groups' <= LAVA_CONV_INT8_MAX`` and the same convolution:
    ``groups'`` is the largest divisor of ``groups`` that fits, and each Lava group holds
    ``r = groups / groups'`` consecutive IR groups on its block diagonal (IR layout
    ``(C_out, C_in / groups, kh, kw)`` in and ``(C_out, C_in / groups', kh, kw)`` out)."""
    if groups <= LAVA_CONV_INT8_MAX:
        return weight, groups
    g2 = max(d for d in range(1, LAVA_CONV_INT8_MAX + 1) if groups % d == 0)
    r = groups // g2
    co, ci_g, kh, kw = weight.shape
    co_g = co // groups
    out = np.zeros((co, ci_g * r, kh, kw), np.int64)
    for gi in range(groups):
        lo = (gi % r) * ci_g
        out[gi * co_g:(gi + 1) * co_g, lo:lo + ci_g] = weight[gi * co_g:(gi + 1) * co_g]
    return out, g2


def _conv_channels(conv: Conv, src: np.ndarray, flat: np.ndarray, sources: list[str],
                   shapes: dict[str, tuple[int, ...]]) -> list[tuple[np.ndarray, int]]:
    """Per source: ``(W_k (C_out, C_k, kh, kw), groups)``."""
    chan_src = src[:, 0, 0]
    hw = int(np.prod(src.shape[1:]))
    chan = flat[:, 0, 0] // hw
    if len(sources) == 1 and np.array_equal(chan, np.arange(len(chan))):
        return [lava_groups(np.asarray(conv.weight, np.int64), conv.groups)]
    full = _ungrouped(conv)
    out = []
    for k, name in enumerate(sources):
        wk = np.zeros((full.shape[0], shapes[name][0], *full.shape[2:]), np.int64)
        sel = np.flatnonzero(chan_src == k)
        np.add.at(wk.transpose(1, 0, 2, 3), chan[sel], full[:, sel].transpose(1, 0, 2, 3))
        out.append((wk, 1))
    return out


def projection(graph: Graph, synapse: str, consumer: str) -> ProjectionPlan:
    """The Lava parts of IR synapse ``synapse`` feeding ``consumer`` (see the module docstring)."""
    syn = graph.node(synapse)
    assert isinstance(syn, (Dense, Conv))
    shapes = graph.shapes()
    sources, src, flat = element_sources(graph, syn.source)
    inp = graph.input
    out_shape = lava_shape(shapes[synapse])
    e = syn.weight_exp
    split = len(sources) > 1
    parts = []
    if isinstance(syn, Dense):
        weights = [(_dense_columns(np.asarray(syn.weight, np.int64), src, flat, k,
                                   int(np.prod(shapes[s]))), 1) for k, s in enumerate(sources)]
    else:
        weights = _conv_channels(syn, src, flat, sources, shapes)
    post_exp = min(e, 0) if isinstance(syn, Conv) or split else 0
    for name, (w, groups) in zip(sources, weights):
        delay = part_delay(graph, name, consumer)
        common: dict[str, Any] = {
            "name": f"{synapse}@{name}" if split else synapse, "synapse": synapse, "source": name,
            "num_message_bits": inp.bits if name == inp.name else 0,
            "in_shape": lava_shape(shapes[name]), "out_shape": out_shape, "delay": delay}
        if isinstance(syn, Dense):
            src_shape = shapes[name]
            flatten = len(src_shape) != 1
            if flatten:
                w = w[:, flatten_perm(src_shape)]
            parts.append(PartPlan(kind="dense", weights=LAVA_MIXED_WEIGHT_SCALE * w,
                                  weight_exp=e - 1 if post_exp == 0 else -1,
                                  flatten_input=flatten, **common))
        else:
            k = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)) << max(e, 0)
            parts.append(PartPlan(kind="conv", weights=k, weight_exp=0, groups=groups,
                                  stride=syn.stride[::-1], padding=syn.padding[::-1],
                                  dilation=syn.dilation[::-1],
                                  relay=relay_name(name, delay) if delay else None, **common))
    return ProjectionPlan(synapse, post_exp, tuple(parts))


def relay_name(source: str, delay: int) -> str:
    return f"{source}~delay{delay}"


def relays(graph: Graph, parts: list[PartPlan]) -> tuple[RelayPlan, ...]:
    """One relay per (source, delay) used by a Conv part."""
    shapes = graph.shapes()
    found: dict[str, RelayPlan] = {}
    for p in parts:
        if p.relay is not None and p.relay not in found:
            found[p.relay] = RelayPlan(p.relay, p.source, p.delay, lava_shape(shapes[p.source]),
                                       p.num_message_bits)
    return tuple(found.values())
