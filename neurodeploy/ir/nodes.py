"""Nodes of the integer IR (format 2: a directed acyclic graph).

Every node names its inputs (``source`` for one, ``sources`` for several) and carries its own
behaviour: output shape, the largest magnitude it can emit, its exact int64 evaluation
(stateless nodes) and a one-line description.  Adding a node type means adding one class
here; the simulator, verifier, serializer and inspector only ask nodes through :class:`NodeBase`.

Time is *logical*: a node computes its value for step ``t`` from its sources' values at the
same step ``t`` (no hop delay); schedules may delay population-to-population edges
(:mod:`neurodeploy.ir.schedule`).  Backends that pipeline (Lava adds one step per synaptic
hop) map logical time to their own and report traces back in logical time.

Integer semantics, per sample and logical step ``t = 1..T`` (exact int64 before saturation):

* ``Input``: ``x(t) = x_int`` (direct coding); ``x_int`` is unsigned ``bits`` wide and the
  real value is ``x_int * scale``.
* ``Dense``: ``I(t) = shift(W @ s(t), weight_exp)``; ``shift`` multiplies by ``2**weight_exp``
  and floors for negative exponents; the floor acts on the *sum* of one projection.
* ``Conv``: ``I(t) = shift(conv2d(s(t), W), weight_exp)``: torch's cross-correlation, CHW,
  per-axis ``stride``/``padding`` (zeros)/``dilation``, ``groups`` (depthwise when
  ``groups == C_in``); ``W`` has shape ``(C_out, C_in / groups, kh, kw)``.
* ``SumPool``: ``y = sum of s over each kh x kw window`` (per-axis stride and zero padding).
  It stands for the ANN's AvgPool; the ``1/(kh*kw)`` is carried by the next synapse's
  scale, so the pool stays exact.  A window covering the whole input is a global pool.
* ``Flatten``: C-order reshape of ``(C, H, W)`` to ``(C*H*W,)``.
* ``Concat``: ``y = [s_1; s_2; ...]`` along axis 0 (channels for CHW, features for 1-D).
* ``IFPopulation`` with synaptic sources ``k = 1..K`` (a residual add is ``K = 2``: two
  projections into one compartment, as on Loihi)::

      I(t)  = sum_k I_k(t)                 (each I_k already floor-shifted by its own exponent)
      v(0)  = v0
      u     = v(t-1) + I(t) + (bias_mant << bias_exp)
      v'    = clip(u, state_t.lo, state_t.hi)
      s(t)  = [v' >= theta]  (">=")   or   [v' > theta]  (">")
      v(t)  = v' - s(t) * theta  ("subtract")   or   v' * (1 - s(t))  ("zero")

* ``Readout``: ``acc(0) = 0; acc(t) = acc(t-1) + sum_k I_k(t) + (bias_mant << bias_exp)``;
  the prediction after ``t`` steps is ``argmax acc(t)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Union

import numpy as np

from neurodeploy.ir.dtypes import IntT, IRError, shift

WEIGHT_T = IntT(8)
STATE_T = IntT(24)
BIAS_T = IntT(16)
ResetMode = Literal["subtract", "zero"]
CompareMode = Literal[">=", ">"]
Role = Literal["input", "synapse", "tensor", "population", "readout"]
Pair = tuple[int, int]


def frozen_int_array(values: np.ndarray, where: str) -> np.ndarray:
    """Copy ``values`` to a read-only int64 array, refusing non-integral data."""
    a = np.asarray(values)
    if a.dtype.kind not in "iub":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise IRError(f"{where}: expected integers, got dtype {a.dtype}")
    a = np.array(a, dtype=np.int64, copy=True)
    a.flags.writeable = False
    return a


def as_pair(value: int | tuple[int, ...] | list[int], where: str, minimum: int) -> Pair:
    """``value`` as a per-axis ``(h, w)`` pair of ints ``>= minimum`` (an int means both axes)."""
    vals = list(value) if isinstance(value, (tuple, list)) else [value, value]
    if len(vals) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in vals):
        raise IRError(f"{where}: expected an int or two ints, got {value!r}")
    pair = (int(vals[0]), int(vals[1]))
    if min(pair) < minimum:
        raise IRError(f"{where}: must be >= {minimum}, got {pair}")
    return pair


def _names(value: tuple[str, ...] | list[str] | str, where: str) -> tuple[str, ...]:
    vals = (value,) if isinstance(value, str) else tuple(value)
    if not vals or not all(isinstance(v, str) and v for v in vals):
        raise IRError(f"{where}: expected one or more node names, got {value!r}")
    if len(set(vals)) != len(vals):
        raise IRError(f"{where}: a source is named twice in {list(vals)}")
    return vals


def _set(node: object, name: str, value: object) -> None:
    object.__setattr__(node, name, value)


class NodeBase:
    """Behaviour every node provides; subclasses override what applies to them."""

    role: ClassVar[Role]
    array_fields: ClassVar[tuple[str, ...]] = ()
    name: str

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the nodes this node reads (empty for the Input)."""
        return ()

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        """Per-sample output shape from the input shapes; :class:`IRError` naming the node."""
        raise NotImplementedError

    def value_bound(self, in_bounds: list[int]) -> int:
        """Largest magnitude this node can emit, given its inputs' bounds."""
        return max(in_bounds, default=0)

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        """Exact int64 value for a batch (leading axis), stateless nodes only."""
        raise IRError(f"{self.name}: {type(self).__name__} is stateful and has no apply()")

    def describe(self) -> str:
        """Integer formats in one line, for ``inspect``."""
        return ""

    def synapse_count(self, out_shape: tuple[int, ...]) -> int:
        """Nonzero synapses this node instantiates (0 unless it is a synapse)."""
        return 0


