"""neurodeploy's integer IF neuron as a Lava Process with fixed_pt and floating_pt models.

Only Process/ProcessModel classes live here: Lava executes every file of this folder at each
compile (docs/lava.md §2), so this module has no side effects and no heavy imports.

Per neuron, with Lava step ``n`` (``time_step``, starting at 1), ``t = n - t_start`` the
layer's global logical step, ``k = (t - 1) % period + 1`` the step inside the current
sample and ``x`` the received synaptic sum (exact int64 arithmetic, then saturation)::

    t <= 0                          : idle (pipeline fill): v, g unchanged, no spike
    k == 1                          : v <- v0, g <- 1                  (sample start)
    I    = x << in_exp  (in_exp >= 0)   or   floor(x / 2**-in_exp)    (in_exp < 0)
    u    = v + I + bias ;  v' = clip(u, state_lo, state_hi)
    s    = [v' >= vth]  (compare ">=")      or  [v' > vth]  (compare ">")
    v    = v' - s * vth (reset "subtract")  or  v' * (1 - s)  (reset "zero")

Schedules are not restated here: the model asks :class:`neurodeploy.ir.schedule.Schedule`
(built from ``schedule``, ``tau``, ``window``) with ``k`` and ``layer`` = the population's
logical depth: ``neuron_phase(k, layer)`` gives ``(integrate, fire)``; both = the update
above; integrate only = ``v = clip(v + I + bias)`` without firing; fire only = ``u = v``
(input and bias ignored), compare, reset by subtraction when ``forces_subtract``; neither =
idle.  SRP: the emitted spike is ``s * g``; at the end of the step where
``is_srp_latch(k)``, ``g = srp_gate(vth, v)`` and ``v <- v0``.

Recording convention (as the CPU simulator's Trace): at SRP's step ``tau`` the recorded
``v`` is the value *before* the reload.

If ``record`` is true the neuron sends, at every Lava step, its emitted spikes and ``v``
after the step as one ``(2, n_neurons)`` message on ``r_out`` (zeros and the held ``v``
while idle).  The host streams these through an ``Extractor`` (whole layers per message)
instead of reading Vars back, which Lava does one element per message.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.ir.schedule import Schedule, srp_gate


class SubIF(AbstractProcess):
    """Integer IF population (per-neuron ``vth``, ``v0``, ``bias``; see the module docstring).

    Parameters are keyword-only; arrays broadcast to ``shape``.  Scalar options are stored in
    ``proc_params``: ``state_lo``/``state_hi``, ``compare`` (">=" or ">"), ``reset``
    ("subtract" or "zero"), ``in_exp``, ``t_start``, ``period``, ``schedule`` ("plain",
    "srp", "two_phase"), ``tau``, ``window``, ``layer``, ``n_record``.
    """

    def __init__(self, *, shape: tuple[int, ...], vth: np.ndarray, v0: np.ndarray,
                 bias: np.ndarray, state_lo: int, state_hi: int, compare: str = ">=",
                 reset: str = "subtract", in_exp: int = 0, t_start: int = 0, period: int = 1,
                 schedule: str = "plain", tau: int = 0, window: int = 1, layer: int = 1,
                 record: bool = False, name: str | None = None) -> None:
        opts: dict[str, Any] = dict(state_lo=int(state_lo), state_hi=int(state_hi),
                                    compare=str(compare), reset=str(reset), in_exp=int(in_exp),
                                    t_start=int(t_start), period=int(period),
                                    schedule=str(schedule), tau=int(tau), window=int(window),
                                    layer=int(layer), record=bool(record))
        super().__init__(shape=shape, name=name, **opts)
        n = int(np.prod(shape))
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.r_out = OutPort(shape=(2, n))                 # (spikes, v) per step when recording
        self.vth = Var(shape=shape, init=np.broadcast_to(vth, shape).astype(np.int64))
        self.v0 = Var(shape=shape, init=np.broadcast_to(v0, shape).astype(np.int64))
        self.bias = Var(shape=shape, init=np.broadcast_to(bias, shape).astype(np.int64))
        self.v = Var(shape=shape, init=np.broadcast_to(v0, shape).astype(np.int64))
        self.g = Var(shape=shape, init=np.ones(shape, np.int64))


class AbstractSubIFModel(PyLoihiProcessModel):
    """The update of :class:`SubIF` in exact int64 arithmetic (shared by both models)."""

    a_in: Any = None
    s_out: Any = None
    r_out: Any = None
    vth: np.ndarray
    v0: np.ndarray
    bias: np.ndarray
    v: np.ndarray
    g: np.ndarray

    def __init__(self, proc_params: Any) -> None:
        super().__init__(proc_params)
        p = proc_params
        self.state_lo = int(p["state_lo"])
        self.state_hi = int(p["state_hi"])
        self.fire_on_equal = p["compare"] == ">="
        self.subtract = p["reset"] == "subtract"
        self.in_exp = int(p["in_exp"])
        self.t_start = int(p["t_start"])
        self.period = int(p["period"])
        self.schedule = Schedule(str(p["schedule"]), int(p["tau"]), int(p["window"]))
        self.layer = int(p["layer"])
        self.record = bool(p["record"])

    def _current(self, x: np.ndarray) -> np.ndarray:
        if self.in_exp >= 0:
            return x << self.in_exp                   # exact left shift
        return x >> (-self.in_exp)                    # arithmetic shift = floor division

    def _fire(self, u: np.ndarray, subtract: bool) -> np.ndarray:
        """Saturate ``u``, compare, reset; store v and return the spikes (int64 0/1)."""
        vth = self.vth.astype(np.int64)
        v = np.clip(u, self.state_lo, self.state_hi)                 # saturating state
        s = (v >= vth) if self.fire_on_equal else (v > vth)
        v = v - s * vth if subtract else v * (1 - s)                # subtract or zero reset
        self.v[:] = v
        return s.astype(np.int64)

    def run_spk(self) -> None:
        x = np.asarray(self.a_in.recv()).astype(np.int64)
        shape = self.v.shape
        t = int(self.time_step) - self.t_start
        if t <= 0:                                                   # pipeline fill: idle
            self._send(np.zeros(shape, np.int64))
            return
        k = (t - 1) % self.period + 1
        if k == 1:                                                   # sample start: reload
            self.v[:] = self.v0
            self.g[:] = 1
        v = self.v.astype(np.int64)
        bias = self.bias.astype(np.int64)
        integrate, fire = self.schedule.neuron_phase(k, self.layer)
        s = np.zeros(shape, np.int64)
        if integrate and fire:
            s = self._fire(v + self._current(x) + bias, subtract=self.subtract)
        elif integrate:                                              # accumulate, no firing
            self.v[:] = np.clip(v + self._current(x) + bias, self.state_lo, self.state_hi)
        elif fire:                                                   # fire, ignoring input
            s = self._fire(v, subtract=self.subtract or self.schedule.forces_subtract)
        s = s * self.g.astype(np.int64)                              # SRP gate (ones otherwise)
        v_recorded = np.array(self.v)                                # before an SRP reload
        if self.schedule.is_srp_latch(k):                            # end of pre-simulation
            self.g[:] = srp_gate(self.vth.astype(np.int64), self.v.astype(np.int64))
            self.v[:] = self.v0
        self._send(s, v_recorded)

    def _send(self, s: np.ndarray, v_recorded: np.ndarray | None = None) -> None:
        """Emit the spikes; when recording also this step's ``(spikes, v)`` record."""
        self.s_out.send(s.astype(self.v.dtype))
        if self.record:
            v = self.v if v_recorded is None else v_recorded
            self.r_out.send(np.stack([s.reshape(-1), np.asarray(v).reshape(-1)]).astype(self.v.dtype))


@implements(proc=SubIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySubIFModelFixed(AbstractSubIFModel):
    """Bit-accurate model: 24-bit state held in int32, binary spikes."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    r_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v0: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    bias: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    g: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)


@implements(proc=SubIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySubIFModelFloat(AbstractSubIFModel):
    """Float-typed model with the same (integer-valued) update, for floating_pt configs."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    r_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)
    v0: np.ndarray = LavaPyType(np.ndarray, float)
    bias: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    g: np.ndarray = LavaPyType(np.ndarray, float)
