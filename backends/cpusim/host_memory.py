"""Host allocator policy for the time-folded simulator: reuse freed memory during a run instead
of faulting in fresh pages, and give it back when the run ends.

The folded engine allocates and frees arrays of a few to a few tens of MiB per node and chunk
(synapse outputs, casts, pooled sums, spike series), the same sizes chunk after chunk.  glibc's
``malloc`` serves blocks above its mmap threshold (128 KiB at start, raised block by block up
to 32 MiB as large blocks are freed) with a fresh ``mmap`` and returns them on ``free``, and it
trims free memory above twice that threshold from the top of the heap.  Either way the next
chunk's arrays are page-faulted in anew: on a 2-core VM, 240,000-480,000 minor faults (1-2 GB
of first touches) and about half of the wall time of a 2,000-image ResNet run at T = 8.

:func:`reuse_freed_memory` (a context manager around a run):

* ``M_MMAP_THRESHOLD = 32 MiB`` (glibc's own ceiling for its dynamic threshold on 64-bit):
  blocks up to 32 MiB come from the heap; the engine sizes chunks and folded calls
  (:data:`~neurodeploy.backends.cpusim.folded.MEMORY_BUDGET`, ``FOLD_BYTES``) to stay below it;
* ``M_TRIM_THRESHOLD`` unlimited while a run is in progress: freed blocks stay in the heap for
  the next chunk (what the heap holds never exceeds the run's own peak);
* on exit, ``M_TRIM_THRESHOLD = 64 MiB`` (glibc's dynamic end state, twice the mmap threshold)
  and ``malloc_trim(0)``: the free memory goes back to the system.

Results and peak memory are unchanged; only where freed blocks go.  glibc stops adapting its
thresholds once they are set, so after the first run the process keeps these fixed values (the
ones its dynamic policy converges to).  A no-op where the C library is not glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

M_TRIM_THRESHOLD = -1           # mallopt parameter numbers (glibc <malloc.h>)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20       # glibc's own upper limit for the dynamic threshold on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
HOLD_FREED = (1 << 31) - 1      # trim threshold during a run: never trim
_depth = 0                      # nested runs: only the outermost restores and trims


@cache
def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.mallopt.argtypes, libc.mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return libc


@contextmanager
def reuse_freed_memory() -> Iterator[bool]:
    """Hold freed heap blocks for reuse while the body runs; yields whether the policy applies
    (``False`` off glibc)."""
    global _depth
    libc = _glibc()
    if libc is None:
        yield False
        return
    if _depth == 0:
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, HOLD_FREED)
    _depth += 1
    try:
        yield True
    finally:
        _depth -= 1
        if _depth == 0:
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
            libc.malloc_trim(0)
