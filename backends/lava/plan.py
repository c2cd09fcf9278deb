"""The data of a Lava plan (pure numpy, no Lava import) and the IR <-> Lava layout helpers.

A plan holds every number the Lava processes receive, already in Lava's conventions;
:mod:`neurodeploy.backends.lava.emit` computes it from an IR graph and
:mod:`neurodeploy.backends.lava.network` only instantiates processes from it.

* **Layout.** IR tensors are CHW; Lava's Conv works on XYC, i.e. ``lava[x, y, c] =
  ir[c, y, x]`` (``transpose(2, 1, 0)``); per-axis pairs (stride, padding, dilation) are
  therefore given to Lava as ``(w, h)``.  1-D tensors are unchanged.
* **Time.** A node of logical depth ``d`` (:attr:`Graph.depths`) computes global logical step
  ``t`` (1-based, samples back to back) at Lava step ``t + d``: one step per synaptic hop
  (docs/lava.md §8) plus the delays of :class:`PartPlan` that equalise unequal paths.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.ir.schedule import Schedule

Pair = tuple[int, int]


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
class PartPlan:
    """One Lava synapse process: the share of IR synapse ``synapse`` that reads spike source
    ``source`` (a population or the Input); the parts of one synapse sum at their consumer.

    ``delay`` extra Lava steps are added after the hop: by ``DelayDense`` (synaptic delays,
    Dense parts) or by the relay process ``relay`` placed before a Conv part."""

    name: str
    synapse: str
    source: str
    kind: str                       # "dense" | "conv"
    weights: np.ndarray             # Dense (n_out, n_in) / Conv (C_out, kw, kh, C_in), Lava layout
    weight_exp: int                 # Dense only (Conv ignores it)
    num_message_bits: int           # 0 = binary spikes, else graded input bits
    in_shape: tuple[int, ...]       # Lava shape of the source port
    out_shape: tuple[int, ...]      # Lava shape of the output
    flatten_input: bool = False     # connect through the source port's flatten()
    stride: Pair = (1, 1)           # Lava (x, y) order
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    delay: int = 0
    relay: str | None = None        # name of the RelayPlan feeding this part (Conv delays)


@dataclass(frozen=True)
class ProjectionPlan:
    """One IR synapse into a population or the readout: its parts and the shift ``post_exp``
    its consumer applies to their summed output (0, or the negative exponent whose floor must
    act on the whole sum: a Conv with ``weight_exp < 0`` or a split Dense)."""

    synapse: str
    post_exp: int
    parts: tuple[PartPlan, ...]


@dataclass(frozen=True)
class RelayPlan:
    """A ring buffer delaying the values of ``source`` by ``delay`` Lava steps."""

    name: str
    source: str
    delay: int
    shape: tuple[int, ...]          # Lava shape
    num_message_bits: int


@dataclass(frozen=True)
class PopulationPlan:
    """One spiking population: IR parameters in Lava layout (per-neuron arrays)."""

    name: str
    depth: int                      # logical depth = SubIF t_start and two_phase layer
    ir_shape: tuple[int, ...]
    shape: tuple[int, ...]          # Lava shape
    projections: tuple[ProjectionPlan, ...]
    vth: np.ndarray
    v0: np.ndarray
    bias: np.ndarray                # bias_mant << bias_exp (IR units)
    bias_mant: np.ndarray
    bias_exp: int
    reset: str
    compare: str
    state_lo: int
    state_hi: int

    @property
    def parts(self) -> tuple[PartPlan, ...]:
        return tuple(p for pr in self.projections for p in pr.parts)

    @property
    def in_exp(self) -> int:
        """Shift the neuron applies to its summed input (checks refuse it on a merge)."""
        return self.projections[0].post_exp if len(self.projections) == 1 else 0


@dataclass(frozen=True)
class NetworkPlan:
    """Everything needed to instantiate the Lava graph for ``period`` steps per sample."""

    input_name: str
    input_ir_shape: tuple[int, ...]
    input_bits: int
    populations: tuple[PopulationPlan, ...]
    relays: tuple[RelayPlan, ...]
    readout_name: str
    readout_ir_shape: tuple[int, ...]
    readout_depth: int
    readout_projections: tuple[ProjectionPlan, ...]
    readout_bias: np.ndarray        # IR layout
    schedule: Schedule
    period: int
    neuron: str                     # "subif" (custom process) or "lif" (stock LIF)
    state_shift: int = 0            # stock LIF: v, vth and bias held as value << state_shift

    @property
    def depth(self) -> int:
        """``D`` of the graph: the readout's depth minus one."""
        return self.readout_depth - 1

    def parts(self) -> list[PartPlan]:
        """Every synapse process of the network (populations first, then the readout)."""
        out = [p for pop in self.populations for p in pop.parts]
        return out + [p for pr in self.readout_projections for p in pr.parts]

    def physical_steps(self, n_samples: int) -> int:
        """Lava steps for ``n_samples`` back-to-back samples to reach the readout sink."""
        return n_samples * self.period + self.readout_depth
