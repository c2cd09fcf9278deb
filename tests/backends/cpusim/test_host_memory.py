"""The simulator's allocator policy does what it claims on glibc: inside a run, freed arrays of
the engine's sizes (a few to 30 MiB, ~95 MiB live at once, as a chunk allocates them) are reused
without new page faults; when the run ends the held memory goes back to the system."""
from __future__ import annotations

import platform
import resource
from pathlib import Path

import numpy as np
import pytest

from neurodeploy.backends.cpusim.host_memory import MMAP_THRESHOLD, reuse_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
MIB = 1 << 20
SIZES_MIB = (24, 3, 17, 30, 9, 12)           # one "chunk": arrays alive together, then freed


def _chunk() -> None:
    live = []
    for size in SIZES_MIB:
        a = np.empty(size * MIB, np.uint8)
        a.fill(1)                                             # first touch faults pages in
        live.append(a)
    live.clear()


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _rss_mib() -> float:
    line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_freed_blocks_reused_in_a_run_and_returned_after() -> None:
    assert max(SIZES_MIB) * MIB < MMAP_THRESHOLD
    chunk_pages = sum(SIZES_MIB) * MIB // resource.getpagesize()
    with reuse_freed_memory() as applied:
        assert applied
        _chunk()
        before = _faults()
        for _ in range(10):
            _chunk()
        faults = _faults() - before
        held = _rss_mib()
    assert faults < chunk_pages // 10, f"{faults} minor faults for 10 chunks of {chunk_pages} pages"
    assert _rss_mib() < held - sum(SIZES_MIB) / 2, "free memory not returned after the run"


@pytest.mark.skipif(GLIBC, reason="only off glibc")
def test_other_c_libraries_are_left_alone() -> None:
    with reuse_freed_memory() as applied:
        assert applied is False
