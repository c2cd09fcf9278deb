"""Operator rules of the fx walker: one handler per supported module / function / method.

Supported: Conv2d / Linear (and Brevitas ``QuantConv2d`` / ``QuantLinear``, read back as
``q * 2**e``), BatchNorm1d/2d (folded), the route's activation (QCFS or ReLU), AvgPool2d /
``F.avg_pool2d``, AdaptiveAvgPool2d / ``F.adaptive_avg_pool2d`` / ``mean((2, 3))`` (global
pool), MaxPool2d only with ``maxpool_to_avgpool``, Flatten / ``torch.flatten`` / ``view`` /
``reshape`` to ``(N, -1)``, ``+`` / ``torch.add`` / ``add``, ``torch.cat(dim=1)``, Dropout and
Identity, and the shape reads ``x.size(0)`` / ``x.shape[0]`` that ``view`` calls use.
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from neurodeploy.convert import fx_ops as ops
from neurodeploy.convert.batchnorm import fold_batchnorm
from neurodeploy.convert.fx_walker import Activation, Pending, Spikes, Walker
from neurodeploy.convert.stages import FloatSynapse
from neurodeploy.ir.dtypes import IRError

SUPPORTED = ("Conv2d, Linear, QuantConv2d, QuantLinear, BatchNorm, QCFS (QAT) / ReLU (float), AvgPool2d, "
             "AdaptiveAvgPool2d, mean((2,3)), Flatten/view(N,-1), +, torch.cat(dim=1), Dropout, Identity")
RELU_NAMES = ("relu", "relu_")


def is_relu(obj: Any) -> bool:
    """``nn.ReLU``, ``F.relu``, ``torch.relu`` or the ``relu`` method."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    return isinstance(obj, nn.ReLU) or obj in RELU_NAMES or obj in (F.relu, torch.relu, torch.relu_, F.relu_)


def read_weights(m: Any) -> tuple[np.ndarray, np.ndarray]:
    """Real ``(weight, bias)`` of a conv/linear module; Brevitas layers exactly as ``q * 2**e``."""
    if type(m).__module__.startswith("brevitas."):
        from neurodeploy.quant.layers import quantized_bias, quantized_weight

        for proxy in ("input_quant", "output_quant"):
            if getattr(getattr(m, proxy, None), "is_quant_enabled", False):
                raise ValueError(f"{proxy} is enabled; only weight/bias quantisation is supported")
        q, e = quantized_weight(m)
        weight = np.asarray(q, np.float64) * 2.0**e
        qb = quantized_bias(m)
        bias = np.zeros(weight.shape[0]) if qb is None else np.asarray(qb[0], np.float64) * 2.0**qb[1]
        return weight, bias
    weight = m.weight.detach().double().numpy().copy()
    bias = np.zeros(weight.shape[0]) if m.bias is None else m.bias.detach().double().numpy().copy()
    return weight, bias


def _synapse(w: Walker, m: Any, x: Any) -> Pending:
    from torch import nn

    if isinstance(x, Pending):
        raise w.fail("two synapses without an activation between them")
    s = w.spikes(x, "a synapse")
    try:
        weight, bias = read_weights(m)
    except ValueError as exc:
        raise w.fail(f"cannot read exact weights: {exc}") from None
    if isinstance(m, nn.Linear):
        if len(s.shape) != 1 or s.shape[0] != weight.shape[1]:
            raise w.fail(f"a linear layer with {weight.shape[1]} inputs needs a flattened input, got {s.shape}")
        term = FloatSynapse("", "dense", s.name, weight, bias, module=w.module_path())
        return Pending((term,), (weight.shape[0],))
    if isinstance(m.padding, str) or m.padding_mode != "zeros":
        raise w.fail(f"padding={m.padding!r}, padding_mode={m.padding_mode!r}: only explicit zero padding")
    stride, padding = ops.pair(m.stride, "stride"), ops.pair(m.padding, "padding")
    dilation = ops.pair(m.dilation, "dilation")
    try:
        shape = ops.conv_shape(s.shape, weight.shape, stride, padding, dilation, int(m.groups))
    except IRError as exc:
        raise w.fail(str(exc)) from None
    term = FloatSynapse("", "conv", s.name, weight, bias, stride, padding, dilation, int(m.groups),
                        module=w.module_path())
    return Pending((term,), shape)


