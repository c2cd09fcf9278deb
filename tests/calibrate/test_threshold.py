"""Threshold pass (CAL section 5.2, on a chain and a DAG): the MMSE search equals a brute-force argmin over the same grid
{max (1 - 0.01 i), i = 0..94}, its loss is <= the loss at V = max, the EMA over batches follows
momentum 0.9, and max / percentile read the activations; only thresholds change."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodeploy.calibrate.ann import ann_forward
from neurodeploy.calibrate.threshold import (layer_threshold, mmse_grid, mmse_loss, mmse_threshold,
                                              set_thresholds)


def brute_force(a: np.ndarray, steps: int) -> float:
    peak = float(a.max())
    best_v, best_loss = None, np.inf
    for i in range(95):
        v = peak * (1 - 0.01 * i)
        q = (v / steps) * np.clip(np.floor(a * steps / v), 0, steps)
        loss = float(np.mean((a - q) ** 2))
        if loss < best_loss:
            best_v, best_loss = v, loss
    return best_v


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.sampled_from([1, 4, 8, 16, 32]))
def test_mmse_equals_brute_force_and_beats_max(seed: int, steps: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.maximum(rng.standard_normal((64, 10)) * rng.uniform(0.1, 3), 0) ** rng.uniform(0.5, 2)
    a[0, 0] = a.max() + 1.0   # an outlier, as ReLU layers have
    v = mmse_threshold(a, steps)
    assert v == pytest.approx(brute_force(a, steps), rel=0, abs=1e-12)
    assert v in mmse_grid(float(a.max()))
    assert mmse_loss(a, v, steps) <= mmse_loss(a, float(a.max()), steps) + 1e-15


def test_mmse_ema_over_batches() -> None:
    rng = np.random.default_rng(3)
    a = np.maximum(rng.standard_normal((30, 5)), 0)
    per = [mmse_threshold(a[i:i + 10], 8) for i in (0, 10, 20)]
    expected = 0.9 * (0.9 * per[0] + 0.1 * per[1]) + 0.1 * per[2]
    assert layer_threshold(a, "mmse", 8, batch_size=10) == pytest.approx(expected, rel=1e-12)


def test_max_and_percentile(net, x_int) -> None:
    acts, _ = ann_forward(net, x_int)
    assert list(acts) == [p.name for p in net.populations]
    out = set_thresholds(net, x_int, "max", 8)
    assert [p.threshold for p in out.populations] == pytest.approx([a.max() for a in acts.values()])
    out = set_thresholds(net, x_int, "percentile", 8, percentile=90.0)
    assert [p.threshold for p in out.populations] == pytest.approx([np.percentile(a, 90.0) for a in acts.values()])
    assert out.readout.threshold is None
    for old, new in zip(net.nodes, out.nodes):      # only thresholds change
        assert type(old) is type(new) and old.name == new.name
        if hasattr(old, "synapses"):
            assert old.synapses == new.synapses and old.v0_fraction == new.v0_fraction
        else:
            assert old == new


def test_errors(net, x_int) -> None:
    with pytest.raises(ValueError, match="unknown threshold method"):
        set_thresholds(net, x_int, "median", 8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one calibration sample"):
        set_thresholds(net, x_int[:0], "mmse", 8)
