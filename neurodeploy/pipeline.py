"""Library functions behind the CLI: each command is parse -> one call here -> print/save."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.atomic import atomic_dir, write_json
from neurodeploy.convert.integerize import ConversionReport, integerize
from neurodeploy.convert.stages import FloatNetwork, InputSpec
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import CompareMode, ResetMode
from neurodeploy.ir.serialize import graph_to_json, write_graph_files
from neurodeploy.manifest import write_manifest
from neurodeploy.targets import get_target

REPORT_FILE = "conversion_report.json"
INPUT_SHAPES: dict[str, tuple[int, ...]] = {"digits": (64,), "mnist": (1, 28, 28)}


@dataclass(frozen=True)
class NeuronMode:
    """The two neuron modes: subtractive reset firing on ``>=`` (the seed methods' neuron, our
    custom Lava process) and zero reset firing on ``>`` (Lava's stock LIF)."""

    reset: ResetMode
    compare: CompareMode

    @staticmethod
    def named(name: str) -> "NeuronMode":
        if name == "subtract":
            return NeuronMode("subtract", ">=")
        if name == "zero":
            return NeuronMode("zero", ">")
        raise ValueError(f"unknown neuron mode {name!r}; expected 'subtract' or 'zero'")


def schedule_for(method: str, tau: int = 4, window: int = 0) -> Schedule:
    """IR schedule of a conversion method: qcfs/nq -> plain, srp -> SRP(tau), spikeconverter -> two_phase."""
    if method in ("qcfs", "nq", "calibrated"):
        return Schedule()
    if method == "srp":
        return Schedule("srp", tau=tau)
    if method == "spikeconverter":
        return Schedule("two_phase", window=window)
    raise ValueError(f"unknown method {method!r}; expected qcfs, nq, srp or spikeconverter")


def network_from_checkpoint(ckpt: Path) -> tuple[FloatNetwork, Any, dict[str, Any]]:
    """Load a QAT checkpoint and describe it as a :class:`FloatNetwork`."""
    from neurodeploy.convert.from_brevitas import network_from_brevitas
    from neurodeploy.quant.checkpoint import load_checkpoint

    model, config = load_checkpoint(Path(ckpt))
    shape = config.get("input_shape") or INPUT_SHAPES.get(str(config.get("dataset")))
    if shape is None:
        raise ValueError(f"{ckpt}/config.json: no input_shape and unknown dataset {config.get('dataset')!r}")
    spec = InputSpec(tuple(shape), int(config["input_bits"]), float(config["input_scale"]))
    meta = {"dataset": str(config.get("dataset", "")), "model": str(config.get("model", "")),
            "checkpoint": str(Path(ckpt).resolve())}
    return network_from_brevitas(model, spec, meta), model, config


def convert_checkpoint(ckpt: Path, *, target: str = "cpu", neuron: str = "subtract",
                       method: str = "qcfs", tau: int = 4) -> tuple[Graph, ConversionReport]:
    """QAT checkpoint -> integer IR graph and the per-layer conversion report."""
    net, _, config = network_from_checkpoint(ckpt)
    mode = NeuronMode.named(neuron)
    window = int(config.get("levels", net.levels))
    graph, report = integerize(net, get_target(target), reset=mode.reset, compare=mode.compare,
                               schedule=schedule_for(method, tau=tau, window=window))
    return graph, report


def save_converted(graph: Graph, report: ConversionReport, out: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write a graph folder (graph.json, arrays.npz, conversion_report.json, manifest.json) atomically."""
    doc, arrays = graph_to_json(graph)
    with atomic_dir(Path(out)) as tmp:
        write_graph_files(doc, arrays, tmp)
        write_json(tmp / REPORT_FILE, {**report.to_json(), **(extra or {})})
        write_manifest(tmp, "graph", {"schedule": doc["schedule"]})
    return Path(out)


def load_test_data(graph: Graph, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The test split of the dataset named in the graph's metadata (integer inputs, labels)."""
    from neurodeploy.data import load_dataset

    name = graph.meta.get("dataset", "")
    if not name:
        raise ValueError("graph.meta.dataset: the graph does not name its dataset; pass --input")
    ds = load_dataset(name, data_dir)
    return np.asarray(ds.x_test), np.asarray(ds.y_test)


def inspect_graph(graph: Graph) -> list[dict[str, Any]]:
    """One row per node: type, output shape, integer widths, neuron and synapse counts."""
    shapes = graph.shapes()
    rows = []
    for n in graph.nodes:
        shape = shapes[n.name]
        row: dict[str, Any] = {"name": n.name, "type": type(n).__name__, "shape": list(shape),
                               "neurons": 0, "synapses": 0, "bits": ""}
        size = int(np.prod(shape))
        if hasattr(n, "weight"):
            w = n.weight
            per_out = int(np.count_nonzero(w)) if w.ndim == 2 else int(np.count_nonzero(w)) * size // w.shape[0]
            row.update(synapses=per_out, bits=f"w {n.weight_t.describe()} << {n.weight_exp}")
        elif hasattr(n, "threshold"):
            row.update(neurons=size, bits=f"v {n.state_t.describe()}, theta {int(n.threshold.min())}.."
                       f"{int(n.threshold.max())}, bias {n.bias_t.describe()} << {n.bias_exp}, "
                       f"{n.reset}/{n.compare}")
        elif type(n).__name__ == "Input":
            row.update(bits=f"{n.value_t.describe()} x {n.scale:g}")
        elif type(n).__name__ == "Readout":
            row.update(bits=f"bias {n.bias_t.describe()} << {n.bias_exp}")
        rows.append(row)
    return rows

