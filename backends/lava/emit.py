"""Plan a Lava process graph from an integer IR graph (pure numpy; no Lava import).

The plan holds every number the Lava processes receive, already in Lava's conventions, so
that :mod:`neurodeploy.backends.lava.network` only instantiates processes:

* **Layout.** IR tensors are CHW; Lava's Conv works on XYC, i.e. ``lava[x, y, c] =
  ir[c, y, x]`` (``transpose(2, 1, 0)``).  1-D tensors are unchanged.
* **Dense** ``I = shift(W @ s, e)``: ``Dense(weights=2*W, weight_exp=e-1, sign_mode=MIXED)``.
  Lava clips mixed weights to [-256, 255] and truncates one LSB (``(w >> 1) << 1``), both
  exact on ``2*W`` for int8 ``W``; it then shifts the *sum*: ``(2*Σ) >> (1-e)`` =
  ``floor(Σ * 2**e)`` for ``e <= 0`` and ``(2*Σ) << (e-1)`` = ``Σ << e`` for ``e >= 1``:
  exactly the IR's floor-shift of the sum.  A flattened conv output is fed through the
  Lava port's C-order flatten of XYC, so the columns of ``W`` are permuted to match.
* **Conv** ``I = shift(conv(s, W), e)``: Lava's Conv is a true convolution in XYC and
  ignores ``weight_exp``, so the kernel is flipped and transposed
  (``W[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)``); ``e >= 0`` is applied by pre-shifting the
  weights (``W << e``, exact), ``e < 0`` by the consumer (``floor(x / 2**-e)`` in the neuron,
  or on the host for the readout): the floor must act on the sum, not per weight.
* **SumPool** has no Lava process: :func:`neurodeploy.passes.fold_pooling.fold_pooling`
  expands it into the next synapse first.
* **Time.** All samples run back to back, ``period`` logical steps each; the population at
  depth ``k`` (1-based) computes global logical step ``t`` at Lava step ``t + k`` (one step
  per synaptic hop, docs/lava.md §8), so its ``t_start = k``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, Flatten, IFPopulation, Input, Readout, SumPool
from neurodeploy.backends.lava.checks import LavaPlanError, check_plan_input
from neurodeploy.targets import TargetSpec

__all__ = ["LavaPlanError", "NetworkPlan", "plan_network", "prepare", "input_stream"]

LAVA_MIXED_WEIGHT_SCALE = 2   # the 2*q recipe: Lava drops one LSB of mixed-sign weights


def to_lava(a: np.ndarray, ndim: int) -> np.ndarray:
    """IR layout -> Lava layout on the last ``ndim`` axes (CHW -> XYC; 1-D unchanged)."""
    if ndim != 3:
        return a
    lead = a.ndim - 3
    return np.transpose(a, (*range(lead), lead + 2, lead + 1, lead))


def from_lava(a: np.ndarray, ndim: int) -> np.ndarray:
    """Inverse of :func:`to_lava` (XYC -> CHW); the transpose is its own inverse."""
    return to_lava(a, ndim)


def lava_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Lava shape of an IR shape: (C, H, W) -> (W, H, C)."""
    return tuple(reversed(shape)) if len(shape) == 3 else tuple(shape)


def flatten_perm(shape: tuple[int, ...]) -> np.ndarray:
    """``perm[j]`` = IR C-order flat index of the element at Lava C-order flat index ``j``."""
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    return to_lava(idx, len(shape)).reshape(-1)


@dataclass(frozen=True)
class SynapsePlan:
    """One Dense or Conv process, in Lava's conventions."""

    name: str
    kind: str                       # "dense" | "conv"
    weights: np.ndarray             # Dense (n_out, n_in) / Conv (C_out, kw, kh, C_in)
    weight_exp: int                 # Dense only (Conv ignores it)
    post_exp: int                   # shift the consumer applies to the received sum
    num_message_bits: int           # 0 = binary spikes, else graded input bits
    in_shape: tuple[int, ...]       # Lava shape of the source port
    out_shape: tuple[int, ...]      # Lava shape of the output
    flatten_input: bool = False     # connect through the source port's flatten()
    padding: int = 0
    stride: int = 1


@dataclass(frozen=True)
class PopulationPlan:
    """One spiking population: IR parameters in Lava layout (C-order flat arrays)."""

    name: str
    depth: int                      # 1-based position among populations = t_start
    ir_shape: tuple[int, ...]
    shape: tuple[int, ...]          # Lava shape
    synapse: SynapsePlan
    vth: np.ndarray
    v0: np.ndarray
    bias: np.ndarray                # bias_mant << bias_exp (IR units)
    bias_mant: np.ndarray
    bias_exp: int
    reset: str
    compare: str
    state_lo: int
    state_hi: int


