"""Framework-neutral description of a trained network, before integer mapping (a DAG).

A :class:`FloatNetwork` is an input description plus nodes in topological order:

* :class:`TensorOp`: a synapse-free operation on spike tensors (average pool with
  kernel/stride/padding, a global pool when the kernel covers the whole input; flatten;
  channel concatenation).  Tensor names are shared with the integer IR.
* :class:`FloatPopulation`: an activation (QCFS or ReLU) fed by the *sum* of one or more
  :class:`FloatSynapse` (conv or dense, real weight and bias), or, when ``threshold`` is
  ``None``, the final non-spiking readout (the last node).  The pre-activation is::

      z = sum_i (W_i (*) s_i + b_i)          (*) = conv2d or matmul, s_i = the synapse's source

  A residual ``x + y`` with a spike tensor ``x`` is an *identity synapse* (1x1 conv or dense
  with identity weights), so every population is uniformly a sum of synapses.

Both routes produce this: the QAT route (:mod:`~neurodeploy.convert.from_brevitas`) and the
float-ANN route (:mod:`~neurodeploy.convert.from_float`); :func:`~neurodeploy.convert.integerize.integerize`
maps it to the integer IR.  Naming (stable, chosen by the fx walker): populations
``conv<i>_if`` / ``fc<i>_if`` and the readout ``<kind><i>_out``, where ``i`` counts populations
(readout included) in forward order and ``kind`` is that of the first synapse; synapses
``<stem>_syn`` (first) and ``<stem>_syn<k>`` (k-th, k >= 2); tensor ops ``pool<j>``,
``flatten<j>``, ``concat<j>``.  The source module of each node is recorded in ``module``/``meta``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

Pair = tuple[int, int]
INPUT = "input"


@dataclass(frozen=True)
class InputSpec:
    """Integer input grid: ``x_real = x_int * scale`` with ``x_int`` unsigned ``bits``-bit."""

    shape: tuple[int, ...]
    bits: int
    scale: float


@dataclass(frozen=True, eq=False)
class FloatSynapse:
    """One conv/dense synapse in real units: ``W (*) s + b`` on source tensor ``source``.

    ``weight`` is ``(C_out, C_in/groups, kh, kw)`` for conv (torch layout) or ``(n_out, n_in)``
    for dense; ``bias`` is per output channel.  ``module`` is the source module path ("" for an
    identity shortcut, which has ``identity=True``).
    """

    name: str
    kind: Literal["conv", "dense"]
    source: str
    weight: np.ndarray
    bias: np.ndarray
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    module: str = ""
    identity: bool = False
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TensorOp:
    """A synapse-free op on spike tensors: ``pool`` (sum over windows; the ANN's average, whose
    ``1/(kh*kw)`` the consumer's weights carry), ``flatten`` or ``concat`` (channels)."""

    name: str
    op: Literal["pool", "flatten", "concat"]
    sources: tuple[str, ...]
    kernel: Pair = (1, 1)
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    module: str = ""
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class FloatPopulation:
    """An activation fed by the sum of ``synapses`` (or the readout when ``threshold is None``).

    ``threshold`` is the clipping level ``lambda`` (QCFS's, or a calibrated one; NaN until
    calibration on the float route); ``v0_fraction`` the initial potential as a fraction of it
    (QCFS shift: 1/2, clip-floor: 0); ``v0_offset``, if set, a per-neuron (or per-channel)
    initial potential in threshold units added on top (potential calibration).
    """

    name: str
    synapses: tuple[FloatSynapse, ...]
    threshold: float | None = None
    v0_fraction: float = 0.5
    v0_offset: np.ndarray | None = None
    module: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def is_readout(self) -> bool:
        return self.threshold is None

    @property
    def bias(self) -> np.ndarray:
        """Total real bias ``sum_i b_i`` per output channel."""
        return np.sum([np.asarray(s.bias, np.float64) for s in self.synapses], axis=0)

    @property
    def source_layer(self) -> str:
        """Module of the first synapse (the main branch)."""
        return self.synapses[0].module

    def with_bias_shift(self, delta: np.ndarray) -> FloatPopulation:
        """Copy whose total bias is ``bias + delta`` (added to the first synapse's bias)."""
        first = self.synapses[0]
        moved = replace(first, bias=np.asarray(first.bias, np.float64) + delta)
        return replace(self, synapses=(moved,) + self.synapses[1:])


FloatNode = TensorOp | FloatPopulation


@dataclass(frozen=True)
class FloatNetwork:
    """Input grid, nodes in topological order (readout last) and the activation levels ``L``."""

    input: InputSpec
    nodes: tuple[FloatNode, ...]
    levels: int = 0
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = {INPUT}
        for n in self.nodes:
            reads = n.sources if isinstance(n, TensorOp) else tuple(s.source for s in n.synapses)
            if isinstance(n, FloatPopulation) and not n.synapses:
                raise ValueError(f"{n.name}: a population needs at least one synapse")
            for src in reads:
                if src not in known:
                    raise ValueError(f"{n.name}: source {src!r} is not an earlier tensor")
            if n.name in known:
                raise ValueError(f"{n.name}: duplicate name")
            known.add(n.name)
        pops = [n for n in self.nodes if isinstance(n, FloatPopulation)]
        if not pops or not pops[-1].is_readout or any(p.is_readout for p in pops[:-1]):
            raise ValueError("network: exactly one readout, the last population, is required")

    @property
    def populations(self) -> tuple[FloatPopulation, ...]:
        """Hidden (spiking) populations in forward order."""
        return tuple(n for n in self.nodes if isinstance(n, FloatPopulation) and not n.is_readout)

    @property
    def readout(self) -> FloatPopulation:
        last = [n for n in self.nodes if isinstance(n, FloatPopulation)][-1]
        return last

    def node(self, name: str) -> FloatNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"network: no node named {name!r}")

    def with_populations(self, pops: dict[str, FloatPopulation] | list[FloatPopulation],
                         meta: dict[str, str] | None = None) -> FloatNetwork:
        """Copy with the named populations replaced (structure unchanged) and ``meta`` merged."""
        by_name = pops if isinstance(pops, dict) else {p.name: p for p in pops}
        nodes = tuple(by_name.get(n.name, n) for n in self.nodes)
        return replace(self, nodes=nodes, meta={**self.meta, **(meta or {})})
