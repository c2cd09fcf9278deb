"""Multi-process runs on PyTorch's own distributed engine (``torch.distributed``, launched by ``torchrun``).

This module is the one place that knows about the launcher.  ``torchrun`` starts one worker process per rank
and gives each the standard launcher variables (``TORCHELASTIC_RUN_ID``, ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); :func:`launched` detects the launcher the way
``torch.distributed.is_torchelastic_launched`` does, and :func:`session` joins the process group through
``init_method="env://"`` (torch reads the rest).  Outside torchrun everything here is a no-op on a one-rank
:class:`Context`, so the single-process code path is the ``world == 1`` case of the same code.

Definitions used by the commands:

* **Backend**: ``gloo`` without CUDA; with CUDA ``cpu:gloo,cuda:nccl`` (NCCL for the gradients of tensors on
  ``cuda:LOCAL_RANK``, gloo for the CPU count arrays and the monitored barrier).
* **Shard** (:func:`shard`): the samples ``0..n-1`` cut into blocks of ``block`` consecutive samples; rank
  ``r`` of ``W`` takes blocks ``r, r+W, r+2W, ...`` (strided blocks, so every block is evaluated with the same
  rows as in a single-process run, and the ranks' loads differ by at most one block).
* **Exact sums** (:func:`sum_counts`): integer arrays are summed over ranks as int64; the sum of the absolute
  values is bounded first (one MAX all-reduce), so an overflow is refused instead of wrapping around.
* **Failure**: every collective has a finite timeout (the process group's ``timeout``; barriers are
  ``monitored_barrier`` and name the rank that did not arrive).  A lost peer, a timeout, or the launcher's
  SIGTERM (torchrun stops the other workers when one fails) becomes a :class:`DistributedError`: one line,
  exit status 1, and the ``with`` blocks of atomic writers (:mod:`neurodeploy.atomic`) remove their
  temporaries on the way out.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Context",
    "DistributedError",
    "barrier",
    "broadcast_buffers",
    "broadcast_float",
    "launched",
    "same_everywhere",
    "session",
    "shard",
    "sum_counts",
    "sum_floats",
]

#: Seconds a rank waits for the others at one collective before it gives up.
DEFAULT_TIMEOUT_S = 600.0
#: Set by torchrun for every worker; ``torch.distributed.is_torchelastic_launched`` tests the same variable.
_LAUNCHER_VARIABLE = "TORCHELASTIC_RUN_ID"
_INT64_MAX = np.iinfo(np.int64).max


class DistributedError(ConnectionError):
    """A multi-process run that cannot go on (peer lost, timeout, stopped by the launcher); one line."""


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world`` processes; ``device`` holds the model's tensors."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def main(self) -> bool:
        """True on rank 0, the rank that validates, prints and writes."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world > 1

    def describe(self) -> str:
        return f"rank {self.rank} of {self.world}"


def launched() -> bool:
    """True in a worker started by ``torchrun`` (its launcher variables are present)."""
    return _LAUNCHER_VARIABLE in os.environ


def _backend() -> tuple[str, str]:
    """``(backend, device)``: gloo on the CPU, or NCCL for CUDA tensors next to gloo for CPU tensors."""
    import torch

    if torch.cuda.is_available() and torch.distributed.is_nccl_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))       # torchrun's launcher variable
        torch.cuda.set_device(local)
        return "cpu:gloo,cuda:nccl", f"cuda:{local}"
    return "gloo", "cpu"


def _stop_on_sigterm(context: Context) -> Any:
    """Turn the launcher's SIGTERM into a :class:`DistributedError` (so ``finally`` blocks run)."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise DistributedError(f"{context.describe()}: stopped by the launcher (signal {signum}): another rank "
                               "failed or the run was interrupted")
    return signal.signal(signal.SIGTERM, handler)


def _one_line(exc: BaseException) -> str:
    """The first sentence of an engine error, without gloo's ``[path/file.cc:123]`` prefix."""
    text = re.sub(r"^\[[^\]]*\.(?:cc|cpp|h):\d+\]\s*", "", str(exc).strip())
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.split(". ")[0][:200]


