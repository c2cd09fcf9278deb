"""Instantiate, run and read back the Lava process graph of a :class:`NetworkPlan`.

Graph: ``RingBuffer(input stream)`` and one neuron process per population; each projection
part is a Lava ``Dense``/``DelayDense``/``Conv`` from its source's OutPort (or from a
``Relay`` of it) to the consumer's InPort, which sums all of them; each readout projection
ends in its own sink RingBuffer.

* Neurons: ``SubIF`` (neurodeploy's process, :mod:`procs.subif`) with ``t_start = layer =``
  the population's logical depth and ``period`` = logical steps per sample; when recording it
  sends ``(spikes, v)`` every Lava step on ``r_out`` to an ``Extractor``, which the host
  drains while Lava runs (one message per layer and step, not one per element).  Or stock ``LIFReset``
  (``du=4095, dv=0``, threshold ``vth``, bias ``64*b``) with ``reset_interval = period`` and
  ``reset_offset = (1 + depth) % period`` so that ``u = v = 0`` at the first Lava step of
  every sample; an ``Extractor`` streams its ``s_out`` and a ``VarWire`` its ``v`` (``v = 64 * v_IR``).  Before
  building, :func:`lif_bounds.plan_issues` proves the run's samples stay where LIF == IR.
* Delays (:mod:`neurodeploy.backends.lava.parts`): Dense parts use ``DelayDense`` with a
  uniform delay, Conv parts read a ``Relay`` (:mod:`procs.relay`).
* Readout: sink column ``j + d_readout`` holds the current of global logical step ``j``
  (0-based) (:mod:`neurodeploy.backends.lava.readback`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from neurodeploy.backends.lava import compat, recorders
from neurodeploy.backends.lava.checks import LavaPlanError, lif_bias
from neurodeploy.backends.lava.emit import input_stream
from neurodeploy.backends.lava.lif_bounds import plan_issues
from neurodeploy.backends.lava.plan import NetworkPlan, PartPlan, PopulationPlan

LIF_FULL_DECAY = 4095     # du = 4095: u = a << 6 each step (no current memory)
LIF_NO_DECAY = 0          # dv = 0: v keeps its value


@dataclass
class RawRun:
    """Lava-side results: per population spikes/v ``(n_neurons, logical steps)`` in Lava
    layout and logical time, and per readout projection its sink ``(*lava shape, phys steps)``."""

    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)
    sinks: dict[str, np.ndarray] = field(default_factory=dict)
    physical_steps: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _synapse_proc(p: PartPlan) -> Any:
    from lava.proc.conv.process import Conv
    from lava.proc.dense.process import DelayDense, Dense
    from lava.utils.weightutils import SignMode
    if p.kind == "dense":
        common = {"weights": p.weights, "weight_exp": p.weight_exp, "num_weight_bits": 8,
                  "num_message_bits": p.num_message_bits, "sign_mode": SignMode.MIXED, "name": p.name}
        if p.delay:
            return DelayDense(delays=np.full(p.weights.shape, p.delay), **common)
        return Dense(**common)
    return Conv(weight=p.weights, input_shape=p.in_shape, padding=p.padding, stride=p.stride,
                dilation=p.dilation, groups=p.groups, num_message_bits=p.num_message_bits,
                name=p.name)


def _neuron_proc(plan: NetworkPlan, p: PopulationPlan, n_samples: int, record: bool) -> Any:
    if plan.neuron == "lif":
        from lava.proc.lif.process import LIFReset
        mant, exp = lif_bias(p.bias_mant, p.bias_exp, plan.state_shift)
        return LIFReset(shape=p.shape, du=LIF_FULL_DECAY, dv=LIF_NO_DECAY,
                        vth=int(p.vth.reshape(-1)[0]), bias_mant=mant, bias_exp=exp,
                        reset_interval=plan.period, reset_offset=(1 + p.depth) % plan.period,
                        name=p.name)
    from neurodeploy.backends.lava.procs.subif import SubIF
    s = plan.schedule
    return SubIF(shape=p.shape, vth=p.vth, v0=p.v0, bias=p.bias, state_lo=p.state_lo,
                 state_hi=p.state_hi, compare=p.compare, reset=p.reset, in_exp=p.in_exp,
                 t_start=p.depth, period=plan.period, schedule=s.kind, tau=s.tau, window=s.window,
                 layer=p.depth, record=record, name=p.name)


class _Builder:
    """Creates processes from the plan and wires every part to its source port."""

    def __init__(self, plan: NetworkPlan, x: np.ndarray) -> None:
        from lava.proc.io.source import RingBuffer as Source
        from neurodeploy.backends.lava.procs.relay import Relay
        self.source = Source(data=input_stream(plan, x))
        self.ports: dict[str, Any] = {plan.input_name: self.source.s_out}
        self.relays = {r.name: Relay(shape=r.shape, delay=r.delay, name=r.name) for r in plan.relays}
        self.relay_plans = {r.name: r for r in plan.relays}
        self.relays_wired: set[str] = set()

    def connect(self, p: PartPlan, in_port: Any) -> None:
        """``source port -> [relay ->] synapse -> in_port``."""
        port = self.ports[p.source]
        if p.relay is not None:
            relay = self.relays[p.relay]
            if p.relay not in self.relays_wired:
                port.connect(relay.s_in)
                self.relays_wired.add(p.relay)
            port = relay.s_out
        syn = _synapse_proc(p)
        (port.flatten() if p.flatten_input else port).connect(syn.s_in)
        syn.a_out.connect(in_port)


def run_plan(plan: NetworkPlan, x: np.ndarray, *, record: bool = True,
             hardware: bool = False, stall_s: float = recorders.STALL_S) -> RawRun:
    """Build the process graph for inputs ``x`` (N, *input shape), run all samples in one
    long run on ``Loihi2SimCfg(select_tag="fixed_pt")`` (or ``Loihi2HwCfg``), read back.

    A stock-LIF plan is first re-proven for its own ``period`` (:func:`lif_bounds.plan_issues`):
    LavaPlanError naming the layer if a sample this long could leave the exact region.
    Recorded state is streamed (:mod:`recorders`); ``stall_s`` bounds the wait for one record."""
    found = plan_issues(plan)
    if found:
        raise LavaPlanError("cannot run exactly on Lava's stock LIF: " + "; ".join(found))
    compat.require_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink

    t0 = time.perf_counter()
    n = int(np.asarray(x).shape[0])
    phys = plan.physical_steps(n)
    b = _Builder(plan, x)
    taps: dict[str, list[tuple[Any, int]]] = {}
    for p in plan.populations:                       # topological order: sources exist already
        neu = _neuron_proc(plan, p, n, record)
        for part in p.parts:
            b.connect(part, neu.a_in)
        b.ports[p.name] = neu.s_out
        if record:
            taps[p.name] = recorders.taps(neu, lif=plan.neuron == "lif")
    sinks = {}
    for pr in plan.readout_projections:
        sinks[pr.synapse] = Sink(shape=pr.parts[0].out_shape, buffer=phys)
        for part in pr.parts:
            b.connect(part, sinks[pr.synapse].a_in)
    cfg = Loihi2HwCfg() if hardware else Loihi2SimCfg(select_tag="fixed_pt",
                                                      exception_proc_model_map=recorders.models())
    raw = RawRun(physical_steps=phys)
    t1 = time.perf_counter()
    b.source.run(condition=RunSteps(num_steps=phys, blocking=not taps), run_cfg=cfg)
    try:
        try:
            records = recorders.drain(taps, phys, b.source.runtime, stall_s)
        except BaseException:                        # failed, stalled or interrupted: no stop() wait
            recorders.abort(b.source.runtime)
            raise
        try:
            t2 = time.perf_counter()
            raw.sinks = {k: np.rint(np.asarray(s.data.get())).astype(np.int64) for k, s in sinks.items()}
        finally:
            b.source.stop()
    finally:
        recorders.close(taps)
    for p in plan.populations:
        if p.name in records:
            # logical step t (1-based) of the whole run is computed at Lava step t + depth
            rec = records[p.name][p.depth:p.depth + n * plan.period]     # (logical, 2, n)
            raw.spikes[p.name] = rec[:, 0].T
            # stock LIF: v_Lava = v_IR << 6 (exact in the region lif_bounds proves)
            raw.v[p.name] = rec[:, 1].T >> (plan.state_shift if plan.neuron == "lif" else 0)
    raw.timings = {"build_s": t1 - t0, "run_s": t2 - t1, "read_stop_s": time.perf_counter() - t2}
    return raw
