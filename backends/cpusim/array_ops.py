"""What the time-folded engine (:mod:`~neurodeploy.backends.cpusim.folded`) needs from an array
library, and the integer bounds that pick a population's state dtype.

:class:`ArrayOps` is implemented for numpy (:mod:`.fast`) and torch (:mod:`.torchsim`);
:class:`NeuronOps` is one population's in-place IF update on ``(B, *shape)`` state arrays::

    integrate:  v = clip(v + C + sum_k I_k(t), state_t.lo, state_t.hi)     (clip only where it can act)
    fire:       s = [v >= theta] (or >);  v = v - s * theta (subtract) or 0 where s (zero);  s &= g
    latch:      g = [1000 v > theta];  v = v0                               (SRP, end of step tau)
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from neurodeploy.ir.nodes import IFPopulation, Node, SumPool

CACHE_STATE_BYTES = 2 << 20     # host population blocks (8 bytes a neuron counted): measured best of 0.128-8 MiB

class NeuronOps(Protocol):
    """In-place IF update of one population on ``(B, *shape)`` state arrays (see module docstring)."""

    def initial(self, batch: int) -> Any:
        """``v(0) = v0`` for ``batch`` samples."""
        ...

    def drive(self, consts: list[Any]) -> Any | None:
        """``C = bias + sum consts`` in the state dtype; ``None`` when it is identically zero."""
        ...

    def integrate(self, v: Any, drive: Any | None, parts: list[Any]) -> None:
        """``v = clip(v + C + sum parts)`` (clip only where it can act)."""
        ...

    def fire(self, v: Any, s: Any, gate: Any | None) -> None:
        """Spikes into the bool array ``s``, reset ``v``; ``s &= gate`` after SRP's latch."""
        ...

    def latch(self, v: Any) -> Any:
        """SRP: return ``g = [1000 v > theta]`` (bool) and reload ``v = v0``."""
        ...


class ArrayOps(Protocol):
    """What the engine needs from an array library."""

    state_block_bytes: int | None   # population rows updated together hold at most this (None: all)
    host_threads: int               # threads sharing a population's row blocks (independent rows)
    unrolls_conv_input: bool        # the conv kernel copies its input kw times (row-unrolled im2col)

    def asarray(self, x: np.ndarray) -> Any: ...

    def to_numpy(self, a: Any) -> np.ndarray: ...

    def zeros(self, shape: tuple[int, ...], dtype: str) -> Any: ...   # dtype "bool", "int32", "float32", ...

    def empty(self, shape: tuple[int, ...], dtype: str) -> Any: ...   # only if every element is written first

    def concat(self, arrays: list[Any], axis: int) -> Any: ...

    def cast(self, a: Any, dtype: str) -> Any: ...

    def is_bool(self, a: Any) -> bool: ...

    def synapse(self, node: Node, max_input: int, out_dtype: str) -> Callable[[Any], Any]:
        """``x -> shift(W x, weight_exp)`` exact, in ``out_dtype``, for a batch ``x``."""
        ...

    def sum_pool(self, node: SumPool, x: Any, dtype: str) -> Any: ...

    def exact_dtype(self, bound: int) -> str:
        """Dtype that holds every integer of magnitude ``<= bound`` exactly (states, tensor values)."""
        ...

    def neurons(self, pop: IFPopulation, current_bound: int, force_subtract: bool, total: int,
                dtype: str) -> NeuronOps: ...


def host_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def int_name(bound: int) -> str:
    """``"int32"`` when every value is below ``2**31`` in magnitude, else ``"int64"``."""
    return "int32" if bound < (1 << 31) else "int64"


def state_bound(pop: IFPopulation, current_bound: int) -> int:
    """Bound of ``|v + partial sums of I + bias|`` and ``theta``: picks the state dtype."""
    return (max(-pop.state_t.lo, pop.state_t.hi) + current_bound
            + int(np.abs(pop.bias).max(initial=0)) + int(pop.threshold.max(initial=0)))


def clip_can_act(pop: IFPopulation, current_bound: int, total: int) -> bool:
    """False when ``max|v0| + total * (B_I + max|bias|)`` fits ``state_t``: the clip is the identity."""
    grow = max(int(np.abs(pop.v0).max(initial=0)), 0) + total * (current_bound + int(np.abs(pop.bias).max(initial=0)))
    return grow > min(pop.state_t.hi, -pop.state_t.lo)
