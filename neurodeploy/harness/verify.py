"""Verify a backend against the CPU simulator (the executable spec), zero tolerance.

Both run the same integer inputs with probes on every population; spikes and membrane
potentials are compared layer by layer and step by step in *logical* time, and the readout
accumulators after them.  The **first divergence** is the smallest
``(logical step, layer index, flat neuron index, sample)`` with layers in topological order:
errors only propagate forward in time and along the graph's edges, so the earliest one is
the cause.  It is reported with the layer name,
the unravelled neuron index, expected/actual spike and v, the neuron's input current, bias
and previous v (from the simulator), and the backend's physical step where it has one
(Lava: ``sample * period + t + depth`` with the layer's logical depth, 1-based ``time_step``).
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.atomic import atomic_dir, write_bytes, write_json
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import IFPopulation

REFERENCE_MAX_WORK = 200_000   # samples * steps * neurons below which the reference impl is used


@dataclass
class Divergence:
    """The earliest mismatch (all indices 0-based; ``step`` is logical, ``t = step + 1``)."""

    step: int
    layer_index: int
    layer: str
    neuron_flat: int
    neuron: list[int]
    sample: int
    expected_spike: int | None
    actual_spike: int | None
    expected_v: int | None
    actual_v: int | None
    current: int | None = None
    bias: int | None = None
    previous_v: int | None = None
    physical_step: int | None = None


@dataclass
class VerifyReport:
    """Outcome of :func:`verify_backend`; ``ok`` iff nothing differs."""

    backend: str
    steps: int
    samples: int
    total_steps: int
    layers: list[str]
    mismatches: dict[str, int]
    first_divergence: Divergence | None = None
    simulator_impl: str = "fast"
    timings: dict[str, float] = field(default_factory=dict)
    _evidence: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.first_divergence is None and not any(self.mismatches.values())

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_evidence", None)
        d["ok"] = self.ok
        return d


def _get_backend(backend: Any) -> Any:
    if not isinstance(backend, str):
        return backend
    if backend == "lava":
        from neurodeploy.backends.lava.backend import LavaBackend
        return LavaBackend()
    from importlib.metadata import entry_points
    for ep in entry_points(group="neurodeploy.targets"):
        if ep.name == backend:
            return ep.load()()
    raise ValueError(f"unknown backend {backend!r}")


def verify_backend(graph: Graph, x: np.ndarray, steps: int, backend: Any = "lava", *,
                   impl: str | None = None, backend_graph: Graph | None = None) -> VerifyReport:
    """Run the CPU simulator and ``backend`` (a name or an object with ``run``) on ``x``.

    ``backend_graph`` (default ``graph``) is what the backend runs: tests pass a perturbed
    copy to check that the report finds the injected fault.
    """
    import time
    from neurodeploy.backends.cpusim.simulate import simulate
    be = _get_backend(backend)
    pops = graph.populations()
    x = np.asarray(x, np.int64)
    work = len(x) * graph.schedule.total_steps(steps, graph.depth) * sum(p.v0.size for p in pops)
    impl = impl or ("reference" if work <= REFERENCE_MAX_WORK else "fast")
    t0 = time.perf_counter()
    exp = simulate(graph, x, steps, probes="all", record_v=True, record_current=True, impl=impl)
    t1 = time.perf_counter()
    act = be.run(backend_graph or graph, x, steps, probes="all")
    t2 = time.perf_counter()
    rep = VerifyReport(backend=getattr(be, "name", str(backend)), steps=steps, samples=len(x),
                       total_steps=exp.steps, layers=[p.name for p in pops] + [graph.readout.name],
                       mismatches={}, simulator_impl=impl,
                       timings={"simulator_s": t1 - t0, "backend_s": t2 - t1})
    best: tuple[int, int, int, int] | None = None
    for li, p in enumerate(pops):
        es, as_ = exp.spikes[p.name], act.spikes.get(p.name)
        ev, av = exp.v[p.name], act.v.get(p.name)
        if as_ is None or av is None or as_.shape != es.shape or av.shape != ev.shape:
            rep.mismatches[p.name] = -1
            key = (0, li, 0, 0)
            best = key if best is None or key < best else best
            continue
        bad = (es != as_) | (ev != av)                       # [t, b, *shape]
        rep.mismatches[p.name] = int(bad.sum())
        if bad.any():
            flat = bad.reshape(bad.shape[0], bad.shape[1], -1)
            t, b, n = np.argwhere(flat).T
            order = np.lexsort((b, n, t))                    # by step, then neuron, then sample
            key = (int(t[order[0]]), li, int(n[order[0]]), int(b[order[0]]))
            best = key if best is None or key < best else best
    ro = graph.readout
    bad_ro = exp.readout != act.readout if exp.readout.shape == act.readout.shape else None
    rep.mismatches[ro.name] = -1 if bad_ro is None else int(bad_ro.sum())
    if bad_ro is not None and bad_ro.any():
        t, b, n = np.argwhere(bad_ro.reshape(bad_ro.shape[0], bad_ro.shape[1], -1)).T
        order = np.lexsort((b, n, t))
        key = (int(t[order[0]]), len(pops), int(n[order[0]]), int(b[order[0]]))
        best = key if best is None or key < best else best
    if best is not None:
        rep.first_divergence = _describe(graph, steps, be, exp, act, best, rep)
    return rep


def _val(a: np.ndarray | None, t: int, b: int, n: int) -> int | None:
    if a is None or t >= a.shape[0] or b >= a.shape[1]:
        return None
    return int(a[t, b].reshape(-1)[n])


def _describe(graph: Graph, steps: int, be: Any, exp: Any, act: Any,
              key: tuple[int, int, int, int], rep: VerifyReport) -> Divergence:
    t, li, n, b = key
    pops = graph.populations()
    if li < len(pops):
        p: Any = pops[li]
        es, as_ = exp.spikes[p.name], act.spikes.get(p.name)
        ev, av = exp.v[p.name], act.v.get(p.name)
    else:
        p = graph.readout
        es = as_ = None
        ev, av = exp.readout, act.readout
    depth = graph.depths[p.name]                        # logical depth: Lava's pipeline offset
    shape = tuple(p.shape)
    phys = None
    if hasattr(be, "physical_step"):
        phys = be.physical_step(graph, steps, depth, b, t)
    d = Divergence(
        step=t, layer_index=li, layer=p.name, neuron_flat=n,
        neuron=[int(i) for i in np.unravel_index(n, shape)], sample=b,
        expected_spike=_val(es, t, b, n), actual_spike=_val(as_, t, b, n),
        expected_v=_val(ev, t, b, n), actual_v=_val(av, t, b, n),
        current=_val(exp.current.get(p.name), t, b, n),
        bias=int(np.asarray(p.bias).reshape(-1)[n]),
        previous_v=(_val(ev, t - 1, b, n) if t > 0 else
                    (int(p.v0.reshape(-1)[n]) if isinstance(p, IFPopulation) else 0)),
        physical_step=phys)
    ev_b = {"expected_v": ev[:, b], "actual_v": av[:, b] if av is not None else np.zeros(0)}
    if es is not None:
        ev_b["expected_spikes"] = es[:, b]
        ev_b["actual_spikes"] = as_[:, b] if as_ is not None else np.zeros(0)
    rep._evidence = {k: np.asarray(v, np.int64) for k, v in ev_b.items()}
    return d


def write_evidence(report: VerifyReport, folder: Path) -> Path:
    """Write ``report.json`` and ``first_divergence.npz`` (the diverging layer's series for
    that sample, ``[t, *shape]``) into ``folder``, replaced atomically as a whole."""
    with atomic_dir(Path(folder), kind="evidence") as tmp:
        write_json(tmp / "report.json", report.to_json())
        buf = io.BytesIO()
        np.savez_compressed(buf, **report._evidence)
        write_bytes(tmp / "first_divergence.npz", buf.getvalue())
    return Path(folder)


def load_report(folder: Path) -> dict[str, Any]:
    """The JSON report written by :func:`write_evidence`."""
    return json.loads((Path(folder) / "report.json").read_text())
