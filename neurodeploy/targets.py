"""Hardware targets as data.

A :class:`TargetSpec` lists what a target can represent.  The converter reads it to choose
integer scales, :func:`neurodeploy.ir.verify.verify_graph` checks graphs against it, and
backends translate (never re-derive) it.  ``None`` means "not publicly known".

Sources: Lava 0.10.0 bit-accurate models (``PyLifModelBitAcc``, ``PyDenseModelBitAcc``);
Loihi 1 formats from Davies et al., IEEE Micro 38(1) 2018 and nengo-loihi; Loihi 2 totals
from Intel's 2021 technology brief (1 M neurons, 120 M synapses, 128 cores per chip).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetSpec:
    """Integer formats and resources of one target."""

    name: str
    description: str
    weight_bits: int = 8                    # signed weight mantissa
    weight_exp_range: tuple[int, int] = (-8, 8)
    current_bits: int = 24                  # synaptic accumulator (signed, must not wrap)
    state_bits: int = 24                    # membrane potential (signed, saturating)
    threshold_bits: int = 23                # unsigned magnitude of a threshold
    bias_mant_bits: int = 16                # signed bias mantissa
    bias_exp_range: tuple[int, int] = (0, 7)
    reset_modes: tuple[str, ...] = ("subtract", "zero")
    compare_modes: tuple[str, ...] = (">=", ">")
    schedules: tuple[str, ...] = ("plain", "srp", "two_phase")
    per_neuron_threshold: bool = True
    input_bits: int = 16                    # widest unsigned direct input
    grouped_conv: bool = True               # Conv with groups > 1 (depthwise)
    max_fan_in_projections: int = 16        # synapses summed into one population (residual merges)
    max_delay: int = 62                     # longest synaptic delay in steps (Loihi 2: 6 bits)
    neurons_per_core: int | None = None
    synapse_words_per_core: int | None = None
    fan_in_axons_per_core: int | None = None
    cores_per_chip: int | None = None
    chips: int | None = None
    lava_neuron: str = "subif"              # Lava process for IF populations: "subif" (neurodeploy's
                                            # custom process) or "lif" (stock LIF/LIFReset)
    state_shift: int = 0                    # stock LIF holds v and thresholds as value << state_shift
    register_bits: int = 24                 # signed width of the neuron's u/v registers (Lava LIF:
                                            # u wraps, v saturates at +-(2**23 - 1), in value << state_shift)
    max_sample_steps: int | None = None     # longest sample (logical steps between two state reloads)
                                            # a graph-level check proves exact; None = any length

    def __post_init__(self) -> None:
        """A stock-LIF target derives its IR widths from the register: ``v << state_shift`` and
        ``I << state_shift`` must fit ``register_bits`` (one source of truth for the checks)."""
        if self.lava_neuron != "lif":
            return
        room = self.register_bits - self.state_shift
        if self.state_bits != room or self.current_bits > room:
            raise ValueError(f"target {self.name}: state_bits={self.state_bits} must equal and "
                             f"current_bits={self.current_bits} must not exceed register_bits - "
                             f"state_shift = {room}")
        if self.max_sample_steps is not None and self.max_sample_steps < 1:
            raise ValueError(f"target {self.name}: max_sample_steps must be >= 1 or None")


LIF_REGISTER_BITS = 24       # PyLifModelBitAcc: u and v are 24-bit (docs: Lava 0.10 LIF)
LIF_SHIFT = 6                # LIF: u = a << 6, threshold vth << 6, bias 64 * b


CPU = TargetSpec(
    name="cpu",
    description="neurodeploy CPU simulator (the executable specification), Lava-compatible formats",
)
LAVA_SIM_SUBIF = TargetSpec(
    name="lava-sim-subif",
    description="Lava 0.10 Loihi2SimCfg fixed_pt with neurodeploy's subtractive IF process",
)
LAVA_SIM_LIF = TargetSpec(
    name="lava-sim-lif",
    description="Lava 0.10 stock LIF (PyLifModelBitAcc): hard reset, strict '>', scalar threshold",
    current_bits=LIF_REGISTER_BITS - LIF_SHIFT,  # u = a << 6 wraps at 24 bits
    state_bits=LIF_REGISTER_BITS - LIF_SHIFT,    # v is held as 64*v in 24 bits
    threshold_bits=17,        # vth mantissa, used as vth << 6
    bias_mant_bits=13,
    bias_exp_range=(0, 1),    # bias_exp + 6 must stay <= 7 in Lava units
    reset_modes=("zero",),
    compare_modes=(">",),
    schedules=("plain",),
    per_neuron_threshold=False,
    lava_neuron="lif",
    state_shift=LIF_SHIFT,    # LIF: u = a << 6, threshold vth << 6, bias_mant << bias_exp = 64 * b
    register_bits=LIF_REGISTER_BITS,
    max_sample_steps=32,      # check(graph) proves samples up to 32 steps (negative drift: see
                              # backends/lava/lif_bounds.py); each run is re-proven for its own T
)
LOIHI2 = TargetSpec(
    name="loihi2",
    description="Intel Loihi 2 (public figures; per-core limits are INRC-only and approximate)",
    bias_mant_bits=13,
    neurons_per_core=8192,            # 1 M neurons / 128 cores (derived)
    synapse_words_per_core=None,
    fan_in_axons_per_core=None,
    cores_per_chip=128,
    chips=1,
)
TARGETS: dict[str, TargetSpec] = {t.name: t for t in (CPU, LAVA_SIM_SUBIF, LAVA_SIM_LIF, LOIHI2)}


def get_target(name: str) -> TargetSpec:
    """The built-in target ``name``; the error lists the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; known: {', '.join(sorted(TARGETS))}") from None
