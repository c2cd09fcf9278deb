"""Public entry point of the CPU simulator: :func:`simulate`.

``simulate`` refuses graphs the simulators cannot run (:meth:`Graph.check_dataflow`: cycles,
dangling nodes, populations not fed by synapses, mismatched merges; one line naming the node),
checks the inputs against the graph's ``Input`` type, resolves probes and runs
``schedule.total_steps(steps, graph.depth)`` logical steps with one of three bit-identical
implementations: ``"fast"`` (default; numpy, time-folded, :mod:`.fast`), ``"torch"`` (the same
engine on torch's kernels, CPU or CUDA, :mod:`.torchsim`) or ``"reference"`` (the readable
step-by-step interpreter, :mod:`.reference`).
"""
from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import numpy as np

from neurodeploy.backends.cpusim import fast, reference
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.ranges import INT64_SPEC, prove_ranges

MAX_TRACE_BYTES = 8 << 30   # recorded spikes/v/current of one simulate() call
IMPLS = ("auto", "fast", "torch", "reference")
AUTO_TORCH_MIN_BATCH = 8    # below this torch's per-call overhead makes the numpy path faster


def choose_impl(impl: str, batch: int) -> str:
    """``"auto"``: the torch path on the CPU when torch is installed and the batch is large enough to
    amortise its per-call overhead (measured faster from about 8 samples on the zoo CNN and
    ResNet, T = 4 and 8), else numpy ``"fast"``."""
    if impl != "auto":
        return impl
    if batch >= AUTO_TORCH_MIN_BATCH and importlib.util.find_spec("torch") is not None:
        return "torch"
    return "fast"


def check_inputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    """``x`` as int64 (batch, *input shape); raises naming the Input on shape/type/range errors."""
    inp = graph.input
    a = np.asarray(x)
    if a.ndim != len(inp.shape) + 1 or tuple(a.shape[1:]) != tuple(inp.shape):
        raise IRError(f"{inp.name}: expected inputs of shape (batch, {', '.join(map(str, inp.shape))}), "
                      f"got {a.shape}")
    if a.size and a.dtype.kind not in "iub":
        raise IRError(f"{inp.name}: expected integer inputs, got dtype {a.dtype}")
    inp.value_t.check(a.astype(np.int64), f"{inp.name} (input values)")
    return a.astype(np.int64)


def resolve_probes(graph: Graph, probes: Sequence[str] | str) -> list[str]:
    """Population names to record; ``"all"`` = every population; unknown names raise."""
    names = [p.name for p in graph.populations()]
    if isinstance(probes, str):
        if probes == "all":
            return names
        probes = [probes]
    unknown = [p for p in probes if p not in names]
    if unknown:
        raise ValueError(f"probes: {unknown} are not populations of this graph (populations: {names})")
    return list(dict.fromkeys(probes))


def simulate(graph: Graph, x: np.ndarray, steps: int, *, probes: Sequence[str] | str = (),
             record_v: bool = False, record_current: bool = False, impl: str = "auto",
             chunk: int | None = None, progress: bool = False, device: str | None = None) -> Trace:
    """Run integer inputs ``x`` for ``steps`` useful steps; returns a :class:`Trace` in logical time.

    The run lasts ``graph.schedule.total_steps(steps, graph.depth)`` steps and
    ``Trace.first_useful_step`` is 0 (plain), ``tau`` (srp) or ``D * window`` (two_phase).

    ``impl`` chooses the implementation; all three give bit-identical traces.  The default,
    ``"auto"``, takes ``"torch"`` on the CPU for batches of at least ``AUTO_TORCH_MIN_BATCH``
    samples when torch is installed, and ``"fast"`` otherwise (:func:`choose_impl`):

    * ``"fast"``: numpy, needs nothing beyond the core dependencies.  Time-folded:
      each node runs all steps of a chunk of samples before the next node (a synapse is one
      matmul/conv over the ``steps x samples`` axis), with float32/float64 BLAS only where the
      weight-times-input bound proves the sums exact, int64 otherwise.
    * ``"torch"``: the same engine on torch's matmul/conv2d kernels under the same bound
      (float32 below ``2**24``, float64 below ``2**53``, host int64 above), on ``device``
      (``"cpu"``, the default, or ``"cuda"``/``"cuda:N"``).  Needs the ``quant`` extra (torch);
      the fastest on CPU from about 8 samples (see BENCHMARKS.md).
    * ``"reference"``: the readable step-by-step interpreter (slow; the executable spec).

    ``device`` applies to ``impl="torch"`` only.  ``chunk`` caps the samples simulated together;
    ``None`` sizes chunks from a memory budget (``folded.MEMORY_BUDGET``, 64 MiB of live
    activations); the reference ignores it.  ``progress`` shows a progress bar over chunks.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps: must be >= 0, got {steps}")
    graph.check_dataflow()
    xs = check_inputs(graph, x)
    names = resolve_probes(graph, probes)
    total = graph.schedule.total_steps(steps, graph.depth)
    prove_ranges(graph, total, INT64_SPEC)              # refuse what int64 cannot hold, naming node/field
    per_value = 1 + 8 * record_v + 8 * record_current   # uint8 spikes, int64 v and current
    shapes = graph.shapes()
    trace_bytes = total * len(xs) * per_value * sum(int(np.prod(shapes[n])) for n in names)
    if trace_bytes > MAX_TRACE_BYTES:
        raise ValueError(f"probes: recording {len(names)} populations for {total} steps x {len(xs)} samples "
                         f"needs {trace_bytes / 2**30:.1f} GiB (limit {MAX_TRACE_BYTES / 2**30:.0f} GiB); "
                         "probe fewer populations, steps or samples")
    if impl not in IMPLS:
        raise ValueError(f"impl: expected one of {list(IMPLS)}, got {impl!r}")
    impl = choose_impl(impl, len(xs))
    if impl != "torch" and device not in (None, "cpu"):
        raise ValueError(f"device: {device!r} needs impl='torch' (impl {impl!r} runs on the CPU)")
    if impl == "fast":
        return fast.run(graph, xs, total, names, record_v, record_current, chunk=chunk,
                        progress=progress)
    if impl == "torch":
        from neurodeploy.backends.cpusim import torchsim  # torch is an optional dependency

        return torchsim.run(graph, xs, total, names, record_v, record_current, chunk=chunk,
                            progress=progress, device=device or "cpu")
    return reference.run(graph, xs, total, names, record_v, record_current)
