"""Re-simulate an exported NIR file in a peer framework (Norse) and compare it with the integer simulator.

The peer is Norse 1.1.0 (Pehle and Pedersen, "Norse: a deep learning library for spiking neural
networks", doi:10.5281/zenodo.4422025), a test- and benchmark-only dependency: its NIR importer
``norse.torch.from_nir`` maps the primitives of an export as follows (norse/torch/utils/import_nir.py):

* ``Affine``/``Linear`` -> ``torch.nn.Linear``; ``Conv2d`` -> ``torch.nn.Conv2d`` (stride, padding,
  dilation, groups); ``SumPool2d`` -> ``LPPool2d(norm_type=1)``, i.e. window average times window
  area (exact for spikes and power-of-two windows; NIR's ``padding`` is ignored with a warning);
* ``Flatten(start_dim, end_dim)`` -> ``torch.nn.Flatten(start_dim, end_dim)``: torch counts the batch
  axis, NIR does not, so the check feeds *unbatched* samples, for which both readings coincide;
* ``IF`` -> ``IAFCell(v_th)``: ``v <- v + x; z = [v - v_th > 0]; v <- (1 - z) v + z v_reset`` with
  ``v_reset = 0``, starting from ``v_reset`` (``dt`` and ``r`` unused: ``r = 1`` is expected);
* ``I`` (the integrator) has no Norse mapping: the check removes that node (its incoming edges go
  to the ``Output``) and sums the per-step output itself, ``acc(t) = sum_{u <= t} out(u)``, which is
  ``nir.I`` with ``r = 1, dt = 1``.

Norse runs the graph with nirtorch's ``GraphExecutor`` (``nirtorch.load``), which orders nodes
depth-first from the input; a node listed before one of its sources reads that source's value
from the previous step (zero at step 1).  In a chain (MLP, CNN) the order is topological and
each step propagates through the whole network, exactly the IR's logical time (no hop delay);
:func:`late_edges` lists the edges the peer delays, so any disagreement they cause is named, and
``executor="nir_to_torch"`` runs the same Norse modules in topological order (nirtorch's
``nir_to_torch`` interpreter) to show that nothing else differs.

The comparison (:func:`compare`) also simulates the IR with unbounded potentials (``state_t``
widened) to count the samples whose result depends on the IR's saturation, which NIR lacks.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.ir.dtypes import IntT
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation

UNBOUNDED_STATE = IntT(48)     # wide enough that no potential of a test run reaches it


def peer_versions() -> dict[str, str]:
    """Versions of the peer stack (norse, nir, nirtorch, torch)."""
    from importlib.metadata import version

    return {name: version(name) for name in ("norse", "nir", "nirtorch", "torch")}


@dataclass
class PeerRun:
    """What the peer computed: ``readout[t, b, k]`` (the integrated output after step ``t+1``) and
    ``spikes[name][t, b, *shape]`` for every ``IF`` node; ``late_edges`` as in :func:`late_edges`."""

    readout: np.ndarray
    spikes: dict[str, np.ndarray]
    late_edges: list[tuple[str, str]]


def _without_integrator(nir_graph: Any) -> tuple[Any, list[str]]:
    """The graph with every ``nir.I`` node removed (its sources wired to its consumers)."""
    import nir

    drop = {k for k, v in nir_graph.nodes.items() if isinstance(v, nir.I)}
    nodes = {k: v for k, v in nir_graph.nodes.items() if k not in drop}
    edges = [(s, d) for s, d in nir_graph.edges if s not in drop and d not in drop]
    for s, d in nir_graph.edges:
        if d in drop:
            edges += [(s, d2) for s2, d2 in nir_graph.edges if s2 == d]
    return nir.NIRGraph(nodes, edges, metadata=nir_graph.metadata, type_check=False), sorted(drop)


def late_edges(module: Any) -> list[tuple[str, str]]:
    """Edges ``(source, node)`` of a nirtorch ``GraphExecutor`` whose source runs after the node:
    the node reads that source's previous-step value."""
    order = [n.name for n in module.execution_order]
    pos = {name: i for i, name in enumerate(order)}
    out = []
    for node in module.execution_order:
        for src in module.graph.find_source_nodes_of(node):
            if src.name in pos and pos[src.name] > pos[node.name]:
                out.append((src.name, node.name))
    return out


