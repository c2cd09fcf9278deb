"""Pass ``fold_pooling``: expand every SumPool into the synapse that consumes it.

``SumPool(k)`` computes ``y[c, i, j] = sum_{a,b<k} s[c, k*i + a, k*j + b]``.  Because a synapse
is linear, ``conv(y, W)`` with kernel ``kh x kw``, stride ``st`` and padding ``p`` equals
``conv(s, W')`` with kernel ``k*kh x k*kw``, stride ``k*st``, padding ``k*p`` and
``W'[o, c, k*dy + a, k*dx + b] = W[o, c, dy, dx]`` (a padded pool cell is a padded k x k
block).  For ``SumPool -> Flatten -> Dense`` the dense weight of the unpooled flattened input
is ``W'[o, (c, h, w)] = W[o, (c, h // k, w // k)]``.  Consecutive pools merge into one
``SumPool(k1 * k2)``.  Every synapse output is the same integer sum, so a simulation of the
result is bit-identical; weights keep their values (and type), so no bound grows.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, Node, SumPool


def fold_pooling(graph: Graph) -> Graph:
    """A new graph without SumPool nodes whose simulation equals ``graph``'s exactly."""
    nodes = list(graph.nodes)
    while True:
        pool = next((n for n in nodes if isinstance(n, SumPool)), None)
        if pool is None:
            return graph.with_nodes(nodes)
        nodes = _fold_one(nodes, pool, graph.with_nodes(nodes).shapes())


def _consumers(nodes: list[Node], name: str) -> list[Node]:
    return [n for n in nodes if getattr(n, "source", None) == name]


def _fold_one(nodes: list[Node], pool: SumPool, shapes: dict[str, tuple[int, ...]]) -> list[Node]:
    users = _consumers(nodes, pool.name)
    if len(users) != 1:
        raise IRError(f"{pool.name}: fold_pooling needs exactly one consumer, found {len(users)}")
    user, k = users[0], pool.kernel
    new: dict[str, Node] = {}
    if isinstance(user, SumPool):                                      # pool of pool = one pool
        new[user.name] = replace(user, source=pool.source, kernel=k * user.kernel)
    elif isinstance(user, Conv):
        w = np.repeat(np.repeat(user.weight, k, axis=2), k, axis=3)   # W'[.., k*dy+a, k*dx+b]
        new[user.name] = replace(user, source=pool.source, weight=w, stride=k * user.stride,
                                 padding=k * user.padding)
    elif isinstance(user, Flatten):
        dense = _consumers(nodes, user.name)
        if len(dense) != 1 or not isinstance(dense[0], Dense):
            raise IRError(f"{pool.name}: fold_pooling needs SumPool -> Flatten -> Dense, "
                          f"{user.name!r} feeds {[d.name for d in dense]}")
        c, h, w_ = shapes[pool.name]
        d = dense[0]
        wd = d.weight.reshape(-1, c, h, w_)
        wd = np.repeat(np.repeat(wd, k, axis=2), k, axis=3).reshape(len(wd), -1)
        new[user.name] = replace(user, source=pool.source)
        new[d.name] = replace(d, weight=wd)
    else:
        raise IRError(f"{pool.name}: cannot fold a SumPool into {type(user).__name__} {user.name!r} "
                      "(it must feed a Conv, a SumPool or Flatten -> Dense)")
    return [new.get(n.name, n) for n in nodes if n is not pool]
