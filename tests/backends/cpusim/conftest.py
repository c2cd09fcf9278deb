"""Shared check for the CPU-simulator tests: two traces are identical, array by array."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from neurodeploy.backends.cpusim import Trace


def assert_same_trace(a: Trace, b: Trace) -> None:
    """Readout, first useful step and every recorded spike/v/current array are identical."""
    np.testing.assert_array_equal(a.readout, b.readout, err_msg="readout")
    assert a.first_useful_step == b.first_useful_step
    for field in ("spikes", "v", "current"):
        da, db = getattr(a, field), getattr(b, field)
        assert da.keys() == db.keys(), field
        for k in da:
            np.testing.assert_array_equal(da[k], db[k], err_msg=f"{field}[{k}]")


@pytest.fixture
def same_trace() -> Callable[[Trace, Trace], None]:
    """:func:`assert_same_trace` as a fixture (test modules here are not a package)."""
    return assert_same_trace
