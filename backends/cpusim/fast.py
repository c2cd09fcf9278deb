"""Fast batched simulator (``impl="fast"``): the time-folded engine on numpy arrays.

Bit-identical to :mod:`neurodeploy.backends.cpusim.reference`, but written independently of it
(:mod:`~neurodeploy.backends.cpusim.folded` evaluates node by node over all steps, the reference
step by step over all nodes), so comparing the two checks the neuron update, the synapse
arithmetic and the delay plumbing at once.

Per population, state dtype ``D_P`` = int32 when ``max|state| + B_I + max|bias| + max theta < 2**31``
(every partial sum fits), else int64; in place on ``v`` (``B x neurons``)::

    integrate:  v += C;  v += I_k(t) for each dynamic synapse k;  v = clip(v, lo, hi) (if it can act)
    fire:       s = [v >= theta] (or >);  v -= s * theta (subtract)  or  v = 0 where s (zero)
    SRP:        s &= g after the latch at step tau

Synapse arithmetic (float32 / float64 BLAS where the bound proves it exact, int64 otherwise,
int64 before the floor shift): :mod:`~neurodeploy.backends.cpusim.kernels`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neurodeploy.backends.cpusim import array_ops, folded
from neurodeploy.backends.cpusim.kernels import Synapse, sum_pool
from neurodeploy.backends.cpusim.trace import Trace
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.nodes import Conv, Dense, IFPopulation, Node, SumPool
from neurodeploy.ir.schedule import srp_gate


class NumpyNeurons(array_ops.NeuronOps):
    """A population's parameters in its state dtype, with the in-place update on numpy arrays."""

    def __init__(self, pop: IFPopulation, current_bound: int, force_subtract: bool, total: int,
                 dtype: str) -> None:
        dt = np.dtype(dtype)
        self.shape = pop.shape
        self.threshold = pop.threshold.astype(dt)
        uniform = self.threshold.size and (self.threshold == self.threshold.flat[0]).all()
        self.theta: Any = dt.type(self.threshold.flat[0]) if uniform else self.threshold   # scalar: faster
        self.bias = pop.bias.astype(dt)
        self.v0 = pop.v0.astype(dt)
        self.lo, self.hi = pop.state_t.lo, pop.state_t.hi
        self.clip = array_ops.clip_can_act(pop, current_bound, total)
        self.greater_equal = pop.compare == ">="
        self.subtract = pop.reset == "subtract" or force_subtract

    def initial(self, batch: int) -> np.ndarray:
        return np.broadcast_to(self.v0, (batch, *self.shape)).copy()

    def drive(self, consts: list[Any]) -> np.ndarray | None:
        if not consts:
            return self.bias if self.bias.any() else None
        out = np.empty_like(consts[0], dtype=self.bias.dtype)        # a new array in the consts' layout
        np.add(consts[0], self.bias, out=out)                           # (consts are shared)
        for c in consts[1:]:
            out += c
        return out

    def integrate(self, v: np.ndarray, drive: np.ndarray | None, parts: list[Any]) -> None:
        if drive is not None:
            v += drive
        for p in parts:
            v += p
        if self.clip:
            np.clip(v, self.lo, self.hi, out=v)

    def fire(self, v: np.ndarray, s: np.ndarray, gate: np.ndarray | None) -> None:
        (np.greater_equal if self.greater_equal else np.greater)(v, self.theta, out=s)
        if self.subtract:
            v -= s * self.theta                                # measured faster than where=s
        else:
            np.copyto(v, 0, where=s)
        if gate is not None:
            np.logical_and(s, gate, out=s)

    def latch(self, v: np.ndarray) -> np.ndarray:
        gate = srp_gate(self.threshold, v).astype(bool)       # g = [1000 v > theta]
        v[...] = self.v0
        return gate


class NumpyOps(array_ops.ArrayOps):
    """numpy arrays on the host; synapses through :class:`~.kernels.Synapse`."""

    state_block_bytes = array_ops.CACHE_STATE_BYTES
    unrolls_conv_input = True                        # kernels.conv_rows

    def __init__(self, host_threads: int | None = None) -> None:
        self.host_threads = array_ops.host_cpus() if host_threads is None else host_threads

    def asarray(self, x: np.ndarray) -> np.ndarray:
        return x

    def to_numpy(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def zeros(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        return np.zeros(shape, dtype)

    def empty(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        return np.empty(shape, dtype)

    def concat(self, arrays: list[Any], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    def cast(self, a: Any, dtype: str) -> np.ndarray:
        return np.asarray(a).astype(dtype, copy=False)

    def is_bool(self, a: Any) -> bool:
        return np.asarray(a).dtype == np.bool_

    def synapse(self, node: Node, max_input: int, out_dtype: str) -> Callable[[Any], Any]:
        assert isinstance(node, (Dense, Conv))
        return Synapse(node, max_input, np.dtype(out_dtype).type)

    def sum_pool(self, node: SumPool, x: Any, dtype: str) -> np.ndarray:
        return sum_pool(node, x, np.dtype(dtype).type)

    def exact_dtype(self, bound: int) -> str:
        return array_ops.int_name(bound)

    def neurons(self, pop: IFPopulation, current_bound: int, force_subtract: bool, total: int,
                dtype: str) -> array_ops.NeuronOps:
        return NumpyNeurons(pop, current_bound, force_subtract, total, dtype)


def run(graph: Graph, x: np.ndarray, total: int, probes: Sequence[str] = (), record_v: bool = False,
        record_current: bool = False, chunk: int | None = None, progress: bool = False) -> Trace:
    """Simulate ``x`` (batch, *input shape) for ``total`` logical steps (numpy, time-folded)."""
    return folded.run(graph, x, total, NumpyOps(), probes, record_v, record_current, chunk, progress)
