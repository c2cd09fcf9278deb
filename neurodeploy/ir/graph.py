"""The graph container: a DAG of nodes in topological order, shapes and logical depths.

Structure rules (checked on construction, each violation one :class:`IRError` naming a node):
unique names; every source names an existing node; no cycles; exactly one ``Input``.  The
stored order is a topological order (stable: a valid order given by the caller is kept).
:meth:`Graph.check_dataflow` adds what simulators and backends rely on: one ``Readout``;
populations and the readout are fed only by synapses; each synapse feeds exactly one
population or readout; every node reaches the readout (no dangling outputs).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.nodes import IFPopulation, Input, Node, Readout
from neurodeploy.ir.schedule import Schedule, ScheduleKind

__all__ = ["FORMAT_VERSION", "Graph", "Schedule", "ScheduleKind", "infer_shapes", "topological_order"]

FORMAT_VERSION = "2.0"


def topological_order(nodes: tuple[Node, ...]) -> tuple[Node, ...]:
    """``nodes`` sorted so every node follows its sources (stable); refuses cycles and
    unknown sources, naming the node."""
    by_name: dict[str, Node] = {}
    for n in nodes:
        if n.name in by_name:
            raise IRError(f"graph: duplicate node name {n.name!r}")
        by_name[n.name] = n
    for n in nodes:
        for src in n.inputs:
            if src not in by_name:
                raise IRError(f"{n.name}.source: {src!r} is not a node of the graph")
            if src == n.name:
                raise IRError(f"{n.name}.source: a node cannot read itself (cycle)")
    done: set[str] = set()
    order: list[Node] = []
    pending = list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all(s in done for s in n.inputs):
                order.append(n)
                done.add(n.name)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise IRError(f"{rest[0].name}: part of a cycle (its sources never become ready: "
                          f"{[s for s in rest[0].inputs if s not in done]})")
        pending = rest
    return tuple(order)


@dataclass(frozen=True)
class Graph:
    """Nodes in topological order plus the schedule and provenance."""

    nodes: tuple[Node, ...]
    schedule: Schedule = Schedule()
    meta: dict[str, str] = field(default_factory=dict)
    format_version: str = FORMAT_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", topological_order(tuple(self.nodes)))
        inputs = [n for n in self.nodes if n.role == "input"]
        if len(inputs) != 1:
            raise IRError(f"graph: expected exactly one Input node, found {len(inputs)}")

    @cached_property
    def by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    def node(self, name: str) -> Node:
        try:
            return self.by_name[name]
        except KeyError:
            raise IRError(f"graph: no node named {name!r}") from None

    @cached_property
    def consumers(self) -> dict[str, tuple[Node, ...]]:
        """Nodes reading each node."""
        out: dict[str, list[Node]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for src in n.inputs:
                out[src].append(n)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def input(self) -> Input:
        return next(n for n in self.nodes if isinstance(n, Input))

    @property
    def readout(self) -> Readout:
        found = [n for n in self.nodes if isinstance(n, Readout)]
        if len(found) != 1:
            raise IRError(f"graph: expected exactly one Readout node, found {len(found)}")
        return found[0]

    def populations(self) -> list[IFPopulation]:
        """Spiking populations in topological order."""
        return [n for n in self.nodes if isinstance(n, IFPopulation)]

    @cached_property
    def depths(self) -> dict[str, int]:
        """Logical depth of every node: synaptic hops on the longest path from the Input.

        Input 0; a synapse and tensor ops keep their sources' (maximum) depth; a population or
        the readout is ``1 + max`` over its synapses."""
        d: dict[str, int] = {}
        for n in self.nodes:
            base = max((d[s] for s in n.inputs), default=0)
            d[n.name] = base + 1 if n.role in ("population", "readout") else base
        return d

    @property
    def depth(self) -> int:
        """``D``: the readout's logical depth minus one (populations on the longest path)."""
        return self.depths[self.readout.name] - 1

    def with_nodes(self, nodes: tuple[Node, ...] | list[Node]) -> Graph:
        return replace(self, nodes=tuple(nodes))

    def with_schedule(self, schedule: Schedule) -> Graph:
        return replace(self, schedule=schedule)

    @cached_property
    def _shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for n in self.nodes:
            shapes[n.name] = tuple(n.out_shape([shapes[s] for s in n.inputs]))
        return shapes

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Output shape of every node (per sample); raises naming the node whose inputs clash."""
        return dict(self._shapes)

    def value_bounds(self) -> dict[str, int]:
        """Largest magnitude each node can emit (spikes 1, Input ``2**bits - 1``, ...)."""
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.name] = n.value_bound([out[s] for s in n.inputs])
        return out

    def check_dataflow(self) -> None:
        """What simulators and backends rely on, beyond acyclicity (see module docstring)."""
        ro = self.readout
        for n in self.nodes:
            if n.role in ("population", "readout"):
                for src in n.inputs:
                    if self.node(src).role != "synapse":
                        s = self.node(src)
                        raise IRError(f"{n.name}.sources: {src!r} is a {type(s).__name__}; populations "
                                      "and the readout are fed by Dense or Conv synapses only")
            if n.role == "synapse":
                users = self.consumers[n.name]
                if len(users) != 1 or users[0].role not in ("population", "readout"):
                    raise IRError(f"{n.name}: a synapse must feed exactly one population or the readout, "
                                  f"feeds {[u.name for u in users]}")
                if self.node(n.inputs[0]).role == "readout":
                    raise IRError(f"{n.name}.source: the readout does not emit spikes")
            if n is not ro and not self.consumers[n.name]:
                raise IRError(f"{n.name}: dangling node (nothing reads its output)")
        self.shapes()

    def spike_sources(self, name: str) -> list[str]:
        """Populations (or the Input) whose values reach node ``name`` through synapse-free
        tensor ops (pool, flatten, concat) or the node itself for a population."""
        n = self.node(name)
        if n.role in ("population", "input"):
            return [n.name]
        out: list[str] = []
        for src in n.inputs:
            for s in self.spike_sources(src):
                if s not in out:
                    out.append(s)
        return out


def infer_shapes(nodes: tuple[Node, ...]) -> dict[str, tuple[int, ...]]:
    """Output shape of each node of a (possibly unfinished) node list in topological order."""
    shapes: dict[str, tuple[int, ...]] = {}
    for n in nodes:
        missing = [s for s in n.inputs if s not in shapes]
        if missing:
            raise IRError(f"{n.name}.source: {missing[0]!r} is not an earlier node")
        shapes[n.name] = tuple(n.out_shape([shapes[s] for s in n.inputs]))
    return shapes
