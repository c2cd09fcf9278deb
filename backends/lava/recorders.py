"""Stream per-step neuron state out of a running Lava simulation, whole layers per message.

``Var.get`` in lava-nc 0.10 sends an array back one element per channel message, which made
reading a CNN's probed state cost ten times the simulation itself.  Instead, each recorded
population feeds host-side receivers that Lava fills once per step with a whole layer:

* ``SubIF`` sends ``(spikes, v)`` on its ``r_out`` port into an ``Extractor``;
* the stock ``LIF``'s spikes go from ``s_out`` into an ``Extractor`` and its ``v`` is tapped
  by a ``VarWire`` (read after each step, like a Monitor probe).

The run is started non-blocking and :func:`drain` receives step by step across populations
(so no channel stays full).  It polls instead of blocking: when the runtime answers early
its error is raised (through ``wait``), and when a process dies silently (lava-nc 0.10 then
leaves every other process waiting on its channels) the stall is reported after ``stall_s``
seconds without a record, naming the layer and step, instead of hanging the host.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

POLL_S = 0.0005
STALL_S = 300.0     # no record from a population for this long: a Lava process has stopped
GRACE_S = 1.0       # after the run's end, time for a receiving thread to enqueue the last record


class LavaRunError(RuntimeError):
    """Lava finished or failed without delivering a recorded step."""


def models() -> dict[type, type]:
    """Process models for the recorders, which carry no ``fixed_pt`` tag."""
    from lava.proc.io.extractor import Extractor, PyLoihiExtractorModel, PyLoihiVarWireModel, VarWire
    return {Extractor: PyLoihiExtractorModel, VarWire: PyLoihiVarWireModel}


def taps(neuron: Any, *, lif: bool) -> list[tuple[Any, int]]:
    """Receivers of one population's per-step ``(spikes, v)``, each with the number of rows it
    delivers per message (SubIF: one receiver, 2 rows; LIF: spikes and ``v``, 1 row each)."""
    from lava.proc.io.extractor import Extractor, VarWire
    if not lif:
        ext = Extractor(shape=neuron.r_out.shape)
        neuron.r_out.connect(ext.in_port)
        return [(ext, 2)]
    ext, wire = Extractor(shape=neuron.s_out.shape), VarWire()
    neuron.s_out.connect(ext.in_port)
    wire.connect_var(neuron.v)
    return [(ext, 1), (wire, 1)]


def _channel(receiver: Any) -> Any:
    """The host end of a receiver's channel (lava-nc 0.10 attribute names)."""
    if hasattr(receiver, "out_port"):                       # Extractor
        return receiver.out_port.external_pipe_csp_recv_port
    return receiver._pm_to_p_dst_port                       # VarWire  # noqa: SLF001


def _wait_for(channel: Any, runtime: Any, what: str, stall_s: float) -> None:
    """Block until ``channel`` holds a message; if the runtime answers first (a process
    failed, or the run ended early), let ``runtime.wait`` raise Lava's error (as LavaRunError).
    After a normal end every send has completed, but the channel's receiving thread may still
    be enqueueing the last message: it gets :data:`GRACE_S` before the record counts as lost."""
    deadline = time.monotonic() + stall_s
    while not channel.probe():
        if time.monotonic() > deadline:
            raise LavaRunError(f"{what}: no record from Lava for {stall_s:g} s; a Lava process has stopped")
        if any(port.probe() for port in runtime.service_to_runtime):
            try:
                runtime.wait()                              # raises if a process failed
            except RuntimeError as exc:
                raise LavaRunError(f"{what}: a Lava process failed ({str(exc).splitlines()[0]})") from exc
            grace = time.monotonic() + GRACE_S
            while not channel.probe():
                if time.monotonic() > grace:
                    raise LavaRunError(f"{what}: Lava finished without sending this record")
                time.sleep(POLL_S)
            return
        time.sleep(POLL_S)


def drain(recorded: dict[str, list[tuple[Any, int]]], phys: int, runtime: Any,
          stall_s: float = STALL_S) -> dict[str, np.ndarray]:
    """Receive all ``phys`` steps of every recorded population, then wait for the run's end:
    ``{name: (phys, 2, n_neurons) int64}``; row ``m`` = Lava step ``m + 1``, column 0 the
    spikes, 1 ``v``.  Returns ``{}`` at once when nothing is recorded."""
    if not recorded:
        return {}
    steps: dict[str, list[np.ndarray]] = {name: [] for name in recorded}
    for m in range(phys):
        for name, receivers in recorded.items():
            rows = []
            for receiver, n_rows in receivers:
                _wait_for(_channel(receiver), runtime, f"{name}, Lava step {m + 1}", stall_s)
                rows.append(np.reshape(receiver.receive(), (n_rows, -1)))
            steps[name].append(np.vstack(rows))
    runtime.wait()
    return {name: np.rint(np.stack(rec)).astype(np.int64) for name, rec in steps.items()}


def abort(runtime: Any) -> None:
    """Tear a failed or stalled run down without ``runtime.stop`` (which waits for a dead
    process's answer forever in lava-nc 0.10): terminate every Lava process, then free shared
    memory; the runtime is marked stopped so that no later ``stop`` waits on it."""
    infrastructure = runtime._messaging_infrastructure      # noqa: SLF001
    for actor in infrastructure.actors:
        if actor.is_alive():
            actor.terminate()
    infrastructure.stop()
    runtime._is_started = runtime._is_running = False      # noqa: SLF001


def close(recorded: dict[str, list[tuple[Any, int]]]) -> None:
    """Stop what the receivers started themselves: each ``VarWire`` runs its own shared-memory
    manager process (lava-nc 0.10 stops it only in ``__del__``, which need not run)."""
    for receivers in recorded.values():
        for receiver, _ in receivers:
            own = getattr(receiver, "_multi_processing", None)     # VarWire only; stop() is idempotent
            if own is not None:
                own.stop()
                receiver._pm_to_p_dst_port.join()                     # noqa: SLF001
