"""Library entry of the float-ANN route: float model -> calibrated FloatNetwork -> integer graph.

Pipeline (Li, Deng, Dong, Gu, arXiv 2205.10121; docs/methods.md section 5)::

    model (+ state_dict)  --network_from_float-->  FloatNetwork (BN folded, thresholds unset)
        --set_thresholds(max | percentile | mmse, T)-->      per-population theta
        --calibrate_bias | calibrate_potential (optional)--> per-channel b / per-neuron v0
        --integerize-->                                      Graph + ConversionReport

Calibration images are ``calib_samples`` training images drawn with a seeded permutation;
``steps`` is the T used by the MMSE search and by the SNN runs of the calibration.  Nothing
is written here: callers save the graph at the end (``pipeline.save_converted`` is atomic).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.convert.fit_target import integerize_on_target
from neurodeploy.convert.integerize import ConversionReport
from neurodeploy.convert.stages import FloatNetwork, InputSpec
from neurodeploy.ir.graph import Graph
from neurodeploy.targets import get_target

CALIBRATIONS = ("none", "light", "advanced")
THRESHOLDS = ("max", "percentile", "mmse")
INPUT_SHAPES: dict[str, tuple[int, ...]] = {"mnist": (1, 28, 28), "digits": (64,)}


@dataclass
class FloatConversion:
    """Result of :func:`convert_float`: the graph, its report, the calibrated network and notes."""

    graph: Graph
    report: ConversionReport
    network: FloatNetwork
    info: dict[str, Any] = field(default_factory=dict)


def calibration_set(x_train: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` training images chosen by a seeded permutation (error if the set is empty)."""
    if n < 1:
        raise ValueError(f"--calib-samples must be >= 1, got {n}")
    if len(x_train) == 0:
        raise ValueError("no calibration data: the training set is empty")
    idx = np.random.default_rng(seed).permutation(len(x_train))[:n]
    return np.asarray(x_train[np.sort(idx)])


def calibrate_network(net: FloatNetwork, x_calib: np.ndarray, *, threshold: str = "mmse",
                      calibrate: str = "none", steps: int = 32, percentile: float = 99.99,
                      target: str = "cpu", neuron: str = "subtract") -> tuple[FloatNetwork, dict[str, Any]]:
    """Thresholds, then bias ("light") or potential ("advanced") calibration; pure."""
    from neurodeploy.calibrate.bias import calibrate_bias
    from neurodeploy.calibrate.layerwise import SimConfig
    from neurodeploy.calibrate.potential import calibrate_potential
    from neurodeploy.calibrate.threshold import set_thresholds

    if threshold not in THRESHOLDS:
        raise ValueError(f"--threshold {threshold!r}: expected one of {THRESHOLDS}")
    if calibrate not in CALIBRATIONS:
        raise ValueError(f"--calibrate {calibrate!r}: expected one of {CALIBRATIONS}")
    reset, compare = ("subtract", ">=") if neuron == "subtract" else ("zero", ">")
    if calibrate == "advanced" and reset == "zero":
        raise ValueError("--calibrate advanced sets initial potentials, which the zero-reset neuron ignores; "
                         "use --calibrate light or --neuron subtract")
    net = set_thresholds(net, x_calib, threshold, steps, percentile=percentile)  # type: ignore[arg-type]
    info: dict[str, Any] = {"threshold": threshold, "calibrate": calibrate, "calib_steps": steps,
                            "calib_samples": int(len(x_calib)),
                            "thresholds": {p.name: p.threshold for p in net.populations}}
    if calibrate != "none":
        cfg = SimConfig(steps, get_target(target), reset, compare)  # type: ignore[arg-type]
        fn = calibrate_bias if calibrate == "light" else calibrate_potential
        net, stats = fn(net, x_calib, steps, cfg=cfg)
        info["layer_error_before"] = [{"name": s.name, "mean_abs": s.mean_abs_error, "mean": s.mean_error}
                                      for s in stats]
    return net, info


def convert_float(model: str, state_dict: str | Path | None = None, *, threshold: str = "mmse",
                  calibrate: str = "none", calib_samples: int = 1024, steps: int = 32,
                  target: str = "cpu", neuron: str = "subtract", maxpool_to_avgpool: bool = False,
                  dataset: str = "mnist", data_dir: str | Path | None = None, percentile: float = 99.99,
                  seed: int = 0) -> FloatConversion:
    """Float model (zoo name or ``module:function``) + state_dict -> calibrated integer graph."""
    from neurodeploy.convert.from_float import load_float_model, network_from_float
    from neurodeploy.data import load_dataset

    if dataset not in INPUT_SHAPES:
        raise ValueError(f"--dataset {dataset!r}: expected one of {sorted(INPUT_SHAPES)}")
    torch_model = load_float_model(model, state_dict)
    data = load_dataset(dataset, data_dir)
    spec = InputSpec(INPUT_SHAPES[dataset], int(data.input_bits), float(data.input_scale))
    meta = {"dataset": dataset, "model": model, "state_dict": str(Path(state_dict).resolve()) if state_dict else ""}
    net, notes = network_from_float(torch_model, spec, meta, maxpool_to_avgpool=maxpool_to_avgpool)
    x_calib = calibration_set(data.x_train, calib_samples, seed)
    net, info = calibrate_network(net, x_calib, threshold=threshold, calibrate=calibrate, steps=steps,
                                  percentile=percentile, target=target, neuron=neuron)
    reset, compare = ("subtract", ">=") if neuron == "subtract" else ("zero", ">")
    graph, report = integerize_on_target(net, get_target(target), reset=reset, compare=compare)  # type: ignore[arg-type]
    info["notes"] = notes
    return FloatConversion(graph, report, net, info)