def _batchnorm(w: Walker, m: Any, x: Any) -> Pending:
    if not isinstance(x, Pending):
        raise w.fail("BatchNorm must directly follow a conv/linear layer (it cannot be folded into spikes)")
    try:
        return Pending(fold_batchnorm(x.terms, m, w.module_path()), x.shape)
    except ValueError as exc:
        raise w.fail(str(exc)) from None


def _pool(w: Walker, x: Any, window: Callable[[], tuple[ops.Pair, ops.Pair, ops.Pair]]) -> Spikes:
    s = w.spikes(x, "pooling")
    try:
        k, st, p = window()
        shape = ops.pool_shape(s.shape, k, st, p)
    except IRError as exc:                       # UnsupportedLayerError is an IRError
        raise w.fail(str(exc)) from None
    return w.tensor_op("pool", (s.name,), shape, kernel=k, stride=st, padding=p)


def _maxpool(w: Walker, x: Any, window: Callable[[], tuple[ops.Pair, ops.Pair, ops.Pair]]) -> Spikes:
    if not w.route.maxpool_to_avgpool:
        raise w.fail("MaxPool2d is not representable exactly; use --maxpool-to-avgpool "
                     "(maxpool_to_avgpool=True) to replace it by AvgPool2d (changes the network's function)")
    out = _pool(w, x, window)
    pool = w.nodes[-1]
    w.notes.append(f"{w.where(w.node)}: MaxPool2d replaced by AvgPool2d(kernel {pool.kernel}, "  # type: ignore[union-attr]
                   f"stride {pool.stride}, padding {pool.padding})")                              # type: ignore[union-attr]
    return out


def _flatten(w: Walker, x: Any, start_dim: int = 0, end_dim: int = -1) -> Spikes:
    s = w.spikes(x, "flatten")
    try:
        ops.flatten_dims(len(s.shape) + 1, start_dim, end_dim)
    except IRError as exc:
        raise w.fail(str(exc)) from None
    if len(s.shape) == 1:
        return s
    return w.tensor_op("flatten", (s.name,), (int(np.prod(s.shape)),))


def _view(w: Walker, x: Any, *shape: Any) -> Spikes:
    s = w.spikes(x, "reshape")
    try:
        flat = ops.view_is_flatten(s.shape, list(shape))
    except IRError as exc:
        raise w.fail(str(exc)) from None
    return _flatten(w, s, 1, -1) if flat else s


def _mean(w: Walker, x: Any, dim: Any = None, keepdim: bool = False, **kwargs: Any) -> Spikes:
    s = w.spikes(x, "mean")
    if dim is None or kwargs.get("dtype") is not None:
        raise w.fail("only mean over the spatial dims (2, 3) is supported")
    try:
        ops.mean_is_global(len(s.shape) + 1, dim)
    except IRError as exc:
        raise w.fail(str(exc)) from None
    pooled = _pool(w, s, lambda: ops.adaptive_window(s.shape, 1))
    return pooled if keepdim else _flatten(w, pooled, 1, -1)


def _add(w: Walker, a: Any, b: Any, alpha: Any = 1, **kwargs: Any) -> Pending:
    if alpha != 1 or kwargs.get("out") is not None:
        raise w.fail("add with alpha or out= is not supported")
    for v in (a, b):
        if not isinstance(v, (Spikes, Pending)):
            raise w.fail(f"adding {v!r}: only sums of synapse outputs and spike tensors are representable")
    ta, sa = w.terms(a)
    tb, sb = w.terms(b)
    if sa != sb:
        raise w.fail(f"residual add of shapes {sa} and {sb} (no broadcasting)")
    return Pending(ta + tb, sa)


def _cat(w: Walker, tensors: Any, dim: int = 0) -> Spikes:
    vals = [w.spikes(v, "concatenation") for v in tensors]
    names = tuple(v.name for v in vals)
    try:
        ops.channel_dim(len(vals[0].shape) + 1, dim)
        if len(set(names)) != len(names):
            raise ops.UnsupportedLayerError(f"the same tensor is concatenated twice ({names})")
        shape = ops.concat_shape([v.shape for v in vals], names)
    except IRError as exc:
        raise w.fail(str(exc)) from None
    return w.tensor_op("concat", names, shape)


