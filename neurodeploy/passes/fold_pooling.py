"""Pass ``fold_pooling``: fold every SumPool into the synapses that read it.

A SumPool and the synapse after it are both linear, so their composition is one synapse on
the pool's input.  Per spatial axis, with pool kernel/stride/padding ``(kp, sp, pp)`` on an
input of length ``N`` (``Ny`` pool outputs):

* **Conv** (kernel ``k``, stride ``s``, padding ``p``, dilation ``d``): reads pool output
  ``i = m*s + dy*d - p``, i.e. inputs ``r = i*sp - pp + a`` (``a < kp``).  That is a Conv
  with stride ``s*sp``, padding ``p*sp + pp``, dilation 1, kernel length ``(k-1)*d*sp + kp``
  and ``W'[.., dy*d*sp + a] += W[.., dy]``.  It is exact iff (1) every pool output the Conv
  reads as padding (``i < 0`` or ``i >= Ny``) covers only padding of the input (else the
  composed Conv would see real inputs where the original saw zeros) and (2) the composed
  Conv has the same output length; otherwise the pass refuses, naming pool and Conv.
* **Flatten -> Dense**: ``W'[o, (c, h, w)] = sum over pool cells (i, j) whose window holds
  (h, w) of W[o, (c, i, j)]``; always exact (padding cells read zeros and drop out).  A
  global pool is the case ``kernel == (H, W)``: every input gets its channel's weight.
* A pool read by several synapses is folded into each; pools are folded last-first, so a
  pool of a pool folds twice.  A pool feeding anything else (a Concat, ...) is refused.

Overlapping windows (``kp > d*sp``) add weights, which may leave ``weight_t``; the folded
synapse is then split into several synapses of ``weight_t`` whose currents sum into the same
population (``W' = W'_1 + W'_2 + ...``, each a clip of the rest).  Shifts left distribute over
the sum, so that is exact for ``weight_exp >= 0``; a split with ``weight_exp < 0`` (the floor
acts on each synapse's own sum) is refused.  A simulation of the result is bit-identical.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, Node, SumPool


def fold_pooling(graph: Graph) -> Graph:
    """A new graph without SumPool nodes whose simulation equals ``graph``'s exactly."""
    g = graph
    for pool in [n for n in reversed(graph.nodes) if isinstance(n, SumPool)]:
        g = g.with_nodes(_fold_one(g, g.node(pool.name)))                # type: ignore[arg-type]
    return g


def _pool_rows(n: int, k: int, s: int, p: int) -> np.ndarray:
    """``P[i, r] = 1`` iff input ``r`` (0..n-1) lies in pool window ``i``."""
    ny = (n + 2 * p - k) // s + 1
    r = np.arange(ny)[:, None] * s - p + np.arange(k)[None, :]
    out = np.zeros((ny, n), np.int64)
    for i in range(ny):
        out[i, r[i][(r[i] >= 0) & (r[i] < n)]] = 1
    return out


def _conv_axis(pool: SumPool, conv: Conv, ax: int, n: int) -> tuple[np.ndarray, int, int]:
    """Kernel spread matrix ``M (k, K)``, stride and padding of the composed Conv on axis ``ax``."""
    assert pool.stride is not None
    kp, sp, pp = pool.kernel[ax], pool.stride[ax], pool.padding[ax]
    k, s, p, d = conv.weight.shape[2 + ax], conv.stride[ax], conv.padding[ax], conv.dilation[ax]
    ny = (n + 2 * pp - kp) // sp + 1
    ho = (ny + 2 * p - d * (k - 1) - 1) // s + 1
    i = (np.arange(ho)[:, None] * s + np.arange(k)[None, :] * d - p).reshape(-1)
    outside = i[(i < 0) | (i >= ny)]
    r = outside[:, None] * sp - pp + np.arange(kp)[None, :]
    big_k, big_s, big_p = (k - 1) * d * sp + kp, s * sp, p * sp + pp
    if np.any((r >= 0) & (r < n)) or (n + 2 * big_p - big_k) // big_s + 1 != ho:
        raise IRError(f"{pool.name}: folding into {conv.name} is not exact on axis {'hw'[ax]} (the "
                      f"conv's padding around the pool output covers real inputs); keep pool and conv apart")
    spread = np.zeros((k, big_k), np.int64)
    for dy in range(k):
        spread[dy, dy * d * sp:dy * d * sp + kp] += 1
    return spread, big_s, big_p


