"""A fixed delay line as a Lava Process: the relay that delays a source's values by ``delay`` steps.

Only Process/ProcessModel classes live here (Lava executes every file of this folder at each
compile, docs/lava.md §2).  Per element, with Lava step ``n`` (``time_step``, from 1) and
``x(n)`` the value received at step ``n`` (spikes, or graded input integers)::

    y(n) = x(n - delay)   for n > delay,      y(n) = 0   otherwise

It receives and sends in the same step (like a neuron), so it adds exactly ``delay`` steps
and no hop.  State: a ring buffer ``buf`` of shape ``(n_elements, delay)``; slot
``n % delay`` holds ``x(n - delay)`` until it is sent and overwritten by ``x(n)``.

Role: Lava 0.10 has no delayed Conv, so a Conv projection that must wait for a longer path
of a residual/concat merge reads its source through this relay.  On Loihi 2 the same delay
is the per-synapse delay field of the Conv's synapses (6 bits, ``TargetSpec.max_delay``);
the resource check counts the relay's neurons as an upper bound.
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


class Relay(AbstractProcess):
    """Delay line of ``shape`` by ``delay >= 1`` steps (see the module docstring)."""

    def __init__(self, *, shape: tuple[int, ...], delay: int, name: str | None = None) -> None:
        if int(delay) < 1:
            raise ValueError(f"Relay {name}: delay must be >= 1, got {delay}")
        super().__init__(shape=shape, name=name, delay=int(delay))
        n = int(np.prod(shape))
        self.s_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.buf = Var(shape=(n, int(delay)), init=np.zeros((n, int(delay)), np.int64))


@implements(proc=Relay, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyRelayModelFixed(PyLoihiProcessModel):
    """Integer delay line (values up to 24 bits; spikes or graded input)."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    buf: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def __init__(self, proc_params: Any) -> None:
        super().__init__(proc_params)
        self.delay = int(proc_params["delay"])

    def run_spk(self) -> None:
        x = np.asarray(self.s_in.recv())
        slot = int(self.time_step) % self.delay
        y = self.buf[:, slot].copy()
        self.buf[:, slot] = x.reshape(-1)
        self.s_out.send(y.reshape(x.shape).astype(np.int32))
