"""Fit a conversion to what a target's backend proves it runs exactly.

Some limits are only known to a backend: Lava's stock LIF is exact only while ``v`` cannot
drift to the state minimum within a sample (the clip there leaves a residue; see
``neurodeploy.backends.lava.lif_bounds``), and its bound depends on the currents, thresholds
and biases the converter chooses.  Both scale with ``Theta = 2**k``, so lowering ``k`` of the
refused populations moves them back into the proven region at the cost of coarser weights.

:func:`integerize_for_backend` repeats: integerize with per-population caps on ``k``, ask the
backend which nodes it refuses, lower those nodes' caps by one; until the backend accepts the
graph (its layers reported inexact with the reason), or a refused node is already at
``Theta = 2`` or is not a population (then the backend's reasons are raised).
"""
from __future__ import annotations

from collections.abc import Callable

from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.report import ConversionReport
from neurodeploy.convert.stages import FloatNetwork
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import CompareMode, ResetMode
from neurodeploy.targets import CPU, TargetSpec

Refusals = Callable[[Graph], dict[str, list[str]]]


def integerize_for_backend(net: FloatNetwork, spec: TargetSpec, refusals: Refusals, *,
                           reset: ResetMode = "subtract", compare: CompareMode = ">=",
                           schedule: Schedule = Schedule(), allow_inexact: bool = True,
                           ) -> tuple[Graph, ConversionReport]:
    """:func:`integerize` whose result ``refusals`` accepts (``{}``); see the module docstring.

    ``refusals(graph)`` maps node names to the backend's reasons (``""`` for the graph as a
    whole).  Raises :class:`IRError` with the backend's reasons when lowering cannot help."""
    caps: dict[str, int] = {}
    previous: dict[str, list[str]] = {}
    while True:
        graph, report = integerize(net, spec, reset=reset, compare=compare, schedule=schedule,
                                   allow_inexact=allow_inexact, theta_caps=caps)
        found = refusals(graph)
        if not found:
            return graph, report
        layers = {r.name: r for r in report.layers}
        # a reason that reads the same after Theta was lowered does not depend on Theta (a delay,
        # a fan-in, a kernel field): stop at once instead of lowering to Theta = 2
        stuck = [name for name in found if name not in layers or layers[name].threshold <= 2
                 or found[name] == previous.get(name)]
        previous = found
        if stuck or not allow_inexact:
            reasons = "; ".join(r for name in (stuck or list(found)) for r in found[name])
            raise IRError(f"target {spec.name} refuses the graph: {reasons}")
        for name in found:
            caps[name] = layers[name].threshold.bit_length() - 2          # k - 1


def integerize_on_target(net: FloatNetwork, spec: TargetSpec, *, reset: ResetMode = "subtract",
                         compare: CompareMode = ">=", schedule: Schedule = Schedule(),
                         allow_inexact: bool = True) -> tuple[Graph, ConversionReport]:
    """:func:`integerize` for the CPU simulator; for every other (Lava-executed) target
    :func:`integerize_for_backend` with the Lava backend's per-node refusals for ``spec``."""
    if spec == CPU:
        return integerize(net, spec, reset=reset, compare=compare, schedule=schedule,
                          allow_inexact=allow_inexact)
    from neurodeploy.backends.lava.backend import LavaBackend
    return integerize_for_backend(net, spec, LavaBackend(spec).issues_by_node, reset=reset, compare=compare,
                                  schedule=schedule, allow_inexact=allow_inexact)