def _split(syn: Conv | Dense, weight: np.ndarray, pool: SumPool, taken: set[str]) -> list[Node]:
    """``syn`` with ``weight``, as one synapse or several of ``weight_t`` that sum to it."""
    t: IntT = syn.weight_t
    parts, rest = [], np.asarray(weight, np.int64)
    while True:
        part = np.clip(rest, t.lo, t.hi)
        parts.append(part)
        rest = rest - part
        if not rest.any():
            break
    if len(parts) > 1 and syn.weight_exp < 0:
        raise IRError(f"{pool.name}: folding into {syn.name} adds overlapping weights up to "
                      f"{int(np.abs(weight).max())} beyond {t.describe()}; splitting them is exact only "
                      f"for weight_exp >= 0 (got {syn.weight_exp})")
    names = [syn.name]
    while len(names) < len(parts):
        cand = f"{syn.name}_fold{len(names)}"
        while cand in taken:
            cand += "_"
        taken.add(cand)
        names.append(cand)
    return [replace(syn, name=nm, weight=w) for nm, w in zip(names, parts)]


def _fold_one(g: Graph, pool: SumPool) -> list[Node]:
    shapes = g.shapes()
    c, h, w = shapes[pool.source]
    assert pool.stride is not None
    taken = set(g.by_name)
    new: dict[str, list[Node]] = {}
    for user in g.consumers[pool.name]:
        if isinstance(user, Conv):
            mh, sh, ph = _conv_axis(pool, user, 0, h)
            mw, sw, pw = _conv_axis(pool, user, 1, w)
            wk = np.einsum("ocyx,yY,xX->ocYX", np.asarray(user.weight, np.int64), mh, mw)
            folded = replace(user, source=pool.source, stride=(sh, sw), padding=(ph, pw), dilation=(1, 1))
            new[user.name] = _split(folded, wk, pool, taken)
        elif isinstance(user, Flatten) and all(isinstance(d, Dense) for d in g.consumers[user.name]):
            new[user.name] = [replace(user, source=pool.source)]
            ph_ = _pool_rows(h, pool.kernel[0], pool.stride[0], pool.padding[0])
            pw_ = _pool_rows(w, pool.kernel[1], pool.stride[1], pool.padding[1])
            for d in g.consumers[user.name]:
                assert isinstance(d, Dense)
                wd = np.asarray(d.weight, np.int64).reshape(len(d.weight), c, len(ph_), len(pw_))
                wd = np.einsum("ocij,ih,jw->ochw", wd, ph_, pw_).reshape(len(wd), -1)
                new[d.name] = _split(d, wd, pool, taken)
        else:
            raise IRError(f"{pool.name}: cannot fold a SumPool into {type(user).__name__} {user.name!r} "
                          "(it must feed Conv or Flatten -> Dense)")
    renamed = {k: tuple(n.name for n in v) for k, v in new.items() if len(v) > 1}
    out: list[Node] = []
    for n in g.nodes:
        if n is pool:
            continue
        if n.name in new:
            out += new[n.name]
        elif n.role in ("population", "readout") and any(s in renamed for s in n.inputs):
            srcs = tuple(x for s in n.inputs for x in renamed.get(s, (s,)))
            out.append(replace(n, sources=srcs))                       # type: ignore[call-arg]
        else:
            out.append(n)
    return out