@contextlib.contextmanager
def session(timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[Context]:
    """Join torchrun's process group for the duration of the block (no-op outside torchrun).

    Errors of the distributed engine inside the block (``torch.distributed.DistError``, and the
    ``RuntimeError`` that a collective or DDP's reducer raises when a peer disappears or times out) are
    re-raised as one-line :class:`DistributedError`; the process group is destroyed on the way out.
    """
    if timeout_s <= 0:
        raise ValueError(f"--dist-timeout must be > 0 seconds, got {timeout_s}")
    if not launched():
        yield Context(timeout_s=timeout_s)
        return
    import torch.distributed as dist

    backend, device = _backend()
    try:
        dist.init_process_group(backend=backend, init_method="env://", timeout=timedelta(seconds=timeout_s))
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(f"torchrun: cannot join the process group ({_one_line(exc)})") from None
    context = Context(dist.get_rank(), dist.get_world_size(), device, timeout_s)
    previous = _stop_on_sigterm(context)
    failed = True
    try:
        yield context
        failed = False
    except RuntimeError as exc:
        if not _is_engine_error(exc):
            raise
        what = (f"waited {timeout_s:g} s for another rank" if "Timed out" in str(exc)
                else "lost contact with another rank")
        raise DistributedError(f"{context.describe()}: {what} ({_one_line(exc)}); stopping") from None
    finally:
        # After a failure this process is on its way out with a one-line report; the launcher's SIGTERM to
        # the surviving ranks must not cut that short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN if failed else previous)
        with contextlib.suppress(RuntimeError):
            dist.destroy_process_group()


def _is_engine_error(exc: RuntimeError) -> bool:
    """A failure of the collective engine (peer lost, timeout), not an ordinary error of the program."""
    import torch.distributed as dist

    if isinstance(exc, dist.DistError):
        return True
    text = str(exc)
    # gloo and NCCL raise plain RuntimeErrors; these words are in every one of their failure messages
    return any(word in text for word in ("gloo", "NCCL", "monitoredBarrier", "ProcessGroup"))


def shard(n: int, context: Context, block: int = 1) -> np.ndarray:
    """Indices of this rank's samples among ``0..n-1``: blocks ``rank, rank+world, ...`` of ``block`` samples.

    Every index belongs to exactly one rank; one rank gets ``arange(n)``.
    """
    if n < 0 or block < 1:
        raise ValueError(f"shard: need n >= 0 and block >= 1, got n={n}, block={block}")
    starts = np.arange(context.rank * block, n, context.world * block, dtype=np.int64)
    if len(starts) == 0:
        return np.zeros(0, np.int64)
    return np.concatenate([np.arange(s, min(s + block, n), dtype=np.int64) for s in starts])


def sum_counts(counts: Mapping[str, np.ndarray], context: Context) -> dict[str, np.ndarray]:
    """The element-wise sum over all ranks of integer arrays (same keys and shapes on every rank), exact.

    Refused (``ValueError``) if the sum could leave int64: ``world * max |x| > 2**63 - 1``.
    """
    arrays = {k: np.asarray(v) for k, v in counts.items()}
    for key, value in arrays.items():
        if value.dtype.kind not in "iub":
            raise ValueError(f"sum_counts: {key!r} is not an integer array (dtype {value.dtype})")
        if value.dtype.kind == "u" and value.size and int(value.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"sum_counts: {key!r} holds values beyond int64")
    if not context.distributed:
        return {k: v.astype(np.int64) for k, v in arrays.items()}
    import torch
    import torch.distributed as dist

    keys = sorted(arrays)
    flat = np.concatenate([arrays[k].astype(np.int64).ravel() for k in keys]) if keys else np.zeros(0, np.int64)
    peak = torch.tensor([int(np.abs(flat).max()) if flat.size else 0], dtype=torch.int64)
    dist.all_reduce(peak, op=dist.ReduceOp.MAX)
    if int(peak) > _INT64_MAX // context.world:
        raise ValueError(f"sum_counts: counts up to {int(peak)} on {context.world} ranks could overflow int64")
    total = torch.from_numpy(flat.copy())
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    out, start = {}, 0
    summed = total.numpy()
    for key in keys:
        size = arrays[key].size
        out[key] = summed[start:start + size].reshape(arrays[key].shape).copy()
        start += size
    return out


def sum_floats(values: list[float], context: Context) -> list[float]:
    """The sum over ranks of float64 values (for reporting only: float sums depend on the reduction order)."""
    if not context.distributed:
        return [float(v) for v in values]
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return [float(v) for v in t]


def broadcast_buffers(module: Any, context: Context) -> None:
    """Copy rank 0's buffers (BatchNorm statistics, NQ's σ, ...) of a ``torch.nn.Module`` to every rank."""
    if not context.distributed:
        return
    import torch.distributed as dist

    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=0)


def broadcast_float(value: float | None, context: Context) -> float:
    """Rank 0's ``value`` (float64) on every rank; other ranks pass anything (``None``)."""
    if not context.distributed:
        return float(value)                                  # type: ignore[arg-type]
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(value) if context.main else 0.0], dtype=torch.float64)
    dist.broadcast(t, src=0)
    return float(t[0])


def barrier(context: Context) -> None:
    """Wait for every rank, at most ``timeout_s``; a rank that does not arrive is named in the error."""
    if not context.distributed:
        return
    import torch.distributed as dist

    dist.monitored_barrier(timeout=timedelta(seconds=context.timeout_s), wait_all_ranks=True)


def same_everywhere(data: bytes, context: Context) -> bool:
    """True when every rank passes the same ``data``: the MIN and MAX over ranks of its SHA-256 (as 16-bit
    words) agree.  The same answer on every rank."""
    if not context.distributed:
        return True
    import hashlib

    import torch
    import torch.distributed as dist

    words = np.frombuffer(hashlib.sha256(data).digest(), dtype=np.uint16).astype(np.int64)
    low, high = torch.from_numpy(words.copy()), torch.from_numpy(words.copy())
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(torch.equal(low, high))
