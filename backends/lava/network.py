"""Instantiate, run and read back the Lava process graph of a :class:`NetworkPlan`.

Graph: ``RingBuffer(input stream) -> [Dense|Conv -> neuron]* -> Dense|Conv -> sink RingBuffer``.

* Neurons: ``SubIF`` (neurodeploy's process, :mod:`procs.subif`) with ``t_start = depth``
  and ``period`` = logical steps per sample; it records its own spikes and ``v`` (``s_rec``,
  ``v_rec``) in logical time.  Or stock ``LIFReset`` (``du=4095, dv=0``, threshold
  ``vth``, bias ``64*b``) with ``reset_interval = period`` and ``reset_offset = (1 + depth)
  % period`` so that ``u = v = 0`` at the first Lava step of every sample; a ``Monitor``
  records its ``s_out`` and ``v`` (``v = 64 * v_IR``).
* Readout: the last synapse's output goes to a sink RingBuffer; the host adds the bias and
  accumulates (:mod:`neurodeploy.backends.lava.readback`).  Its output for global logical
  step ``j`` (0-based) lands at sink column ``j + depth + 1``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodeploy.backends.lava import compat
from neurodeploy.backends.lava.checks import lif_bias
from neurodeploy.backends.lava.emit import NetworkPlan, PopulationPlan, SynapsePlan, input_stream

LIF_FULL_DECAY = 4095     # du = 4095: u = a << 6 each step (no current memory)
LIF_NO_DECAY = 0          # dv = 0: v keeps its value


@dataclass
class RawRun:
    """Lava-side results: per population spikes/v ``(n_neurons, logical steps)`` in Lava
    layout and logical time, and the sink's readout currents ``(*lava shape, phys steps)``."""

    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)
    sink: np.ndarray | None = None
    physical_steps: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _synapse_proc(sp: SynapsePlan) -> Any:
    from lava.proc.conv.process import Conv
    from lava.proc.dense.process import Dense
    from lava.utils.weightutils import SignMode
    if sp.kind == "dense":
        return Dense(weights=sp.weights, weight_exp=sp.weight_exp, num_weight_bits=8,
                     num_message_bits=sp.num_message_bits, sign_mode=SignMode.MIXED,
                     name=sp.name)
    return Conv(weight=sp.weights, input_shape=sp.in_shape, padding=sp.padding,
                stride=sp.stride, num_message_bits=sp.num_message_bits, name=sp.name)


def _neuron_proc(plan: NetworkPlan, p: PopulationPlan, n_samples: int, record: bool) -> Any:
    if plan.neuron == "lif":
        from lava.proc.lif.process import LIFReset
        mant, exp = lif_bias(p.bias_mant, p.bias_exp, plan.state_shift)
        return LIFReset(shape=p.shape, du=LIF_FULL_DECAY, dv=LIF_NO_DECAY,
                        vth=int(p.vth.reshape(-1)[0]), bias_mant=mant, bias_exp=exp,
                        reset_interval=plan.period, reset_offset=(1 + p.depth) % plan.period,
                        name=p.name)
    from neurodeploy.backends.lava.procs.subif import SubIF
    return SubIF(shape=p.shape, vth=p.vth, v0=p.v0, bias=p.bias, state_lo=p.state_lo,
                 state_hi=p.state_hi, compare=p.compare, reset=p.reset,
                 in_exp=p.synapse.post_exp, t_start=p.depth, period=plan.period,
                 schedule=plan.schedule_kind, tau=plan.tau, window=max(plan.window, 1),
                 layer=p.depth, n_record=n_samples * plan.period if record else 0, name=p.name)


def _connect(src_port: Any, syn: Any, sp: SynapsePlan) -> None:
    port = src_port.flatten() if sp.flatten_input else src_port
    port.connect(syn.s_in)


def run_plan(plan: NetworkPlan, x: np.ndarray, *, record: bool = True,
             hardware: bool = False) -> RawRun:
    """Build the process graph for inputs ``x`` (N, *input shape), run all samples in one
    long run on ``Loihi2SimCfg(select_tag="fixed_pt")`` (or ``Loihi2HwCfg``), read back."""
    import time
    compat.require_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    t0 = time.perf_counter()
    n = int(np.asarray(x).shape[0])
    phys = plan.physical_steps(n)
    src = Source(data=input_stream(plan, x))
    port = src.s_out
    neurons, monitors = [], []
    for p in plan.populations:
        syn = _synapse_proc(p.synapse)
        _connect(port, syn, p.synapse)
        neu = _neuron_proc(plan, p, n, record)
        syn.a_out.connect(neu.a_in)
        if record and plan.neuron == "lif":
            mon_s, mon_v = Monitor(), Monitor()       # one probe per Monitor (Lava limitation)
            mon_s.probe(neu.s_out, phys)
            mon_v.probe(neu.v, phys)
            monitors.append((mon_s, mon_v))
        else:
            monitors.append(None)
        neurons.append(neu)
        port = neu.s_out
    rs = plan.readout_synapse
    rsyn = _synapse_proc(rs)
    _connect(port, rsyn, rs)
    sink = Sink(shape=rs.out_shape, buffer=phys)
    rsyn.a_out.connect(sink.a_in)
    cfg = Loihi2HwCfg() if hardware else Loihi2SimCfg(select_tag="fixed_pt")
    raw = RawRun(physical_steps=phys)
    t1 = time.perf_counter()
    src.run(condition=RunSteps(num_steps=phys), run_cfg=cfg)
    t2 = time.perf_counter()
    try:
        raw.sink = np.rint(np.asarray(sink.data.get())).astype(np.int64)
        if record:
            _read_populations(plan, neurons, monitors, n, raw)
    finally:
        src.stop()
    raw.timings = {"build_s": t1 - t0, "run_s": t2 - t1, "read_stop_s": time.perf_counter() - t2}
    return raw


def _read_populations(plan: NetworkPlan, neurons: list[Any], monitors: list[Any], n: int,
                      raw: RawRun) -> None:
    logical = n * plan.period
    for p, neu, mon in zip(plan.populations, neurons, monitors):
        if mon is None:
            raw.spikes[p.name] = np.rint(neu.s_rec.get()).astype(np.int64)[:, :logical]
            raw.v[p.name] = np.rint(neu.v_rec.get()).astype(np.int64)[:, :logical]
            continue
        # Monitor rows are Lava steps 1..phys; logical step j runs at Lava step j + depth.
        s = np.asarray(mon[0].get_data()[p.name]["s_out"]).reshape(-1, int(np.prod(p.shape)))
        v = np.asarray(mon[1].get_data()[p.name]["v"]).reshape(-1, int(np.prod(p.shape)))
        rows = slice(p.depth, p.depth + logical)
        raw.spikes[p.name] = np.rint(s[rows]).astype(np.int64).T
        v_lava = np.rint(v[rows]).astype(np.int64).T
        raw.v[p.name] = v_lava >> plan.state_shift   # v_Lava = v_IR << 6 (exact below saturation)
