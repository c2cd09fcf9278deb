"""Library functions behind the CLI: each command is parse -> one call here -> print/save."""
from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.atomic import atomic_dir, write_json
from neurodeploy.convert.fit_target import integerize_on_target
from neurodeploy.convert.integerize import ConversionReport
from neurodeploy.convert.stages import FloatNetwork, InputSpec
from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import CompareMode, ResetMode
from neurodeploy.ir.serialize import graph_to_json, write_graph_files
from neurodeploy.manifest import write_manifest
from neurodeploy.targets import get_target

REPORT_FILE = "conversion_report.json"
CERTIFIED_STEPS = 1 << 16     # the range certificate holds for runs of up to this many logical steps
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
    """Load a QAT checkpoint (zoo model or the user's ``module:function``) and trace it with
    torch.fx into a :class:`FloatNetwork` (a DAG: residual adds, concat, pooling)."""
    from neurodeploy.convert.from_brevitas import network_from_brevitas
    from neurodeploy.quant.checkpoint import load_checkpoint

    model, config = load_checkpoint(Path(ckpt))
    shape = config.get("input_shape") or INPUT_SHAPES.get(str(config.get("dataset")))
    if shape is None:
        raise ValueError(f"{ckpt}/config.json: no input_shape and unknown dataset {config.get('dataset')!r}")
    spec = InputSpec(tuple(int(d) for d in shape), int(config["input_bits"]), float(config["input_scale"]))
    meta = {**contract_meta(config), "model": str(config.get("model", "")), "checkpoint": str(Path(ckpt).resolve())}
    return network_from_brevitas(model, spec, meta), model, config


def convert_checkpoint(ckpt: Path, *, target: str = "cpu", neuron: str = "subtract",
                       method: str = "qcfs", tau: int = 4) -> tuple[Graph, ConversionReport]:
    """QAT checkpoint -> integer IR graph and the per-layer conversion report."""
    net, _, config = network_from_checkpoint(ckpt)
    mode = NeuronMode.named(neuron)
    window = int(config.get("levels", net.levels))
    graph, report = integerize_on_target(net, get_target(target), reset=mode.reset, compare=mode.compare,
                                         schedule=schedule_for(method, tau=tau, window=window))
    return graph, report


def check_against_ann(graph: Graph, ckpt: Path, *, data_dir: Path | None = None, dataset: str | Path | None = None,
                      max_samples: int = 1000) -> dict[str, Any]:
    """Does the integer reference equal the Brevitas ANN, for this graph's neuron mode?

    Runs both on the first ``max_samples`` test images of the checkpoint's dataset and compares
    every population's integer counts (``a * L / lambda``) and the predictions, zero tolerance.
    ``exact`` is true only if every count and prediction agrees (checked, not assumed)."""
    from neurodeploy.convert.from_brevitas import brevitas_activations
    from neurodeploy.quant.checkpoint import load_checkpoint
    from neurodeploy.reference import ann_reference

    model, config = load_checkpoint(Path(ckpt))
    levels = int(graph.meta.get("levels", "0") or config.get("levels", 0))
    x, _ = load_test_data(graph, data_dir, dataset=dataset)
    x = x[:max_samples]
    ann_counts, logits = brevitas_activations(model, x, float(config["input_scale"]))
    ref = ann_reference(graph, x, levels)
    agree = total = 0
    per_layer: dict[str, float] = {}
    for name, counts in ref.counts.items():
        theirs = ann_counts.get(name)
        if theirs is None or np.shape(theirs) != counts.shape:
            raise ValueError(f"{name}: the Brevitas model has no matching activation to compare")
        same = int(np.sum(theirs == counts))
        per_layer[name] = same / counts.size
        agree, total = agree + same, total + counts.size
    pred_agree = float(np.mean(np.argmax(logits, axis=1) == np.argmax(ref.logits, axis=1)))
    exact = agree == total and pred_agree == 1.0
    pops = graph.populations()
    why = ""
    if not exact and pops and pops[0].reset == "zero":
        why = ("zero-reset neurons start at v0 = 0 and fire on '>', which drops QCFS's half-step shift; "
               "use --neuron subtract for an exact SNN")
    elif not exact:
        why = "the float -> integer mapping is inexact (see the per-layer errors)"
    return {"exact": bool(exact), "samples": int(len(x)), "split": "test", "neuron": pops[0].reset if pops else "",
            "prediction_agreement": pred_agree, "count_agreement": agree / max(total, 1),
            "per_layer_count_agreement": per_layer, "why": why}


def certify(graph: Graph, steps: int = CERTIFIED_STEPS) -> list[Any]:
    """The static range proof of ``graph`` on its own target (:func:`neurodeploy.ir.ranges.prove_ranges`)."""
    from neurodeploy.ir.ranges import prove_ranges

    return prove_ranges(graph, steps, get_target(graph.meta.get("target", "cpu")))


