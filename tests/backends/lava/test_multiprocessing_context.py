"""Lava's runtime sets the 'fork' start method at import time and raises if anything (tqdm's
write lock, torch) fixed the multiprocessing context first; this proves the compat layer lets
Lava import and run after that, in a fresh interpreter."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("lava", reason="lava-nc not installed")
pytestmark = pytest.mark.lava

def test_lava_imports_after_the_multiprocessing_context_was_fixed() -> None:
    """tqdm (and torch) fix the multiprocessing context before Lava's runtime tries to set
    'fork' at import time; prepare_multiprocessing lets the import succeed anyway."""
    code = ("import multiprocessing as mp; mp.get_context(); mp.RLock(); "
            "from neurodeploy.backends.lava.compat import require_lava; require_lava(); "
            "import lava.magma.runtime.message_infrastructure.multiprocessing; print(mp.get_start_method())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "fork"
