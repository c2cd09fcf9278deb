"""Integer IR graph -> NIR graph (``nir`` 1.0.x, written with ``nir.write``).

Every value is the exact float that the IR's integers stand for, in each population's integer
potential units (the IR's own units: thresholds ``theta``, currents ``shift(W s, e)``):

===============  ==================================================================================
IR node          NIR nodes and edges
===============  ==================================================================================
Input            ``Input(shape)``; it is fed the unsigned integers ``x_int`` (real value ``x_int * scale``)
Dense            ``Affine(W * 2**e, b)`` on the synapse that carries its target's bias, else ``Linear(W * 2**e)``
Conv             ``Conv2d((H, W), W * 2**e, stride, padding, dilation, groups, b or 0)``
SumPool          ``SumPool2d(kernel, stride, padding)``
Flatten          ``Flatten((C, H, W), start_dim=0, end_dim=-1)`` (NIR counts axes without the batch axis)
Concat           no node: a synapse reading a concatenation is split by input slices into one NIR
                 synapse per source (``W [s_1; s_2] = W_1 s_1 + W_2 s_2``; pools and flattens between
                 are repeated per source), every piece an edge into the same target
IFPopulation     ``IF(r=1, v_threshold=theta, v_reset=0)``; its ``K`` synapses are ``K`` edges, summed
Readout          ``I(r=1)`` (the integrator ``acc(t) = acc(t-1) + I(t) + b``) followed by ``Output``
===============  ==================================================================================

The bias ``b = bias_mant << bias_exp`` of a population or of the readout rides on its first
synapse (``Affine``/``Conv2d`` bias: added once per step).  Time: one NIR time unit is one
logical step (``dt = 1``; forward Euler ``v(t) = v(t-1) + r dt I(t)`` with ``r = 1``), and within a
step every node reads its sources' values of the same step, as in the IR's logical time.  What
is refused or noted is decided by :mod:`neurodeploy.interop.nir_policy`.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy import __version__
from neurodeploy.interop.nir_policy import ExportRefused, Note, nir_types_hold, review, saturation_free_steps
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Concat, Conv, Dense, Flatten, IFPopulation, Input, Node, Readout, SumPool
from neurodeploy.ir.ranges import INT64_SPEC, prove_ranges
from neurodeploy.ir.serialize import HASH_FIELD, graph_to_json

GRAPH_METADATA = {
    "time": "one NIR time unit = one logical step: dt = 1, r = 1 (v(t) = v(t-1) + I(t)); within a step "
            "every node reads its sources' values of the same step",
    "units": "integer potential units of each population (thresholds, weights * 2**weight_exp, biases)",
    "readout": "nir.I integrates the readout current; the prediction after t steps is argmax of its state",
}


@dataclass(frozen=True)
class Piece:
    """A slice ``[offset, offset + length)`` along axis 0 of an IR node's value, produced by the
    NIR node ``nir_name`` (a node of the export) whose output has shape ``shape``."""

    nir_name: str
    offset: int
    length: int
    shape: tuple[int, ...]


@dataclass
class NirExport:
    """The NIR graph of an IR graph and the notes on its rendering (losses and exact translations)."""

    graph: Any                                   # nir.NIRGraph
    notes: list[Note] = field(default_factory=list)
    clip_free_steps: int = 0                     # min over populations of saturation_free_steps

    @property
    def losses(self) -> list[Note]:
        return [n for n in self.notes if n.kind == "loss"]


class _Builder:
    """Walks the IR in topological order, emitting NIR nodes, edges and per-node metadata."""

    def __init__(self, graph: Graph, notes: list[Note]) -> None:
        import nir

        self.nir, self.graph, self.shapes = nir, graph, graph.shapes()
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.pieces: dict[str, list[Piece]] = {}
        self.notes = notes
        self.bounds = {e.node: e.current_bound for e in prove_ranges(graph, 1, INT64_SPEC)}
        self.clip_free: dict[str, int] = {}

    def meta(self, n: Node, **extra: Any) -> dict[str, Any]:
        """Node metadata: the IR node it renders and any notes about it."""
        out: dict[str, Any] = {"neurodeploy_node": f"{type(n).__name__} {n.name}", **extra}
        for kind in ("loss", "exact"):
            texts = [x.line() for x in self.notes if x.node == n.name and x.kind == kind]
            if texts:
                out[f"neurodeploy_{kind}"] = "; ".join(texts)
        return out

    def whole(self, n: Node, nir_name: str | None = None) -> None:
        shape = self.shapes[n.name]
        self.pieces[n.name] = [Piece(nir_name or n.name, 0, shape[0], shape)]

    def add(self, n: Node) -> None:
        """Render ``n`` with the method :data:`RENDERERS` names for its node type."""
        render = RENDERERS.get(type(n))
        if render is None:                                      # pragma: no cover - NODE_TYPES is closed
            raise TypeError(f"{n.name}: no NIR rendering for {type(n).__name__}")
        getattr(self, render)(n)

    def input(self, n: Input) -> None:
        self.nodes[n.name] = self.nir.Input({"input": np.array(n.shape)}, metadata=self.meta(
            n, values=f"unsigned {n.bits}-bit integers x_int; the real input is x_int * {n.scale!r}"))
        self.whole(n)

    def concat(self, n: Concat) -> None:
        """No NIR node: the pieces of every source, offset along axis 0."""
        pieces, offset = [], 0
        for src in n.sources:
            for p in self.pieces[src]:
                pieces.append(Piece(p.nir_name, offset + p.offset, p.length, p.shape))
            offset += self.shapes[src][0]
        self.pieces[n.name] = pieces

    def tensor_op(self, n: SumPool | Flatten) -> None:
        """A pool or flatten, once per piece of its source (per concatenated source)."""
        src = self.pieces[n.source]
        out = []
        for k, p in enumerate(src):
            name = n.name if len(src) == 1 else f"{n.name}__{k}"
            if isinstance(n, SumPool):
                node = self.nir.SumPool2d(np.array(n.kernel), np.array(n.stride), np.array(n.padding),
                                          metadata=self.meta(n))
                shape = n.out_shape([p.shape])
                out.append(Piece(name, p.offset, p.length, shape))
            else:
                node = self.nir.Flatten({"input": np.array(p.shape)}, 0, -1, metadata=self.meta(n))
                inner = int(np.prod(p.shape[1:]))
                shape = (int(np.prod(p.shape)),)
                out.append(Piece(name, p.offset * inner, p.length * inner, shape))
            self.nodes[name] = node
            self.edges.append((p.nir_name, name))
        self.pieces[n.name] = out

    def synapse(self, n: Dense | Conv) -> None:
        """One NIR synapse per piece of the input, each an edge into the target; the first piece of
        the target's first synapse carries the target's bias."""
        target = self.graph.consumers[n.name][0]
        assert isinstance(target, (IFPopulation, Readout))
        src = self.pieces[n.source]
        w = n.weight.astype(np.float64) * 2.0 ** n.weight_exp                 # exact: int8 mantissas
        for k, p in enumerate(src):
            name = n.name if len(src) == 1 else f"{n.name}__{k}"
            with_bias = n.name == target.sources[0] and k == 0
            meta = self.meta(n, weight=f"W_int * 2**{n.weight_exp}", **({"bias": f"{target.name}: bias_mant << "
                                                                           f"{target.bias_exp}"} if with_bias else {}))
            if isinstance(n, Dense):
                part = w[:, p.offset:p.offset + p.length]
                bias = target.bias.astype(np.float64)
                node = (self.nir.Affine(part, bias, metadata=meta) if with_bias
                        else self.nir.Linear(part, metadata=meta))
            else:
                if n.groups != 1 and len(src) != 1:
                    raise ExportRefused(f"{n.name}.groups: a grouped convolution reading a concatenation cannot "
                                        "be split into one NIR synapse per source")
                part = w[:, p.offset:p.offset + p.length]
                bias = (target.bias.reshape(target.shape[0], -1)[:, 0].astype(np.float64) if with_bias
                        else np.zeros(part.shape[0]))
                node = self.nir.Conv2d(tuple(int(d) for d in p.shape[1:]), part, n.stride, n.padding,
                                       n.dilation, n.groups, bias, metadata=meta)
            self.nodes[name] = node
            self.edges += [(p.nir_name, name), (name, target.name)]

    def population(self, n: IFPopulation) -> None:
        theta = n.threshold.astype(np.float64) - (0.5 if n.compare == ">=" else 0.0)
        safe = self.clip_free[n.name] = saturation_free_steps(n, self.bounds[n.name])
        self.nodes[n.name] = self.nir.IF(np.ones(n.shape), theta, np.zeros(n.shape), metadata=self.meta(
            n, state=f"the IR saturates v to {n.state_t.describe()}, NIR's v is unbounded: identical for "
                     f"T <= {safe} steps (static bound), beyond only while no potential leaves the range"))
        self.whole(n)

    def readout(self, n: Readout) -> None:
        self.nodes[n.name] = self.nir.I(np.ones(n.shape), metadata=self.meta(
            n, values="acc(t) = acc(t-1) + I(t) + b; prediction = argmax acc(t) (lowest index on ties)"))
        out = "output" if "output" not in self.shapes else f"{n.name}_output"
        self.nodes[out] = self.nir.Output({"output": np.array(n.shape)})
        self.edges.append((n.name, out))


#: The :class:`_Builder` method that renders each IR node type (the exporter's own visitor table).
RENDERERS: dict[type, str] = {Input: "input", Concat: "concat", SumPool: "tensor_op", Flatten: "tensor_op",
                              Dense: "synapse", Conv: "synapse", IFPopulation: "population", Readout: "readout"}


def to_nir(graph: Graph, allow_loss: bool = False) -> NirExport:
    """The NIR rendering of ``graph``; :class:`~neurodeploy.interop.nir_policy.ExportRefused` (one
    line naming node and field) for what NIR cannot express (see :mod:`~neurodeploy.interop.nir_policy`)."""
    import nir

    notes = review(graph, allow_loss)
    b = _Builder(graph, notes)
    for n in graph.nodes:
        b.add(n)
    doc, _ = graph_to_json(graph)
    meta = {**GRAPH_METADATA, "producer": f"neurodeploy {__version__}", "nir_version": nir.version,
            "graph_sha256": doc[HASH_FIELD],
            "losses": len([x for x in notes if x.kind == "loss"])}
    checkable = all(nir_types_hold(n) for n in graph.nodes if isinstance(n, Conv))
    return NirExport(nir.NIRGraph(b.nodes, b.edges, metadata=meta, type_check=checkable), notes,
                     min(b.clip_free.values(), default=1 << 62))


def nir_bytes(export: NirExport) -> bytes:
    """The HDF5 bytes ``nir.write`` produces for ``export``."""
    import nir

    buf = io.BytesIO()
    nir.write(buf, export.graph)
    return buf.getvalue()


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_nir_output(out: Path, graph_dir: Path | None = None) -> None:
    """Refuse an output path that is a folder, overlaps the input graph folder, or is an existing
    file other than an HDF5 file (a previous NIR export may be replaced, nothing else)."""
    from neurodeploy.atomic import OutputRefused

    path = Path(out)
    if graph_dir is not None:
        src, dst = Path(graph_dir).resolve(), path.resolve()
        if dst == src or src in dst.parents or dst in src.parents:
            raise OutputRefused(f"{path}: the output would overwrite, contain or sit inside the input {graph_dir}")
    if path.is_dir():
        raise OutputRefused(f"{path}: is a folder; name the .nir file to write")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise OutputRefused(f"{path}: exists and is not a regular file; choose another output path")
    if path.is_file():
        with path.open("rb") as fh:
            if fh.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
                raise OutputRefused(f"{path}: exists and is not an HDF5 (NIR) file; choose another output path "
                                    "(nothing was written)")


def write_nir(graph: Graph, out: Path, allow_loss: bool = False, graph_dir: Path | None = None) -> NirExport:
    """Render ``graph`` and write it to ``out`` atomically (a temporary sibling, then a rename);
    refusals happen before anything is written."""
    from neurodeploy.atomic import write_bytes

    check_nir_output(out, graph_dir)
    export = to_nir(graph, allow_loss)
    write_bytes(Path(out), nir_bytes(export))
    return export
