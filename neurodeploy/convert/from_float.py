"""Float-ANN route: a PyTorch model trained *without* QAT -> :class:`FloatNetwork`.

The model is an ``nn.Sequential`` walked in order.  Supported children: ``Conv2d`` (one stride
and padding for both axes, no dilation/groups), ``Linear``, ``BatchNorm1d/2d`` (folded into
the preceding synapse by :func:`neurodeploy.convert.batchnorm.fold_batchnorm`), ``ReLU``
(closes a stage; its threshold is left NaN until a calibration pass sets it, see
:mod:`neurodeploy.calibrate.threshold`), ``AvgPool2d`` (kernel == stride, no padding),
``Flatten``, ``Dropout`` and ``Identity``.  ``MaxPool2d`` is refused, or replaced by an
``AvgPool2d`` of the same kernel when ``maxpool_to_avgpool=True`` (recorded in the returned
notes and in ``FloatNetwork.meta``; this changes the function the network computes).  Anything
else stops the conversion with an error naming the layer.

Every hidden stage gets ``v0_fraction = 1/2``: this is how we realise CAL's per-step shift
``theta/(2T)`` (Li et al., arXiv 2205.10121): its total over T steps is ``theta/2``, so we put it
in the initial potential instead of the bias (same spike count for constant drive, no extra bias
rounding, exact integer ``Theta/2`` for ``Theta = 2**k``).

torch is imported inside the functions, never at module import.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from neurodeploy.convert.batchnorm import fold_batchnorm
from neurodeploy.convert.from_brevitas import UnsupportedLayerError, _single
from neurodeploy.convert.stages import FloatNetwork, FloatStage, InputSpec, PreOp

SUPPORTED = "Conv2d, Linear, BatchNorm1d/2d, ReLU, AvgPool2d, Flatten, Dropout, Identity"


class StateDictError(ValueError):
    """A state_dict that does not fit the model (the message names the key)."""


def _synapse(name: str, m: Any, pre: tuple[PreOp, ...], index: int) -> FloatStage:
    """Stage ``conv<index>`` / ``fc<index>`` (as the QAT route names them), source module ``name``."""
    import torch.nn as nn

    weight = m.weight.detach().double().numpy().copy()
    bias = np.zeros(weight.shape[0]) if m.bias is None else m.bias.detach().double().numpy().copy()
    if isinstance(m, nn.Conv2d):
        if _single(m.dilation, name, "dilation") != 1 or m.groups != 1:
            raise UnsupportedLayerError(f"layer {name!r}: dilated or grouped convolution is not supported")
        return FloatStage(f"conv{index}", "conv", weight, bias, stride=_single(m.stride, name, "stride"),
                          padding=_single(m.padding, name, "padding"), pre=pre, threshold=math.nan,
                          source_layer=name)
    return FloatStage(f"fc{index}", "dense", weight, bias, pre=pre, threshold=math.nan, source_layer=name)


def _pool_kernel(name: str, m: Any) -> int:
    k = _single(m.kernel_size, name, "kernel_size")
    stride = _single(m.stride if m.stride is not None else k, name, "stride")
    if stride != k or _single(m.padding, name, "padding") != 0:
        raise UnsupportedLayerError(f"layer {name!r}: {type(m).__name__} needs stride == kernel and no padding")
    if getattr(m, "dilation", 1) not in (1, (1, 1)) or getattr(m, "ceil_mode", False):
        raise UnsupportedLayerError(f"layer {name!r}: {type(m).__name__} with dilation/ceil_mode is not supported")
    return k


def network_from_float(model: Any, input_spec: InputSpec, meta: dict[str, str] | None = None, *,
                       maxpool_to_avgpool: bool = False) -> tuple[FloatNetwork, list[str]]:
    """Walk ``model`` into a :class:`FloatNetwork` (thresholds NaN) and a list of notes.

    Raises :class:`UnsupportedLayerError` naming the first layer it cannot map.
    """
    import torch.nn as nn

    stages: list[FloatStage] = []
    pending: FloatStage | None = None
    pre: list[PreOp] = []
    notes: list[str] = []
    for name, m in model.named_children():
        kind = type(m).__name__
        if isinstance(m, (nn.Conv2d, nn.Linear)) and type(m) in (nn.Conv2d, nn.Linear):
            if pending is not None:
                raise UnsupportedLayerError(f"layer {name!r}: two synapses without a ReLU between them")
            pending, pre = _synapse(name, m, tuple(pre), len(stages) + 1), []
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if pending is None:
                raise UnsupportedLayerError(f"layer {name!r}: BatchNorm must follow a conv/linear layer")
            pending = fold_batchnorm(pending, m, name)
        elif isinstance(m, nn.ReLU):
            if pending is None:
                raise UnsupportedLayerError(f"layer {name!r}: ReLU without a preceding conv/linear layer")
            stages.append(replace(pending, v0_fraction=0.5))
            pending = None
        elif isinstance(m, nn.AvgPool2d):
            pre.append(("pool", _pool_kernel(name, m)))
        elif isinstance(m, nn.MaxPool2d):
            if not maxpool_to_avgpool:
                raise UnsupportedLayerError(
                    f"layer {name!r}: MaxPool2d has no integrate-and-fire equivalent; retrain with "
                    "AvgPool2d, or pass maxpool_to_avgpool=True (--maxpool-to-avgpool) to replace it "
                    "by AvgPool2d (changes the network's function)")
            k = _pool_kernel(name, m)
            pre.append(("pool", k))
            notes.append(f"layer {name!r}: MaxPool2d({k}) replaced by AvgPool2d({k})")
        elif isinstance(m, nn.Flatten):
            pre.append(("flatten", 0))
        elif isinstance(m, (nn.Dropout, nn.Identity)):
            continue
        else:
            raise UnsupportedLayerError(f"layer {name!r}: unsupported layer type {kind} (supported: {SUPPORTED})")
    if pending is None:
        raise UnsupportedLayerError("model: the last layer must be a conv/linear readout without ReLU")
    if pre:
        raise UnsupportedLayerError("model: pooling/flatten after the readout layer is not supported")
    stages.append(replace(pending, threshold=None))
    full_meta = {**(meta or {}), "route": "float"}
    if notes:
        full_meta["maxpool_to_avgpool"] = "; ".join(notes)
    return FloatNetwork(input_spec, tuple(stages), levels=0, meta=full_meta), notes


def build_float_factory(spec: str) -> Any:
    """A model from a float zoo name (``bn_cnn``) or a ``package.module:function`` factory."""
    from neurodeploy.convert.float_zoo import FLOAT_ZOO

    if spec in FLOAT_ZOO:
        return FLOAT_ZOO[spec]()
    if ":" not in spec:
        raise ValueError(f"--from-float {spec!r}: not a float zoo model ({sorted(FLOAT_ZOO)}) "
                         "nor a module:function factory")
    mod_name, fn_name = spec.split(":", 1)
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--from-float {spec!r}: cannot import factory ({exc})") from None
    model = fn()
    import torch.nn as nn

    if not isinstance(model, nn.Sequential):
        raise ValueError(f"--from-float {spec!r}: factory returned {type(model).__name__}, expected nn.Sequential")
    return model


def load_state(model: Any, path: str | Path) -> Any:
    """Load ``path`` (a state_dict, ``weights_only=True``) into ``model``; errors name the key."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"state_dict {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        raise StateDictError(f"state_dict {path}: cannot be read with weights_only=True ({exc})") from None
    if not isinstance(state, dict):
        raise StateDictError(f"state_dict {path}: expected a dict of tensors, got {type(state).__name__}")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing:
        raise StateDictError(f"state_dict {path}: missing key {missing[0]!r} ({len(missing)} missing)")
    if unexpected:
        raise StateDictError(f"state_dict {path}: unexpected key {unexpected[0]!r} ({len(unexpected)} unexpected)")
    for key, value in own.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise StateDictError(f"state_dict {path}: key {key!r} has shape {tuple(state[key].shape)}, "
                                 f"the model expects {tuple(value.shape)}")
    model.load_state_dict(state)
    model.eval()
    return model


def load_float_model(spec: str, state_dict: str | Path | None) -> Any:
    """Factory (zoo name or ``module:function``) plus optional state_dict file, in eval mode."""
    model = build_float_factory(spec)
    if state_dict is not None:
        load_state(model, state_dict)
    model.eval()
    return model