EXECUTORS = ("from_nir", "nir_to_torch")


def _norse_module(graph: Any, executor: str) -> Any:
    """``norse.torch.from_nir(graph)`` (nirtorch's depth-first ``GraphExecutor``), or Norse's own
    node mapping (the function ``from_nir`` applies to every node) run by nirtorch's ``nir_to_torch``
    interpreter, which executes in topological order."""
    import nir
    import norse.torch

    if executor == "from_nir":
        return norse.torch.from_nir(graph)
    if executor != "nir_to_torch":
        raise ValueError(f"executor: expected one of {list(EXECUTORS)}, got {executor!r}")
    import nirtorch
    import torch
    from norse.torch.utils.import_nir import _import_norse_module

    node_map: dict[Any, Any] = {type(v): _import_norse_module for v in graph.nodes.values()}
    node_map[nir.Input] = node_map[nir.Output] = lambda _node: torch.nn.Identity()
    return nirtorch.nir_to_torch(graph, node_map)


def _spike_recorder(module: Any, names: list[str], store: dict[str, Any]) -> None:
    """Forward hooks keeping each IF module's latest spikes ``z`` (its output is ``(z, state)``)."""
    children = dict(module.named_children())
    for name in names:
        clean = name.replace(".", "_")
        child = children.get(clean, children.get(f"nir_node_{clean}"))
        if child is None:
            raise ValueError(f"peer: no module for the IF node {name!r}")
        child.register_forward_hook(lambda _m, _i, out, key=name: store.__setitem__(key, out[0]))


def run_norse(path: Path, x: np.ndarray, steps: int, dtype: str = "float64",
              executor: str = "from_nir") -> PeerRun:
    """Read ``path`` with ``nir.read``, import it into Norse (``executor``: see :func:`_norse_module`)
    and run each sample of ``x`` (integers, fed as floats of ``dtype``, constant over time, unbatched)
    for ``steps`` steps."""
    import nir
    import torch
    from nirtorch.utils import sanitize_name

    full = nir.read(str(path), type_check=False)        # see nir_policy.nir_types_hold
    graph, integrators = _without_integrator(full)
    if len(integrators) != 1:
        raise ValueError(f"{path}: expected one nir.I readout, found {len(integrators)}")
    tdtype = getattr(torch, dtype)
    module = _norse_module(graph, executor).to(tdtype)
    ifs = [k for k, v in full.nodes.items() if isinstance(v, nir.IF)]
    output = sanitize_name(next(k for k, v in full.nodes.items() if isinstance(v, nir.Output)))
    latest: dict[str, Any] = {}
    _spike_recorder(module, ifs, latest)
    spikes = {k: np.zeros((steps, len(x), *full.nodes[k].v_threshold.shape), np.uint8) for k in ifs}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                    # single unbatched samples: more threads only add overhead
    try:
        readout = _run_samples(module, x, steps, tdtype, ifs, output, executor, latest, spikes)
    finally:
        torch.set_num_threads(threads)
    return PeerRun(readout, spikes, late_edges(module) if executor == "from_nir" else [])


def _run_samples(module: Any, x: np.ndarray, steps: int, tdtype: Any, ifs: list[str], output: str, executor: str,
                 latest: dict[str, Any], spikes: dict[str, np.ndarray]) -> np.ndarray:
    """The per-sample, per-step loop of :func:`run_norse`; fills ``spikes``, returns the readout."""
    import torch

    batch = len(x)
    readout: np.ndarray | None = None
    with torch.no_grad():
        for b in range(batch):
            xb = torch.as_tensor(np.asarray(x[b]), dtype=tdtype)
            state, acc = None, None
            for t in range(steps):
                out, state = module(xb, state)
                if executor == "from_nir":             # GraphExecutor returns its last node's value,
                    out = state.cache[output]          # which in a DAG need not be the Output
                acc = out.clone() if acc is None else acc + out            # nir.I: acc(t) = acc(t-1) + out(t)
                if readout is None:
                    readout = np.zeros((steps, batch, *acc.shape), np.float64)
                readout[t, b] = acc.numpy()
                for k in ifs:
                    spikes[k][t, b] = latest[k].numpy().astype(np.uint8)
    assert readout is not None
    return readout


