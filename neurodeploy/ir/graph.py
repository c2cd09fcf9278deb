"""The graph container, the run schedule and shape inference."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.nodes import (
    Conv,
    Dense,
    Flatten,
    IFPopulation,
    Input,
    Node,
    Readout,
    SumPool,
)

FORMAT_VERSION = "1.0"
ScheduleKind = Literal["plain", "srp", "two_phase"]


@dataclass(frozen=True)
class Schedule:
    """How a sample's logical steps are organised (the same for every layer).

    * ``plain``: every population integrates and fires on every step ``t = 1..T``.
    * ``srp`` (Hao et al., AAAI 2023): ``tau`` pre-simulation steps run plainly; at the end of
      step ``tau`` every neuron latches ``g = [1000 * v > threshold]`` (i.e. ``v/theta > 1e-3``),
      ``v`` is reloaded with ``v0`` and the readout is cleared; afterwards a neuron's emitted
      spike is ``s * g``.  Only steps after ``tau`` feed the prediction.
    * ``two_phase`` (SpikeConverter reconstruction A, Liu et al., AAAI 2022): population ``l``
      (1-based, in graph order) integrates without firing during window ``l`` (steps
      ``(l-1)*window+1 .. l*window``), then fires with subtraction during window ``l+1``
      while ignoring input; the readout integrates during window ``D+1`` only (``D`` =
      number of populations).  Latency ``(D+1)*window`` steps.
    """

    kind: ScheduleKind = "plain"
    tau: int = 0
    window: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("plain", "srp", "two_phase"):
            raise IRError(f"schedule.kind: unknown schedule {self.kind!r}")
        if self.kind == "srp" and self.tau < 1:
            raise IRError("schedule.tau: SRP needs tau >= 1 pre-simulation steps")
        if self.kind == "two_phase" and self.window < 1:
            raise IRError("schedule.window: two_phase needs window >= 1")

    def total_steps(self, steps: int, depth: int) -> int:
        """Logical steps per sample to obtain ``steps`` useful steps (``T``)."""
        if self.kind == "srp":
            return self.tau + steps
        if self.kind == "two_phase":
            return (depth + 1) * self.window
        return steps


@dataclass(frozen=True)
class Graph:
    """Nodes in topological (chain) order plus the schedule and provenance."""

    nodes: tuple[Node, ...]
    schedule: Schedule = Schedule()
    meta: dict[str, str] = field(default_factory=dict)
    format_version: str = FORMAT_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise IRError(f"graph: duplicate node names in {names}")

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise IRError(f"graph: no node named {name!r}")

    @property
    def input(self) -> Input:
        first = self.nodes[0] if self.nodes else None
        if not isinstance(first, Input):
            raise IRError("graph: the first node must be an Input")
        return first

    @property
    def readout(self) -> Readout:
        last = self.nodes[-1] if self.nodes else None
        if not isinstance(last, Readout):
            raise IRError("graph: the last node must be a Readout")
        return last

    def populations(self) -> list[IFPopulation]:
        return [n for n in self.nodes if isinstance(n, IFPopulation)]

    @property
    def depth(self) -> int:
        """Number of spiking populations ``D``."""
        return len(self.populations())

    def with_nodes(self, nodes: tuple[Node, ...] | list[Node]) -> "Graph":
        return replace(self, nodes=tuple(nodes))

    def with_schedule(self, schedule: Schedule) -> "Graph":
        return replace(self, schedule=schedule)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Output shape of every node (per sample), checking that shapes chain."""
        return infer_shapes(self.nodes)


def _conv_out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def infer_shapes(nodes: tuple[Node, ...]) -> dict[str, tuple[int, ...]]:
    """Output shape of each node; raises :class:`IRError` naming the node that breaks the chain."""
    shapes: dict[str, tuple[int, ...]] = {}
    for n in nodes:
        if isinstance(n, Input):
            shapes[n.name] = tuple(n.shape)
            continue
        if n.source not in shapes:
            raise IRError(f"{n.name}.source: {n.source!r} is not an earlier node")
        src = shapes[n.source]
        if isinstance(n, Dense):
            if len(src) != 1 or src[0] != n.weight.shape[1]:
                raise IRError(f"{n.name}: weight expects input ({n.weight.shape[1]},), got {src}")
            shapes[n.name] = (n.weight.shape[0],)
        elif isinstance(n, Conv):
            co, ci, kh, kw = n.weight.shape
            if len(src) != 3 or src[0] != ci:
                raise IRError(f"{n.name}: weight expects input with {ci} channels (C,H,W), got {src}")
            h = _conv_out(src[1], kh, n.stride, n.padding)
            w = _conv_out(src[2], kw, n.stride, n.padding)
            if h < 1 or w < 1:
                raise IRError(f"{n.name}: kernel {kh}x{kw} does not fit input {src}")
            shapes[n.name] = (co, h, w)
        elif isinstance(n, SumPool):
            if len(src) != 3 or src[1] % n.kernel or src[2] % n.kernel:
                raise IRError(f"{n.name}: input {src} is not (C,H,W) divisible by kernel {n.kernel}")
            shapes[n.name] = (src[0], src[1] // n.kernel, src[2] // n.kernel)
        elif isinstance(n, Flatten):
            size = 1
            for d in src:
                size *= d
            shapes[n.name] = (size,)
        elif isinstance(n, (IFPopulation, Readout)):
            if tuple(n.shape) != tuple(src):
                raise IRError(f"{n.name}.shape: {n.shape} does not match its synapse output {src}")
            shapes[n.name] = tuple(n.shape)
        else:  # pragma: no cover - exhaustive over Node
            raise IRError(f"{getattr(n, 'name', n)}: unknown node type {type(n).__name__}")
    return shapes