class _SingleSource(NodeBase):
    source: str

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.source,)


class _MultiSource(NodeBase):
    sources: tuple[str, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.sources


@dataclass(frozen=True)
class Input(NodeBase):
    """Direct input: unsigned ``bits``-bit integers of ``shape``, real value ``x_int * scale``."""

    name: str
    shape: tuple[int, ...]
    bits: int = 8
    scale: float = 1.0 / 256
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "input"

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if not shape or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape):
            raise IRError(f"{self.name}.shape: expected positive ints, got {self.shape!r}")
        _set(self, "shape", tuple(int(d) for d in shape))
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 62:
            raise IRError(f"{self.name}.bits: expected an int in 1..62, got {self.bits!r}")

    @property
    def value_t(self) -> IntT:
        return IntT(self.bits, signed=False)

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return self.shape

    def value_bound(self, in_bounds: list[int]) -> int:
        return self.value_t.hi

    def describe(self) -> str:
        return f"{self.value_t.describe()} x {self.scale:g}"


class _Synapse(_SingleSource):
    """Shared behaviour of Dense and Conv: int mantissas of ``weight_t`` and one exponent."""

    weight: np.ndarray
    weight_exp: int
    weight_t: IntT
    role: ClassVar[Role] = "synapse"
    array_fields: ClassVar[tuple[str, ...]] = ("weight",)

    def _freeze_weight(self, ndim: int, layout: str) -> None:
        w = frozen_int_array(self.weight, f"{self.name}.weight")
        if w.ndim != ndim:
            raise IRError(f"{self.name}.weight: expected {ndim}-D {layout}, got shape {w.shape}")
        self.weight_t.check(w, f"{self.name}.weight")
        _set(self, "weight", w)
        if not isinstance(self.weight_exp, (int, np.integer)) or abs(int(self.weight_exp)) > 62:
            raise IRError(f"{self.name}.weight_exp: expected an int in -62..62, got {self.weight_exp!r}")
        _set(self, "weight_exp", int(self.weight_exp))

    def fan_in_abs(self) -> np.ndarray:
        """``sum_j |w_ij|`` per output channel/neuron."""
        w = np.abs(self.weight)
        return w.reshape(w.shape[0], -1).sum(axis=1)

    def raw_bound(self, max_input: int) -> int:
        """``max_out sum_j |w_ij| * max_input``: bound of the sum before the shift."""
        return int(self.fan_in_abs().max(initial=0)) * int(max_input)

    def value_bound(self, in_bounds: list[int]) -> int:
        """Bound of ``|I|`` after the shift (a left shift grows it, a floor may add 1)."""
        raw = self.raw_bound(in_bounds[0])
        return raw << self.weight_exp if self.weight_exp >= 0 else (raw >> -self.weight_exp) + 1

    def describe(self) -> str:
        return f"w {self.weight_t.describe()} << {self.weight_exp}"