def _shape_of(w: Walker, x: Any, dim: Any = None) -> Any:
    if not isinstance(x, (Spikes, Pending)):
        raise w.fail(f"size() of {x!r}")
    full = (ops.BATCH, *x.shape)
    return full if dim is None else full[int(dim)]


def _getattr(w: Walker, x: Any, name: str) -> Any:
    if name != "shape":
        raise w.fail(f"attribute {name!r} of a tensor is not supported")
    return _shape_of(w, x)


def _getitem(w: Walker, x: Any, idx: Any) -> Any:
    if not isinstance(x, tuple):
        raise w.fail("indexing or slicing a tensor is not representable")
    return x[idx]


def _passthrough(w: Walker, x: Any, *args: Any, **kwargs: Any) -> Any:
    return x


def _module(w: Walker, m: Any, x: Any) -> Any:
    from torch import nn

    act = w.route.activation(m)
    if isinstance(act, str):
        raise w.fail(act)
    if isinstance(act, Activation):
        return w.populate(x, act)
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        return _synapse(w, m, x)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return _batchnorm(w, m, x)
    if isinstance(m, nn.AvgPool2d):
        return _pool(w, x, lambda: ops.avg_pool_window(m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                                       m.count_include_pad, m.divisor_override))
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return _pool(w, x, lambda: ops.adaptive_window(w.spikes(x, "pooling").shape, m.output_size))
    if isinstance(m, nn.MaxPool2d):
        return _maxpool(w, x, lambda: ops.max_pool_window(m.kernel_size, m.stride, m.padding, m.dilation,
                                                          m.ceil_mode, m.return_indices))
    if isinstance(m, nn.Flatten):
        return _flatten(w, x, m.start_dim, m.end_dim)
    if isinstance(m, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)):
        return x
    raise w.fail(f"unsupported layer type {type(m).__name__} (supported: {SUPPORTED})")


@functools.cache
def _functions() -> dict[Any, Callable[..., Any]]:
    import torch
    import torch.nn.functional as F

    def avg(w: Walker, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
            count_include_pad: bool = True, divisor_override: Any = None) -> Spikes:
        return _pool(w, x, lambda: ops.avg_pool_window(kernel_size, stride, padding, ceil_mode,
                                                       count_include_pad, divisor_override))

    def adaptive(w: Walker, x: Any, output_size: Any) -> Spikes:
        return _pool(w, x, lambda: ops.adaptive_window(w.spikes(x, "pooling").shape, output_size))

    def maxp(w: Walker, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             ceil_mode: bool = False, return_indices: bool = False) -> Spikes:
        return _maxpool(w, x, lambda: ops.max_pool_window(kernel_size, stride, padding, dilation, ceil_mode,
                                                          return_indices))

    return {operator.add: _add, operator.iadd: _add, torch.add: _add, torch.cat: _cat, torch.concat: _cat,
            torch.flatten: _flatten, torch.reshape: _view, torch.mean: _mean, F.avg_pool2d: avg,
            F.adaptive_avg_pool2d: adaptive, F.max_pool2d: maxp, F.dropout: _passthrough,
            getattr: _getattr, operator.getitem: _getitem}


METHODS: dict[str, Callable[..., Any]] = {
    "add": _add, "add_": _add, "__add__": _add, "flatten": _flatten, "view": _view, "reshape": _view,
    "mean": _mean, "size": _shape_of, "contiguous": _passthrough,
}


def dispatch(w: Walker, node: Any) -> Any:
    """The walker value of fx ``node`` (a ``call_module``, ``call_function`` or ``call_method``)."""
    args = w.value(tuple(node.args))
    kwargs = {k: w.value(v) for k, v in node.kwargs.items()}
    if node.op == "call_module":
        return _module(w, w.gm.get_submodule(node.target), args[0] if args else None)
    act = w.route.activation(node.target)
    if isinstance(act, str):
        raise w.fail(act)
    if isinstance(act, Activation):
        return w.populate(args[0], act)
    table = _functions() if node.op == "call_function" else METHODS
    try:
        handler = table.get(node.target)
    except TypeError:                            # an unhashable target cannot be ours
        handler = None
    if handler is None:
        raise w.fail(f"unsupported operation (supported: {SUPPORTED})")
    try:
        return handler(w, *args, **kwargs)
    except TypeError as exc:                     # unexpected arguments for a supported op
        raise w.fail(f"unsupported arguments ({exc})") from None