def unbounded(graph: Graph) -> Graph:
    """``graph`` with every population's potential widened to :data:`UNBOUNDED_STATE` (NIR's
    unbounded ``v``); equal to ``graph`` on every input where no potential saturates."""
    return graph.with_nodes([dataclasses.replace(n, state_t=UNBOUNDED_STATE) if isinstance(n, IFPopulation) else n
                             for n in graph.nodes])


def _same_per_sample(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``equal[b]``: arrays ``(T, B, ...)`` agree for sample ``b`` at every step and element."""
    return np.all((a == b).reshape(a.shape[0], a.shape[1], -1), axis=(0, 2))


def compare(graph: Graph, path: Path, x: np.ndarray, steps: int, dtype: str = "float64",
            executor: str = "from_nir", labels: np.ndarray | None = None) -> dict[str, Any]:
    """Integer simulator vs the peer on ``x`` for ``steps`` steps, per sample and population.

    ``agree`` counts samples; a sample's disagreement is *explained by saturation* when the IR with
    unbounded potentials (:func:`unbounded`) differs from the IR on it; ``unexplained`` lists the
    samples where the peer differs from the unbounded IR (zero for an exact export).  With ``labels``,
    both accuracies after ``steps`` steps are added."""
    from neurodeploy.backends.cpusim.simulate import simulate

    ir = simulate(graph, x, steps, probes="all")
    wide = simulate(unbounded(graph), x, steps, probes="all")
    peer = run_norse(path, x, steps, dtype, executor)
    pops = [p.name for p in graph.populations()]
    saturated = ~_same_per_sample(ir.readout, wide.readout)
    peer_same = _same_per_sample(peer.readout, wide.readout.astype(np.float64))
    per_pop = {}
    for name in pops:
        saturated |= ~_same_per_sample(ir.spikes[name], wide.spikes[name])
        peer_same &= _same_per_sample(peer.spikes[name], wide.spikes[name])
        ir_counts, peer_counts = ir.spike_counts(name), peer.spikes[name].sum(axis=0, dtype=np.int64)
        differ = (ir_counts != peer_counts).reshape(len(x), -1)
        per_pop[name] = {"spikes_ir": int(ir_counts.sum()), "spikes_peer": int(peer_counts.sum()),
                         "neurons": int(differ.shape[1]), "count_mismatch_neuron_samples": int(differ.sum()),
                         "count_mismatch_samples": int(differ.any(axis=1).sum()),
                         "trains_equal_samples": int(_same_per_sample(ir.spikes[name], peer.spikes[name]).sum())}
    pred_ir, pred_peer = ir.predictions(), np.argmax(peer.readout, axis=-1)
    readout_equal = _same_per_sample(peer.readout, ir.readout.astype(np.float64))
    acc = {} if labels is None else {"accuracy_ir": float((pred_ir[-1] == labels).mean()),
                                     "accuracy_peer": float((pred_peer[-1] == labels).mean())}
    return {"samples": len(x), "steps": steps, "dtype": dtype, "executor": executor, **acc,
            "predictions_agree": int((pred_ir[-1] == pred_peer[-1]).sum()),
            "predictions_agree_every_step": int(np.all(pred_ir == pred_peer, axis=0).sum()),
            "readout_equal_samples": int(readout_equal.sum()),
            "saturated_samples": int(saturated.sum()),
            "unexplained_samples": [int(i) for i in np.flatnonzero(~peer_same)],
            "peer_late_edges": [list(e) for e in peer.late_edges],
            "populations": per_pop}
