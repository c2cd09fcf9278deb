"""Torch simulator (``impl="torch"``): the time-folded engine on torch tensors, CPU or CUDA.

Same integer equations as :mod:`~neurodeploy.backends.cpusim.fast` (module docstring of
:mod:`~neurodeploy.backends.cpusim.folded`); only the array library differs.

Synapses use torch's own matmul / conv2d under the exactness rule of
:mod:`~neurodeploy.backends.cpusim.kernels`: with ``B = max_out sum_j |w_ij| * max|x_j|``
(:meth:`Dense.raw_bound`) every partial sum of a dot product is an integer of magnitude
``<= B``, so float32 is exact for ``B < 2**24`` and float64 for ``B < 2**53`` *in any summation
order*, provided the kernel sums plain products of the integers.  Kernels that do not (Winograd
or FFT convolutions, TF32 / bf16 reduced-precision GEMMs) are switched off while the simulator
runs (:func:`exact_kernels`): NNPACK off on the CPU (oneDNN's convolution is used with
``convolution_direct`` by torch, or torch's im2col + GEMM fallback), cuDNN off on CUDA (torch's
im2col + cuBLAS), TF32 off, float32 matmul precision "highest".  For ``B >= 2**53`` the synapse
runs on the host in exact int64 (:class:`~.kernels.Synapse`).  The shift by ``weight_exp`` is
an exact power-of-two scale of the integer-valued sum, then ``floor`` for negative exponents
(an arithmetic right shift).

Values are held in the cheapest dtype that is exact for their bound
(:meth:`TorchOps.exact_dtype`): a population whose ``|v + partial sums of I + bias|`` and
``theta`` stay below ``2**24`` keeps ``v`` in float32 (every value an integer the mantissa
holds, so ``+``, ``-``, ``>``/``>=`` and the clip are exact), which lets the float32 synapse
outputs feed it without a cast; int32 / int64 otherwise.  Pools sum strided slices (spikes in
uint8).  On the CPU every image tensor is channels-last (:func:`image_layout`).  The neuron
update is the numpy one on zero-copy views of CPU tensors, torch's own on CUDA.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurodeploy.backends.cpusim import array_ops, folded
from neurodeploy.backends.cpusim.fast import NumpyNeurons
from neurodeploy.backends.cpusim.kernels import FLOAT32_EXACT, FLOAT64_EXACT, Synapse
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, Node, SumPool
from neurodeploy.ir.schedule import SRP_GATE_SCALE

DTYPES = {"bool": torch.bool, "uint8": torch.uint8, "int32": torch.int32, "int64": torch.int64,
          "float32": torch.float32, "float64": torch.float64}


@contextmanager
def exact_kernels() -> Iterator[None]:
    """Only kernels that sum plain products: no Winograd/FFT (NNPACK, cuDNN), no TF32, and
    oneDNN's float32 convolutions and matmuls pinned to IEEE float32 (not bf16/TF32)."""
    precision = torch.get_float32_matmul_precision()
    tf32 = torch.backends.cuda.matmul.allow_tf32
    onednn = [sub for sub in (getattr(torch.backends.mkldnn, k, None) for k in ("conv", "matmul"))
              if sub is not None and hasattr(sub, "fp32_precision")]
    onednn_before = [sub.fp32_precision for sub in onednn]
    torch.set_float32_matmul_precision("highest")
    torch.backends.cuda.matmul.allow_tf32 = False
    for sub in onednn:
        sub.fp32_precision = "ieee"
    try:
        with torch.backends.cudnn.flags(enabled=False, allow_tf32=False), torch.backends.nnpack.flags(enabled=False):
            yield
    finally:
        for sub, before in zip(onednn, onednn_before):
            sub.fp32_precision = before
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.set_float32_matmul_precision(precision)


