"""QAT route: a trained Brevitas model (``neurodeploy.quant`` zoo) -> :class:`FloatNetwork`.

The model is an ``nn.Sequential`` walked in order.  Supported children: ``QuantConv2d`` and
``QuantLinear`` (weights read back as ``q * 2**e`` exactly), ``BatchNorm1d/2d`` (folded into
the preceding synapse; this leaves the power-of-two grid, so the mapping becomes inexact
and is reported), ``QCFS`` / clip-floor activations (threshold = lambda, initial potential
= shift * lambda), ``AvgPool2d`` (kernel == stride, no padding), ``Flatten``, ``Dropout``
and ``Identity``.  Anything else stops the conversion with an error naming the layer.

torch is imported inside the functions, never at module import.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from neurodeploy.convert.batchnorm import fold_batchnorm
from neurodeploy.convert.stages import FloatNetwork, FloatStage, InputSpec, PreOp
from neurodeploy.ir.dtypes import IRError


class UnsupportedLayerError(IRError):
    """A layer the converter cannot map; the message names it."""


def _synapse_stage(name: str, module: Any, pre: tuple[PreOp, ...], index: int) -> FloatStage:
    from neurodeploy.quant.layers import quantized_bias, quantized_weight

    q, e = quantized_weight(module)
    weight = np.asarray(q, np.float64) * 2.0**e
    qb = quantized_bias(module)
    bias = np.zeros(weight.shape[0]) if qb is None else np.asarray(qb[0], np.float64) * 2.0**qb[1]
    if weight.ndim == 4:
        stride, padding = _single(module.stride, name, "stride"), _single(module.padding, name, "padding")
        if _single(module.dilation, name, "dilation") != 1 or module.groups != 1:
            raise UnsupportedLayerError(f"layer {name!r}: dilated or grouped convolution is not supported")
        return FloatStage(f"conv{index}", "conv", weight, bias, stride=stride, padding=padding, pre=pre,
                          source_layer=name)
    return FloatStage(f"fc{index}", "dense", weight, bias, pre=pre, source_layer=name)


def _single(value: Any, name: str, field: str) -> int:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if isinstance(vals[0], str) or len(set(vals)) != 1:
        raise UnsupportedLayerError(f"layer {name!r}: {field}={value!r} must be one integer for all axes")
    return int(vals[0])


def network_from_brevitas(model: Any, input_spec: InputSpec, meta: dict[str, str] | None = None) -> FloatNetwork:
    """Walk ``model`` (an ``nn.Sequential`` of supported layers) into a :class:`FloatNetwork`."""
    import brevitas.nn as qnn
    import torch.nn as nn

    from neurodeploy.quant.qcfs import QCFS

    stages: list[FloatStage] = []
    pending: FloatStage | None = None
    pre: list[PreOp] = []
    levels: set[int] = set()
    for name, m in model.named_children():
        if isinstance(m, (qnn.QuantConv2d, qnn.QuantLinear)):
            if pending is not None:
                raise UnsupportedLayerError(f"layer {name!r}: two synapses without an activation between them")
            pending, pre = _synapse_stage(name, m, tuple(pre), len(stages) + 1), []
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if pending is None:
                raise UnsupportedLayerError(f"layer {name!r}: BatchNorm must follow a conv/linear layer")
            pending = fold_batchnorm(pending, m, name)
        elif isinstance(m, QCFS):
            if pending is None:
                raise UnsupportedLayerError(f"layer {name!r}: activation without a preceding synapse")
            levels.add(int(m.levels))
            stages.append(replace(pending, threshold=float(m.lambda_value()), v0_fraction=float(m.shift)))
            pending = None
        elif isinstance(m, nn.AvgPool2d):
            k = _single(m.kernel_size, name, "kernel_size")
            if _single(m.stride if m.stride is not None else k, name, "stride") != k or \
                    _single(m.padding, name, "padding") != 0:
                raise UnsupportedLayerError(f"layer {name!r}: AvgPool2d needs stride == kernel and no padding")
            pre.append(("pool", k))
        elif isinstance(m, nn.Flatten):
            pre.append(("flatten", 0))
        elif isinstance(m, (nn.Dropout, nn.Identity)):
            continue
        else:
            raise UnsupportedLayerError(f"layer {name!r}: unsupported layer type {type(m).__name__} "
                                        "(supported: QuantConv2d, QuantLinear, BatchNorm, QCFS, "
                                        "AvgPool2d, Flatten, Dropout)")
    if pending is None:
        raise UnsupportedLayerError("model: the last layer must be a conv/linear readout without activation")
    if pre:
        raise UnsupportedLayerError("model: pooling/flatten after the readout layer is not supported")
    if len(levels) > 1:
        raise UnsupportedLayerError(f"model: all QCFS layers must share one level count, got {sorted(levels)}")
    stages.append(pending)
    return FloatNetwork(input_spec, tuple(stages), levels=levels.pop() if levels else 0, meta=dict(meta or {}))


def brevitas_activations(model: Any, x_int: np.ndarray, input_scale: float,
                         batch_size: int = 1000) -> tuple[list[np.ndarray], np.ndarray]:
    """Run the Brevitas model; return per-QCFS-layer integer counts ``a * L / lambda`` and logits."""
    import torch

    from neurodeploy.quant.qcfs import QCFS

    acts = [m for m in model.children() if isinstance(m, QCFS)]
    counts: list[list[np.ndarray]] = [[] for _ in acts]
    logits: list[np.ndarray] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(x_int), batch_size):
            x = torch.as_tensor(np.asarray(x_int[start:start + batch_size]), dtype=torch.float32) * input_scale
            h = x
            for m in model.children():
                h = m(h)
                if isinstance(m, QCFS):
                    i = acts.index(m)
                    n = h.double().numpy() * m.levels / m.lambda_value()
                    counts[i].append(np.rint(n).astype(np.int64))
            logits.append(h.double().numpy())
    return [np.concatenate(c) for c in counts], np.concatenate(logits)