@dataclass(frozen=True, eq=False)
class Dense(_Synapse):
    """Fully connected synapse: ``I = shift(W @ s, weight_exp)``; ``W`` shape (n_out, n_in)."""

    name: str
    source: str
    weight: np.ndarray
    weight_exp: int = 0
    weight_t: IntT = WEIGHT_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self._freeze_weight(2, "(n_out, n_in)")

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        src = in_shapes[0]
        if len(src) != 1 or src[0] != self.weight.shape[1]:
            raise IRError(f"{self.name}: weight expects input ({self.weight.shape[1]},), got {src}")
        return (int(self.weight.shape[0]),)

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        s = values[0].astype(np.int64)
        return shift(s @ self.weight.T, self.weight_exp)          # exact int64 dot products

    def synapse_count(self, out_shape: tuple[int, ...]) -> int:
        return int(np.count_nonzero(self.weight))


@dataclass(frozen=True, eq=False)
class Conv(_Synapse):
    """2-D convolution synapse: ``I = shift(conv2d(s, W), weight_exp)`` (see module docstring)."""

    name: str
    source: str
    weight: np.ndarray
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    weight_exp: int = 0
    weight_t: IntT = WEIGHT_T
    dilation: Pair = (1, 1)
    groups: int = 1
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _set(self, "stride", as_pair(self.stride, f"{self.name}.stride", 1))
        _set(self, "padding", as_pair(self.padding, f"{self.name}.padding", 0))
        _set(self, "dilation", as_pair(self.dilation, f"{self.name}.dilation", 1))
        self._freeze_weight(4, "(C_out, C_in/groups, kh, kw)")
        g = self.groups
        if not isinstance(g, (int, np.integer)) or isinstance(g, bool) or g < 1 or self.weight.shape[0] % g:
            raise IRError(f"{self.name}.groups: must be an int >= 1 dividing C_out "
                          f"{self.weight.shape[0]}, got {g!r}")
        _set(self, "groups", int(g))

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        src = in_shapes[0]
        co, ci_g, kh, kw = self.weight.shape
        if len(src) != 3 or src[0] != ci_g * self.groups:
            raise IRError(f"{self.name}: weight expects (C,H,W) input with {ci_g * self.groups} channels "
                          f"({self.groups} groups), got {src}")
        sizes = []
        for size, k, st, p, d in zip(src[1:], (kh, kw), self.stride, self.padding, self.dilation):
            sizes.append((size + 2 * p - d * (k - 1) - 1) // st + 1)
        if min(sizes) < 1:
            raise IRError(f"{self.name}: kernel {kh}x{kw} does not fit input {src}")
        return (int(co), sizes[0], sizes[1])

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        """Exact int64: ``out[b,o,i,j] = sum_{c,dy,dx} W[o,c,dy,dx] * xpad[b, g(o)*Cg + c,
        i*sh + dy*dh, j*sw + dx*dw]`` (``g(o)`` = the group of output channel ``o``)."""
        x = values[0].astype(np.int64)
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        co, ci_g, kh, kw = self.weight.shape
        _, ho, wo = self.out_shape([tuple(x.shape[1:])])
        g, co_g = self.groups, co // self.groups
        out = np.zeros((x.shape[0], co, ho, wo), np.int64)
        for dy in range(kh):
            for dx in range(kw):
                win = xp[:, :, dy * dh:dy * dh + sh * (ho - 1) + 1:sh, dx * dw:dx * dw + sw * (wo - 1) + 1:sw]
                for gi in range(g):
                    w = self.weight[gi * co_g:(gi + 1) * co_g, :, dy, dx]            # (co_g, ci_g)
                    xs = win[:, gi * ci_g:(gi + 1) * ci_g]                            # (B, ci_g, ho, wo)
                    out[:, gi * co_g:(gi + 1) * co_g] += np.einsum("oc,bchw->bohw", w, xs)
        return shift(out, self.weight_exp)

    def synapse_count(self, out_shape: tuple[int, ...]) -> int:
        per_channel = np.count_nonzero(self.weight.reshape(self.weight.shape[0], -1), axis=1)
        return int(per_channel.sum()) * int(np.prod(out_shape[1:]))

    def describe(self) -> str:
        extra = f", groups {self.groups}" if self.groups > 1 else ""
        extra += f", dilation {self.dilation}" if self.dilation != (1, 1) else ""
        return f"{super().describe()}, stride {self.stride}, pad {self.padding}{extra}"


@dataclass(frozen=True)
class SumPool(_SingleSource):
    """Integer sum over ``kernel`` windows with per-axis ``stride`` (default = kernel) and zero
    ``padding`` (the ANN's AvgPool with ``count_include_pad``; ``1/(kh*kw)`` is carried by the
    next synapse).  A kernel equal to the input's (H, W) is a global pool."""

    name: str
    source: str
    kernel: Pair = (2, 2)
    stride: Pair | None = None
    padding: Pair = (0, 0)
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "tensor"

    def __post_init__(self) -> None:
        _set(self, "kernel", as_pair(self.kernel, f"{self.name}.kernel", 1))
        stride = self.kernel if self.stride is None else self.stride
        _set(self, "stride", as_pair(stride, f"{self.name}.stride", 1))
        _set(self, "padding", as_pair(self.padding, f"{self.name}.padding", 0))

    @property
    def area(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        src = in_shapes[0]
        if len(src) != 3:
            raise IRError(f"{self.name}: SumPool needs a (C,H,W) input, got {src}")
        assert self.stride is not None
        sizes = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(src[1:], self.kernel, self.stride, self.padding)]
        if min(sizes) < 1:
            raise IRError(f"{self.name}: kernel {self.kernel} does not fit input {src}")
        return (src[0], sizes[0], sizes[1])

    def value_bound(self, in_bounds: list[int]) -> int:
        return in_bounds[0] * self.area

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        """``y[b,c,i,j] = sum_{a<kh, e<kw} xpad[b, c, i*sh + a, j*sw + e]`` (exact int64)."""
        x = values[0].astype(np.int64)
        (ph, pw), (kh, kw) = self.padding, self.kernel
        assert self.stride is not None
        sh, sw = self.stride
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        _, ho, wo = self.out_shape([tuple(x.shape[1:])])
        out = np.zeros((x.shape[0], x.shape[1], ho, wo), np.int64)
        for a in range(kh):
            for e in range(kw):
                out += xp[:, :, a:a + sh * (ho - 1) + 1:sh, e:e + sw * (wo - 1) + 1:sw]
        return out

    def describe(self) -> str:
        return f"sum {self.kernel[0]}x{self.kernel[1]}, stride {self.stride}, pad {self.padding}"


@dataclass(frozen=True)
class Flatten(_SingleSource):
    """C-order reshape to one dimension."""

    name: str
    source: str
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "tensor"

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        return (int(np.prod(in_shapes[0])),)

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        return values[0].reshape(values[0].shape[0], -1)


@dataclass(frozen=True)
class Concat(_MultiSource):
    """Concatenation of its sources along axis 0 (channels of CHW, features of 1-D)."""

    name: str
    sources: tuple[str, ...]
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "tensor"

    def __post_init__(self) -> None:
        _set(self, "sources", _names(self.sources, f"{self.name}.sources"))

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        first = in_shapes[0]
        for src, shape in zip(self.sources, in_shapes):
            if len(shape) != len(first) or tuple(shape[1:]) != tuple(first[1:]):
                raise IRError(f"{self.name}: cannot concatenate {src!r} of shape {shape} with "
                              f"{self.sources[0]!r} of shape {first} (only axis 0 may differ)")
        return (sum(s[0] for s in in_shapes), *first[1:])

    def apply(self, values: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(values, axis=1)


def _per_neuron(values: np.ndarray | int, shape: tuple[int, ...], where: str) -> np.ndarray:
    try:
        return frozen_int_array(np.broadcast_to(np.asarray(values), shape), where)
    except ValueError as exc:
        raise IRError(f"{where}: cannot broadcast to {shape} ({exc})") from None


class _Target(_MultiSource):
    """A node that integrates synaptic currents: several synapses sum into one compartment."""

    shape: tuple[int, ...]
    bias_mant: np.ndarray
    bias_exp: int
    bias_t: IntT

    def _check_common(self) -> None:
        _set(self, "sources", _names(self.sources, f"{self.name}.sources"))
        shape = tuple(self.shape)
        if not shape or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape):
            raise IRError(f"{self.name}.shape: expected positive ints, got {self.shape!r}")
        _set(self, "shape", tuple(int(d) for d in shape))
        _set(self, "bias_mant", _per_neuron(self.bias_mant, self.shape, f"{self.name}.bias_mant"))
        if not isinstance(self.bias_exp, (int, np.integer)) or not 0 <= self.bias_exp <= 62:
            raise IRError(f"{self.name}.bias_exp: must be an int in 0..62, got {self.bias_exp!r}")
        _set(self, "bias_exp", int(self.bias_exp))
        self.bias_t.check(self.bias_mant, f"{self.name}.bias_mant")

    @property
    def bias(self) -> np.ndarray:
        """Per-step bias current ``bias_mant << bias_exp``."""
        return self.bias_mant << self.bias_exp

    @property
    def source(self) -> str:
        """The single synapse of an unmerged node (IRError for a merge)."""
        if len(self.sources) != 1:
            raise IRError(f"{self.name}: has {len(self.sources)} sources {list(self.sources)}")
        return self.sources[0]

    def out_shape(self, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
        for src, shape in zip(self.sources, in_shapes):
            if tuple(shape) != self.shape:
                raise IRError(f"{self.name}: source {src!r} delivers shape {tuple(shape)}, "
                              f"but the node has shape {self.shape}")
        return self.shape


@dataclass(frozen=True, eq=False)
class IFPopulation(_Target):
    """Integer integrate-and-fire neurons; see the module docstring for the update.

    ``threshold``, ``v0`` and ``bias_mant`` are per-neuron arrays of the population's shape;
    ``sources`` are the synapses whose currents are summed each step.
    """

    name: str
    sources: tuple[str, ...]
    shape: tuple[int, ...]
    threshold: np.ndarray
    v0: np.ndarray
    bias_mant: np.ndarray
    bias_exp: int = 0
    reset: ResetMode = "subtract"
    compare: CompareMode = ">="
    state_t: IntT = STATE_T
    bias_t: IntT = BIAS_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "population"
    array_fields: ClassVar[tuple[str, ...]] = ("threshold", "v0", "bias_mant")

    def __post_init__(self) -> None:
        self._check_common()
        for fname in ("threshold", "v0"):
            _set(self, fname, _per_neuron(getattr(self, fname), self.shape, f"{self.name}.{fname}"))
        if self.reset not in ("subtract", "zero"):
            raise IRError(f"{self.name}.reset: expected 'subtract' or 'zero', got {self.reset!r}")
        if self.compare not in (">=", ">"):
            raise IRError(f"{self.name}.compare: expected '>=' or '>', got {self.compare!r}")
        if self.threshold.size and int(self.threshold.min()) < 1:
            raise IRError(f"{self.name}.threshold: must be >= 1, got min {int(self.threshold.min())}")
        self.state_t.check(self.threshold, f"{self.name}.threshold")
        self.state_t.check(self.v0, f"{self.name}.v0")

    def value_bound(self, in_bounds: list[int]) -> int:
        return 1                                                  # spikes are 0/1

    def describe(self) -> str:
        return (f"v {self.state_t.describe()}, theta {int(self.threshold.min())}.."
                f"{int(self.threshold.max())}, bias {self.bias_t.describe()} << {self.bias_exp}, "
                f"{self.reset}/{self.compare}")


@dataclass(frozen=True, eq=False)
class Readout(_Target):
    """Non-spiking output accumulator: ``acc(t) = acc(t-1) + sum_k I_k(t) + bias``."""

    name: str
    sources: tuple[str, ...]
    shape: tuple[int, ...]
    bias_mant: np.ndarray
    bias_exp: int = 0
    bias_t: IntT = BIAS_T
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    role: ClassVar[Role] = "readout"
    array_fields: ClassVar[tuple[str, ...]] = ("bias_mant",)

    def __post_init__(self) -> None:
        self._check_common()

    def value_bound(self, in_bounds: list[int]) -> int:
        return 0

    def describe(self) -> str:
        return f"bias {self.bias_t.describe()} << {self.bias_exp}"


Synapse = Union[Dense, Conv]
Node = Union[Input, Dense, Conv, SumPool, Flatten, Concat, IFPopulation, Readout]
NODE_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (Input, Dense, Conv, SumPool, Flatten, Concat, IFPopulation, Readout)
}
