"""``LavaBackend``: check, emit (bundle) and run an integer IR graph on Lava 0.10.

Lava is imported lazily inside the functions that need it (after
:func:`neurodeploy.backends.lava.compat.install`), so importing this module works without
lava-nc.  ``run`` executes all samples in ONE long Lava run on
``Loihi2SimCfg(select_tag="fixed_pt")`` (per-sample state reload inside the neurons) and
returns a :class:`Trace` in logical time: a population of logical depth ``d``
(:attr:`Graph.depths`) computes logical step ``t`` of sample ``b`` at Lava step
``b * period + t + d`` (``t`` 1-based); delays equalise paths of unequal length.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.backends.lava.checks import issues_by_node
from neurodeploy.backends.lava.emit import NetworkPlan, plan_network, prepare

from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.random_graph import random_inputs
from neurodeploy.targets import LAVA_SIM_SUBIF, TargetSpec, get_target

DEFAULT_BUNDLE_SAMPLES = 4


class LavaBackend:
    """Lava backend; ``spec`` picks the neuron: ``lava-sim-subif`` (custom process, default)
    or ``lava-sim-lif`` (stock LIF/LIFReset)."""

    name: ClassVar[str] = "lava"

    def __init__(self, spec: TargetSpec | str = LAVA_SIM_SUBIF, *, hardware: bool = False) -> None:
        self.spec = get_target(spec) if isinstance(spec, str) else spec
        self.hardware = hardware
        self.last_timings: dict[str, float] = {}

    def check(self, graph: Graph, spec: TargetSpec | None = None, steps: int | None = None) -> list[str]:
        """Reasons (naming layer and limit) why ``graph`` cannot run exactly; [] = supported.

        ``steps`` (useful steps T) proves the stock-LIF bounds for samples of exactly that
        length; without it, for the target's longest sample (``spec.max_sample_steps``)."""
        return [r for found in self.issues_by_node(graph, steps, spec).values() for r in found]

    def issues_by_node(self, graph: Graph, steps: int | None = None,
                       spec: TargetSpec | None = None) -> dict[str, list[str]]:
        """:meth:`check`'s reasons grouped by node name (``""``: the graph as a whole)."""
        try:
            g = prepare(graph)
        except IRError as exc:                   # fold_pooling refusals name the node
            return {"": [str(exc)]}
        period = None if steps is None else graph.schedule.total_steps(steps, graph.depth)
        return issues_by_node(g, spec or self.spec, period)

    def plan(self, graph: Graph, steps: int) -> NetworkPlan:
        """The Lava plan (pure numpy) for ``graph`` with ``steps`` useful steps."""
        return plan_network(prepare(graph), self.spec, steps)

    def emit(self, graph: Graph, out: Path, *, samples: np.ndarray | None = None,
             steps: int = 8, chip: TargetSpec | None = None) -> Path:
        """Write the bundle folder (see :mod:`neurodeploy.backends.lava.bundle`) atomically.

        With ``chip`` (e.g. the ``loihi2`` TargetSpec) the populations are mapped to its cores
        first; a network that does not fit is refused (ResourceError naming layer and limit)
        and the core mapping is recorded in the manifest."""
        from neurodeploy.backends.lava.bundle import write_bundle
        from neurodeploy.backends.lava.resources import require_fit
        self.plan(graph, steps)                  # refuse early what Lava cannot express
        resources = require_fit(graph, chip).to_json() if chip is not None else None
        x = random_inputs(graph, DEFAULT_BUNDLE_SAMPLES, seed=0) if samples is None else samples
        return write_bundle(graph, Path(out), self.spec, np.asarray(x, np.int64), steps, resources)

    def run(self, graph: Graph, x: np.ndarray, steps: int,
            probes: Sequence[str] | str = ()) -> Trace:
        """All samples in one Lava run; Trace in logical time (``probes``: names or "all")."""
        from neurodeploy.backends.lava.network import run_plan
        from neurodeploy.backends.lava.readback import to_trace
        plan = self.plan(graph, steps)
        names = [p.name for p in plan.populations]
        wanted = names if probes == "all" else list(probes)
        unknown = [p for p in wanted if p not in names]
        if unknown:
            raise ValueError(f"probes: {unknown} are not populations (populations: {names})")
        x = np.asarray(x, np.int64)
        raw = run_plan(plan, x, record=bool(wanted), hardware=self.hardware)
        self.last_timings = dict(raw.timings, physical_steps=float(raw.physical_steps))
        return to_trace(plan, raw, int(x.shape[0]), wanted)

    def physical_step(self, graph: Graph, steps: int, depth: int, sample: int, step: int) -> int:
        """Lava ``time_step`` (1-based) at which the node of logical ``depth``
        (:attr:`Graph.depths`: populations 1..D, readout D+1) computes 0-based logical
        ``step`` of ``sample``."""
        period = graph.schedule.total_steps(steps, graph.depth)
        return sample * period + step + 1 + depth