@dataclass(frozen=True)
class NetworkPlan:
    """Everything needed to instantiate the Lava graph for ``period`` steps per sample."""

    input_name: str
    input_ir_shape: tuple[int, ...]
    input_bits: int
    populations: tuple[PopulationPlan, ...]
    readout_name: str
    readout_ir_shape: tuple[int, ...]
    readout_synapse: SynapsePlan
    readout_bias: np.ndarray        # IR layout
    schedule_kind: str
    tau: int
    window: int
    period: int
    neuron: str                     # "subif" (custom process) or "lif" (stock LIF)
    state_shift: int = 0            # stock LIF: v, vth and bias held as value << state_shift

    @property
    def depth(self) -> int:
        return len(self.populations)

    def physical_steps(self, n_samples: int) -> int:
        """Lava steps for ``n_samples`` back-to-back samples to reach the readout sink."""
        return n_samples * self.period + self.depth + 1


def prepare(graph: Graph) -> Graph:
    """Remove SumPool nodes with the fold_pooling pass (Lava has no pooling process)."""
    if not any(isinstance(n, SumPool) for n in graph.nodes):
        return graph
    from neurodeploy.passes.fold_pooling import fold_pooling
    return fold_pooling(graph)


def _shift_exact(w: np.ndarray, e: int) -> np.ndarray:
    return np.asarray(w, np.int64) << e


def _synapse(n: Dense | Conv, src_shape: tuple[int, ...], src_bits: int, graded: bool,
             flat_from: tuple[int, ...] | None, shapes: dict[str, tuple[int, ...]]) -> SynapsePlan:
    out_ir = shapes[n.name]
    msg_bits = src_bits if graded else 0
    if isinstance(n, Dense):
        w = np.asarray(n.weight, np.int64)
        if flat_from is not None:
            w = w[:, flatten_perm(flat_from)]
        return SynapsePlan(n.name, "dense", LAVA_MIXED_WEIGHT_SCALE * w, n.weight_exp - 1, 0,
                           msg_bits, (int(w.shape[1]),), lava_shape(out_ir),
                           flatten_input=flat_from is not None)
    k = np.ascontiguousarray(np.asarray(n.weight, np.int64)[:, :, ::-1, ::-1].transpose(0, 3, 2, 1))
    pre = max(n.weight_exp, 0)
    return SynapsePlan(n.name, "conv", _shift_exact(k, pre), 0, min(n.weight_exp, 0), msg_bits,
                       lava_shape(src_shape), lava_shape(out_ir), padding=n.padding,
                       stride=n.stride)


def plan_network(graph: Graph, spec: TargetSpec, steps: int) -> NetworkPlan:
    """Translate ``graph`` (SumPool already folded) into a :class:`NetworkPlan`."""
    check_plan_input(graph, spec)
    shapes = graph.shapes()
    inp: Input = graph.input
    pops: list[PopulationPlan] = []
    graded, src_bits = True, inp.bits
    flat_from: tuple[int, ...] | None = None
    pending: SynapsePlan | None = None
    readout: tuple[Readout, SynapsePlan] | None = None
    for n in graph.nodes[1:]:
        if isinstance(n, Flatten):
            src_shape = shapes[n.source]
            flat_from = src_shape if len(src_shape) == 3 else flat_from
        elif isinstance(n, (Dense, Conv)):
            pending = _synapse(n, shapes[n.source], src_bits, graded, flat_from, shapes)
            flat_from = None
        elif isinstance(n, IFPopulation):
            assert pending is not None
            ndim = len(n.shape)
            pops.append(PopulationPlan(
                name=n.name, depth=len(pops) + 1, ir_shape=tuple(n.shape),
                shape=lava_shape(tuple(n.shape)), synapse=pending,
                vth=to_lava(n.threshold, ndim), v0=to_lava(n.v0, ndim),
                bias=to_lava(n.bias, ndim), bias_mant=to_lava(n.bias_mant, ndim),
                bias_exp=n.bias_exp, reset=n.reset, compare=n.compare,
                state_lo=n.state_t.lo, state_hi=n.state_t.hi))
            graded, src_bits, pending = False, 1, None
        elif isinstance(n, Readout):
            assert pending is not None
            readout = (n, pending)
    assert readout is not None
    sched = graph.schedule
    return NetworkPlan(
        input_name=inp.name, input_ir_shape=tuple(inp.shape), input_bits=inp.bits,
        populations=tuple(pops), readout_name=readout[0].name,
        readout_ir_shape=tuple(readout[0].shape), readout_synapse=readout[1],
        readout_bias=np.asarray(readout[0].bias, np.int64), schedule_kind=sched.kind,
        tau=sched.tau, window=sched.window, period=sched.total_steps(steps, len(pops)),
        neuron=spec.lava_neuron, state_shift=spec.state_shift)


def input_stream(plan: NetworkPlan, x: np.ndarray) -> np.ndarray:
    """RingBuffer data ``(*lava input shape, physical steps)``: each sample's integers for
    its ``period`` steps, back to back, then zeros while the pipeline drains."""
    x = np.asarray(x, np.int64)
    n = x.shape[0]
    xl = to_lava(x, len(plan.input_ir_shape))                 # (N, *lava shape)
    rep = np.repeat(xl, plan.period, axis=0)                   # (N*period, *lava shape)
    pad = np.zeros((plan.physical_steps(n) - rep.shape[0], *rep.shape[1:]), np.int64)
    data = np.concatenate([rep, pad], axis=0)
    return np.moveaxis(data, 0, -1)