def save_converted(graph: Graph, report: ConversionReport, out: Path, extra: dict[str, Any] | None = None,
                   inputs: tuple[Path, ...] = ()) -> Path:
    """Write a graph folder (graph.json, arrays.npz, conversion_report.json, manifest.json) atomically."""
    graph_doc, arrays = graph_to_json(graph)
    report_doc = {**report.to_json(), **(extra or {})}
    check = report_doc.get("ann_check")
    report_doc["mapping_exact"] = bool(report.exact)
    report_doc["exact"] = bool(report.exact) and (check is None or bool(check.get("exact")))
    report_doc["range_certificate"] = {"steps": CERTIFIED_STEPS, "target": graph.meta.get("target", "cpu"),
                                       "nodes": [e.to_json() for e in certify(graph)]}
    with atomic_dir(Path(out), inputs=inputs, kind="graph") as tmp:
        write_graph_files(graph_doc, arrays, tmp)
        write_json(tmp / REPORT_FILE, report_doc)
        write_manifest(tmp, "graph", {"schedule": graph_doc["schedule"]})
    return Path(out)


def contract_meta(config: dict[str, Any]) -> dict[str, str]:
    """The data contract of a checkpoint config as graph metadata (strings): ``dataset`` (built-in name or
    path), ``dataset_sha256``, ``class_names`` and ``input_encoding`` (JSON); fields a config lacks are left out."""
    meta = {"dataset": str(config.get("dataset", ""))}
    if config.get("dataset_sha256"):
        meta["dataset_sha256"] = str(config["dataset_sha256"])
    for key in ("class_names", "input_encoding"):
        if config.get(key) is not None:
            meta[key] = json.dumps(config[key], sort_keys=True)
    return meta


def _warn(message: str) -> None:
    warnings.warn(message, DatasetMismatchWarning, stacklevel=3)


class DatasetMismatchWarning(UserWarning):
    """The data given to a graph is not the data it was trained on (fingerprints differ)."""


def load_test_data(graph: Graph, data_dir: Path | None = None, *, dataset: str | Path | None = None,
                   warn: Callable[[str], None] = _warn) -> tuple[np.ndarray, np.ndarray]:
    """The test split of ``dataset`` (default: the one recorded in the graph's metadata, a built-in name or a
    path), encoded as the graph's input expects and in its input shape (C-order reshape, e.g. digits' 64
    pixels as 1x8x8), and its labels.  ``warn`` is told when the data's fingerprint differs from the
    recorded one; an encoding the graph cannot take is refused."""
    from neurodeploy.data import is_builtin, load_dataset

    recorded = graph.meta.get("dataset", "")
    spec = str(dataset) if dataset is not None else recorded
    if not spec:
        raise ValueError("graph.meta.dataset: the graph does not name its dataset; pass --dataset or --input")
    encoding = json.loads(graph.meta.get("input_encoding", "{}"))
    step = float(encoding["step"]) if encoding.get("kind") == "quantised" else None
    inp = graph.input
    if dataset is None and not is_builtin(spec) and not Path(spec).exists():
        raise ValueError(f"graph.meta.dataset: the graph's dataset {spec} is not there any more; "
                         "pass --dataset PATH or --input FILE")
    ds = load_dataset(spec, data_dir, input_bits=inp.bits, input_step=step)
    if ds.input_bits > inp.bits or ds.input_scale != inp.scale:
        raise ValueError(f"{spec}: inputs are {ds.input_bits}-bit with scale {ds.input_scale:g}, the graph's "
                         f"input {inp.name} takes {inp.bits}-bit with scale {inp.scale:g}")
    expected = graph.meta.get("dataset_sha256", "")
    if expected and ds.fingerprint != expected:
        warn(f"dataset {spec} (sha256 {ds.fingerprint[:12]}) is not the data the graph was trained on "
             f"({recorded}, sha256 {expected[:12]})")
    x = np.asarray(ds.x_test)
    shape = inp.shape
    if int(np.prod(x.shape[1:])) != int(np.prod(shape)):
        raise ValueError(f"{inp.name}: the {spec} test set has samples of shape {x.shape[1:]}, "
                         f"the graph expects {shape}")
    return x.reshape(len(x), *shape), np.asarray(ds.y_test)


def inspect_graph(graph: Graph) -> list[dict[str, Any]]:
    """One row per node (topological order): type, output shape, logical depth, inputs, integer
    formats, neuron and synapse counts; merges list each branch's synapse, source and exponent."""
    shapes = graph.shapes()
    depths = graph.depths
    rows = []
    for n in graph.nodes:
        shape = shapes[n.name]
        row: dict[str, Any] = {"name": n.name, "type": type(n).__name__, "shape": list(shape),
                               "depth": depths[n.name], "inputs": ",".join(n.inputs),
                               "neurons": int(np.prod(shape)) if n.role == "population" else 0,
                               "synapses": n.synapse_count(shape), "bits": n.describe()}
        if n.role in ("population", "readout") and len(n.inputs) > 1:
            row["merge"] = [{"synapse": s, "from": ",".join(graph.node(s).inputs),
                             "weight_exp": int(getattr(graph.node(s), "weight_exp", 0))} for s in n.inputs]
        rows.append(row)
    return rows