def image_layout(device: torch.device) -> torch.memory_format:
    """Images (``(..., C, H, W)``) live channels-last on the CPU: oneDNN's direct convolutions for
    few channels run about twice as fast there, and keeping every image tensor (spikes, state,
    synapse outputs) in that one layout means no transposing copies between nodes."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def allocate(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, zero: bool) -> torch.Tensor:
    """An uninitialised (or zero) tensor; ``(..., C, H, W)`` in :func:`image_layout` (channels
    innermost on the CPU, leading axes outermost, so ``t[i]`` and reshapes of the leading axes
    stay views in the same layout)."""
    make = torch.zeros if zero else torch.empty
    if len(shape) < 4 or image_layout(device) != torch.channels_last:
        return make(shape, dtype=dtype, device=device)
    *lead, c, h, w = shape
    return make((*lead, h, w, c), dtype=dtype, device=device).movedim(-1, -3)


def host_image_layout(a: np.ndarray) -> np.ndarray:
    """A per-neuron ``(C, H, W)`` array with the CPU image layout's memory order (channels
    innermost), same values and shape; other shapes unchanged."""
    if a.ndim != 3 or image_layout(torch.device("cpu")) != torch.channels_last:
        return a
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 0, -1)), -1, 0)


class TorchSynapse:
    """``x -> shift(W x, weight_exp)`` on ``device``, exact (see module docstring), in ``out_dtype``."""

    def __init__(self, node: Dense | Conv, max_input: int, out_dtype: torch.dtype, device: torch.device) -> None:
        self.node, self.out_dtype, self.device = node, out_dtype, device
        bound = node.raw_bound(max_input)
        self.host: Synapse | None = None
        if bound >= FLOAT64_EXACT:                                          # exact int64 on the host
            self.host = Synapse(node, max_input, np.int64)
            return
        self.float_dtype = torch.float32 if bound < FLOAT32_EXACT else torch.float64
        w = torch.tensor(node.weight, dtype=self.float_dtype, device=device)
        self.layout = image_layout(device)
        self.weight = w.T.contiguous() if isinstance(node, Dense) else w.contiguous(memory_format=self.layout)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        node = self.node
        e = node.weight_exp
        if self.host is not None:
            a = torch.from_numpy(self.host(x.to(torch.int64).cpu().numpy())).to(self.device)
            return a.to(self.out_dtype)
        if x.dtype == torch.bool:
            x = x.view(torch.uint8)              # spikes: torch casts uint8 to float ~4x faster than bool
        if isinstance(node, Dense):
            acc = x.to(self.float_dtype) @ self.weight                        # exact: |partial sums| <= B
        else:
            xf = x.to(self.float_dtype, memory_format=self.layout)
            acc = F.conv2d(xf, self.weight, None, node.stride, node.padding, node.dilation, node.groups)
        if e > 0:
            acc.mul_(2.0 ** e)                   # a power-of-two scale of an integer: exact (no rounding)
        elif e < 0:
            acc.mul_(2.0 ** e).floor_()          # exact scale, then floor = arithmetic shift right
        return acc if acc.dtype == self.out_dtype else acc.to(self.out_dtype)  # integer-valued: exact cast


def sum_pool(node: SumPool, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``y[b,c,i,j] = sum_{a<kh, e<kw} xpad[b, c, i*sh + a, j*sw + e]`` in ``dtype``, chosen from
    the pool's value bound (:meth:`TorchOps.exact_dtype`), so every partial sum is exact; spikes
    (bool) pooled over at most 255 taps are summed in uint8 (sums <= kh*kw: exact, and a quarter
    of the memory traffic; the next synapse casts them exactly)."""
    (kh, kw), (ph, pw) = node.kernel, node.padding
    small = x.dtype == torch.bool and kh * kw <= 255
    x = x.view(torch.uint8) if small else x.to(dtype)
    if (ph, pw) == (0, 0) and (kh, kw) == tuple(x.shape[2:]):
        return x.sum(dim=(2, 3), keepdim=True, dtype=dtype)                   # global pool
    assert node.stride is not None
    if (ph, pw) == (0, 0) and node.stride == node.kernel and x.is_contiguous(memory_format=torch.channels_last):
        return _tiled_sum_nhwc(x, kh, kw)
    sh, sw = node.stride
    _, ho, wo = node.out_shape([tuple(x.shape[1:])])
    if ph or pw:
        x = F.pad(x, (pw, pw, ph, ph))
    out = x[:, :, 0:sh * (ho - 1) + 1:sh, 0:sw * (wo - 1) + 1:sw].clone()
    for a in range(kh):
        for e in range(kw):
            if a or e:
                out += x[:, :, a:a + sh * (ho - 1) + 1:sh, e:e + sw * (wo - 1) + 1:sw]
    return out


