"""QCFS (Bu et al., ICLR 2022) and its NQ noise option (Huang et al., arXiv 2404.17456) behave as specified.

Proves: the forward equals ``λ·clip(floor(z·L/λ + φ), 0, L)/L`` exactly on a grid including z < 0 and z > λ
(QCFS φ=1/2 and ClipFloor φ=0); λ is an exact power of two when requested; σ = 0 and eval mode are
deterministic and identical to plain QCFS; training noise has the requested std and is not re-clipped; the
straight-through gradients reach both z and λ with the values of methods.md §1.1.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodeploy.quant.noise import get_noise, qcfs_layers, set_noise
from neurodeploy.quant.qcfs import QCFS, ClipFloor


def reference(z: np.ndarray, lam: float, levels: int, shift: float) -> np.ndarray:
    """The formula in float64 (exact for power-of-two L and λ); in float32 for other L (rounding of L/λ)."""
    if levels & (levels - 1) == 0:
        out = lam * np.clip(np.floor(z.astype(np.float64) * levels / lam + shift), 0, levels) / levels
        return out.astype(np.float32)
    f = np.float32
    return f(lam) * np.clip(np.floor(z * f(levels / lam) + f(shift)), f(0), f(levels)) / f(levels)


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 8, 16])
@pytest.mark.parametrize("init_lambda", [0.3, 1.0, 2.0, 8.0])
@pytest.mark.parametrize("cls", [QCFS, ClipFloor])
def test_forward_matches_formula_on_grid(levels: int, init_lambda: float, cls: type[QCFS]) -> None:
    act = cls(levels, init_lambda=init_lambda).eval()
    lam = act.lambda_value()
    # multiples of λ/(16 L) from -2λ to 3λ: includes every step edge, z < 0 and z > λ
    z = np.arange(-32 * levels, 48 * levels + 1, dtype=np.float64) * lam / (16 * levels)
    z = np.concatenate([z, z + lam / (64 * levels), [-1e6, 1e6]]).astype(np.float32)
    got = act(torch.from_numpy(z)).detach().numpy()
    want = reference(z, lam, levels, act.shift)
    np.testing.assert_array_equal(got, want)
    assert got.min() == 0.0 and got.max() == np.float32(lam)


def test_power_of_two_lambda_is_exact() -> None:
    for init in [0.01, 0.3, 0.7, 1.0, 1.5, 3.0, 8.0, 100.0]:
        act = QCFS(4, init_lambda=init)
        lam = act.lambda_value()
        assert lam == 2.0 ** round(math.log2(init))
        assert lam == 2.0 ** act.lambda_exponent()
        mantissa, _ = math.frexp(lam)
        assert mantissa == 0.5
    free = QCFS(4, init_lambda=1.5, power_of_two=False)
    assert free.lambda_value() == pytest.approx(1.5, rel=1e-6)


def test_values_lie_on_the_level_grid() -> None:
    act = QCFS(4, init_lambda=2.0).eval()
    y = act(torch.randn(10_000) * 3).detach()
    k = y * 4 / act.lambda_value()
    assert torch.equal(k, torch.round(k)) and k.min() >= 0 and k.max() <= 4


def test_zero_noise_and_eval_mode_are_deterministic() -> None:
    z = torch.randn(4096) * 2
    plain = QCFS(4, init_lambda=1.0)
    noisy = QCFS(4, init_lambda=1.0)
    noisy.set_noise_sigma(0.0)
    assert torch.equal(plain.train()(z), noisy.train()(z))
    noisy.set_noise_sigma(0.3)
    noisy.eval()
    assert torch.equal(noisy(z), plain.eval()(z))
    assert torch.equal(noisy(z), noisy(z))


def test_training_noise_has_requested_std_and_is_not_reclipped() -> None:
    torch.manual_seed(0)
    act = QCFS(4, init_lambda=1.0).train()
    act.set_noise_sigma(0.25)
    z = torch.rand(200_000) * 1.5 - 0.25
    with torch.no_grad():
        clean = act.eval()(z)
        noisy = act.train()(z)
    diff = (clean - noisy).numpy()
    assert abs(diff.std() - 0.25) < 0.005
    assert abs(diff.mean()) < 0.005
    assert noisy.min() < 0  # no re-clip
    with pytest.raises(ValueError):
        act.set_noise_sigma(-1.0)


def test_ste_gradients_reach_z_and_lambda() -> None:
    levels = 4
    act = QCFS(levels, init_lambda=2.0)
    lam = act.lambda_value()
    z = torch.tensor([-1.0, -0.2, 0.1, 0.9, 1.3, 1.99, 2.5, 5.0], requires_grad=True)
    y = act(z)
    y.sum().backward()
    assert z.grad is not None and act.log2_lambda.grad is not None
    zd = z.detach().numpy().astype(np.float64)
    floored = np.floor(zd * levels / lam + 0.5)
    inside = (floored >= 0) & (floored <= levels)
    np.testing.assert_array_equal(z.grad.numpy(), inside.astype(np.float32))
    q = np.clip(floored, 0, levels) / levels
    dlam = (q - np.where(inside, zd / lam, 0.0)).sum()
    # λ = 2**round(log2 λ) with STE: dλ/d(log2 λ) = λ·ln 2
    assert act.log2_lambda.grad.item() == pytest.approx(dlam * lam * math.log(2), rel=1e-5)


def test_lambda_learns_through_rounding() -> None:
    act = QCFS(4, init_lambda=8.0)
    opt = torch.optim.Adam(act.parameters(), lr=0.1)
    z = torch.rand(1000)  # values in [0, 1): λ should shrink towards ~1
    for _ in range(60):
        loss = ((act(z) - z) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert act.lambda_value() <= 2.0


def test_noise_hooks() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), QCFS(4), torch.nn.Linear(2, 2), ClipFloor(2))
    assert len(qcfs_layers(model)) == 2
    set_noise(model, [0.0, 0.5])
    assert get_noise(model) == [0.0, 0.5]
    with pytest.raises(ValueError, match="2 QCFS layers"):
        set_noise(model, [0.1])