def _tiled_sum_nhwc(x: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Non-overlapping ``kh x kw`` window sums of a channels-last ``x`` (floor mode): the window's
    rows added as views of whole image rows, then its columns as runs of ``C`` (the first add of
    each axis writes a new tensor, so nothing is copied just to be added to)."""
    n, c, h, w = x.shape
    ho, wo = h // kh, w // kw
    win = x.permute(0, 2, 3, 1)[:, :ho * kh, :wo * kw].reshape(n, ho, kh, wo, kw, c)
    rows = win[:, :, 0] + win[:, :, 1] if kh > 1 else win[:, :, 0]       # (N, Ho, Wo, kw, C)
    for a in range(2, kh):
        rows += win[:, :, a]
    out = rows[:, :, :, 0] + rows[:, :, :, 1] if kw > 1 else rows[:, :, :, 0].clone()
    for e in range(2, kw):
        out += rows[:, :, :, e]
    return out.permute(0, 3, 1, 2)                                        # (N, C, Ho, Wo), channels-last


class TorchNeurons(array_ops.NeuronOps):
    """A population's parameters as tensors in its state dtype; in-place update."""

    def __init__(self, pop: IFPopulation, current_bound: int, force_subtract: bool, total: int,
                 dtype: str, device: torch.device) -> None:
        dt = _dtype(dtype)
        self.shape, self.device = pop.shape, device
        self.threshold = torch.tensor(pop.threshold, dtype=dt, device=device)
        self.threshold64 = torch.tensor(pop.threshold, dtype=torch.int64, device=device)
        self.bias = torch.tensor(pop.bias, dtype=dt, device=device)
        self.bias_zero = not pop.bias.any()
        self.v0 = torch.tensor(pop.v0, dtype=dt, device=device)
        self.lo, self.hi = pop.state_t.lo, pop.state_t.hi
        self.clip = array_ops.clip_can_act(pop, current_bound, total)
        self.greater_equal = pop.compare == ">="
        self.subtract = pop.reset == "subtract" or force_subtract

    def initial(self, batch: int) -> torch.Tensor:
        v = allocate((batch, *self.shape), self.v0.dtype, self.device, zero=False)
        return v.copy_(self.v0.expand_as(v))

    def drive(self, consts: list[Any]) -> torch.Tensor | None:
        if not consts:
            return None if self.bias_zero else self.bias
        out = consts[0].to(self.bias.dtype, copy=True)
        for c in consts[1:]:
            out += c
        out += self.bias
        return out

    def integrate(self, v: torch.Tensor, drive: torch.Tensor | None, parts: list[Any]) -> None:
        if drive is not None:
            v += drive
        for p in parts:
            v += p
        if self.clip:
            v.clamp_(self.lo, self.hi)

    def fire(self, v: torch.Tensor, s: torch.Tensor, gate: torch.Tensor | None) -> None:
        (torch.ge if self.greater_equal else torch.gt)(v, self.threshold, out=s)
        if self.subtract:
            v -= s * self.threshold
        else:
            v.masked_fill_(s, 0)
        if gate is not None:
            s.logical_and_(gate)

    def latch(self, v: torch.Tensor) -> torch.Tensor:
        gate = SRP_GATE_SCALE * v.to(torch.int64) > self.threshold64         # g = [1000 v > theta]
        v.copy_(self.v0.expand_as(v))
        return gate


class HostNeurons(NumpyNeurons):
    """The numpy update on zero-copy views of CPU tensors (numpy's elementwise loops measured
    faster than torch's on the shared 2-core host; the synapses stay on torch's kernels).  The
    per-neuron parameters are held in the state's channels-last memory order: numpy then walks
    state and parameters in one contiguous pass (a C-order bias against channels-last state is a
    strided gather, measured 12x slower per add)."""

    def __init__(self, pop: IFPopulation, current_bound: int, force_subtract: bool, total: int,
                 dtype: str) -> None:
        super().__init__(pop, current_bound, force_subtract, total, dtype)
        self.bias, self.v0 = host_image_layout(self.bias), host_image_layout(self.v0)
        if isinstance(self.theta, np.ndarray):
            self.theta = host_image_layout(self.theta)

    def initial(self, batch: int) -> torch.Tensor:                           # type: ignore[override]
        v = allocate((batch, *self.shape), _dtype(self.v0.dtype.name), torch.device("cpu"), zero=False)
        np.copyto(v.numpy(), self.v0)                  # numpy's broadcast copy, in the state's memory order
        return v

    def drive(self, consts: list[Any]) -> np.ndarray | None:
        return super().drive([c.numpy() for c in consts])

    def integrate(self, v: Any, drive: np.ndarray | None, parts: list[Any]) -> None:
        super().integrate(v.numpy(), drive, [p.numpy() for p in parts])

    def fire(self, v: Any, s: Any, gate: np.ndarray | None) -> None:
        super().fire(v.numpy(), s.numpy(), gate)

    def latch(self, v: Any) -> np.ndarray:
        return super().latch(v.numpy())


class TorchOps(array_ops.ArrayOps):
    """Torch tensors on ``device``; the neuron update in numpy on CPU unless ``torch_neurons``."""

    unrolls_conv_input = False                       # oneDNN's direct convolution on the CPU

    def __init__(self, device: str | torch.device, torch_neurons: bool | None = None) -> None:
        self.device = torch.device(device)
        self.torch_neurons = self.device.type != "cpu" if torch_neurons is None else torch_neurons
        self.state_block_bytes = array_ops.CACHE_STATE_BYTES if self.device.type == "cpu" else None
        # numpy's update releases the GIL, so host threads share its row blocks (as many as the
        # user's torch thread setting); torch's own update is parallel inside each op already
        self.host_threads = 1 if self.torch_neurons else torch.get_num_threads()

    def asarray(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x)).to(self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        return a.cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)

    def zeros(self, shape: tuple[int, ...], dtype: str) -> torch.Tensor:
        return allocate(shape, _dtype(dtype), self.device, zero=True)

    def empty(self, shape: tuple[int, ...], dtype: str) -> torch.Tensor:
        return allocate(shape, _dtype(dtype), self.device, zero=False)

    def concat(self, arrays: list[Any], axis: int) -> torch.Tensor:
        return torch.cat(arrays, dim=axis)

    def cast(self, a: Any, dtype: str) -> torch.Tensor:
        return a.to(_dtype(dtype))

    def is_bool(self, a: Any) -> bool:
        return bool(a.dtype == torch.bool)

    def synapse(self, node: Node, max_input: int, out_dtype: str) -> Callable[[Any], Any]:
        assert isinstance(node, (Dense, Conv))
        return TorchSynapse(node, max_input, _dtype(out_dtype), self.device)

    def sum_pool(self, node: SumPool, x: Any, dtype: str) -> torch.Tensor:
        return sum_pool(node, x, _dtype(dtype))

    def exact_dtype(self, bound: int) -> str:
        """float32 while every partial sum of the state is an integer below ``2**24`` (exact, and
        the float32 synapse outputs feed it without a cast), else int32 / int64."""
        return "float32" if bound < FLOAT32_EXACT else array_ops.int_name(bound)

    def neurons(self, pop: IFPopulation, current_bound: int, force_subtract: bool, total: int,
                dtype: str) -> array_ops.NeuronOps:
        if self.torch_neurons:
            return TorchNeurons(pop, current_bound, force_subtract, total, dtype, self.device)
        return HostNeurons(pop, current_bound, force_subtract, total, dtype)


def _dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        return getattr(torch, name)           # e.g. float32 intermediates of a folded call


def run(graph: Graph, x: np.ndarray, total: int, probes: Sequence[str] = (), record_v: bool = False,
        record_current: bool = False, chunk: int | None = None, progress: bool = False,
        device: str | torch.device = "cpu", torch_neurons: bool | None = None) -> Trace:
    """Simulate ``x`` (batch, *input shape) for ``total`` logical steps with torch on ``device``
    (``torch_neurons``: the neuron update in torch too; default only off the CPU)."""
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but torch.cuda.is_available() is False")
    with torch.inference_mode(), exact_kernels():
        return folded.run(graph, x, total, TorchOps(dev, torch_neurons), probes, record_v, record_current, chunk, progress)
