"""QCFS activation (quantization-clip-floor-shift) with an optional NQ noise term.

QCFS: Bu et al., "Optimal ANN-SNN Conversion for High-accuracy and Ultra-low-latency Spiking Neural
Networks", ICLR 2022 (see docs/methods.md §1).  Forward, with ``L`` levels, threshold ``λ`` and shift ``φ``::

    y = λ · clip(floor(z·L/λ + φ), 0, L) / L          (φ = 1/2: QCFS;  φ = 0: clip-floor)

Clipping after the floor gives the same forward as clamp-then-floor.  Only the floor is straight-through in
the backward pass; ``λ`` is learned through ``log2 λ`` (so it stays positive).  With ``power_of_two=True``
the forward uses ``2**round(log2 λ)`` (straight-through on the rounding), so the converter sees a
power-of-two threshold and the ANN↔SNN identities hold bit-exactly.

NQ: Huang et al., "Converting High-Performance and Low-Latency SNNs through Explicit Modelling of Residual
Error in ANNs", arXiv 2404.17456 (docs/methods.md §2).  In training mode the output gets ``− σ·ε``,
``ε ~ N(0, 1)`` per element, without re-clipping; ``σ`` is the ``noise_sigma`` buffer (0 by default).
Evaluation mode never adds noise.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["QCFS", "ClipFloor", "floor_ste", "round_ste"]


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    """``floor(x)`` in the forward pass, identity gradient in the backward pass."""
    return x + (torch.floor(x) - x).detach()


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """``round(x)`` (half to even) in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


class _QCFSFunction(torch.autograd.Function):
    """Fused QCFS forward with the straight-through backward of methods.md §1.1.

    Forward: ``s = clip(floor(z·L/λ + φ), 0, L)``, ``y = s·λ/L``.  Backward (STE on the floor, clip gradient
    taken on the floored value): ``∂y/∂z = m``, ``∂y/∂λ = s/L − m·z/λ`` with ``m = 1[0 ≤ floor(u) ≤ L]``.
    Same values and gradients as the unfused autograd expression, with fewer full-size temporaries.
    """

    @staticmethod
    def forward(ctx, z: torch.Tensor, lam: torch.Tensor, levels: float, shift: float) -> torch.Tensor:  # type: ignore[override]
        floored = torch.floor(z * (levels / lam) + shift)
        mask = (floored >= 0) & (floored <= levels)
        steps = floored.clamp_(0.0, levels)
        ctx.save_for_backward(z, lam, steps, mask)
        ctx.levels = levels
        return steps * lam / levels

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        z, lam, steps, mask = ctx.saved_tensors
        grad_z = grad * mask if ctx.needs_input_grad[0] else None
        grad_lam = None
        if ctx.needs_input_grad[1]:
            dlam = steps / ctx.levels - torch.where(mask, z / lam, torch.zeros((), dtype=z.dtype))
            grad_lam = (grad * dlam).sum().reshape(lam.shape)
        return grad_z, grad_lam, None, None


class QCFS(nn.Module):
    """Quantization-clip-floor-shift activation with a learnable threshold λ (Bu et al., ICLR 2022).

    Args:
        levels: number of quantization steps ``L`` (output takes ``L + 1`` values ``λ·k/L``).
        init_lambda: initial threshold λ (> 0).
        power_of_two: use ``2**round(log2 λ)`` in the forward pass (STE through the rounding).
        shift: ``φ``; 0.5 for QCFS, 0.0 for the clip-floor quantizer (:class:`ClipFloor`).
    """

    def __init__(
        self, levels: int, init_lambda: float = 8.0, power_of_two: bool = True, shift: float = 0.5
    ) -> None:
        super().__init__()
        if int(levels) != levels or levels < 1:
            raise ValueError(f"levels must be a positive integer, got {levels!r}")
        if not init_lambda > 0:
            raise ValueError(f"init_lambda must be > 0, got {init_lambda!r}")
        self.levels = int(levels)
        self.power_of_two = bool(power_of_two)
        self.shift = float(shift)
        self.log2_lambda = nn.Parameter(torch.tensor(math.log2(init_lambda), dtype=torch.float32))
        self.register_buffer("noise_sigma", torch.tensor(0.0, dtype=torch.float32))

    def lambda_tensor(self) -> torch.Tensor:
        """λ as used in the forward pass (differentiable w.r.t. ``log2_lambda``)."""
        exponent = round_ste(self.log2_lambda) if self.power_of_two else self.log2_lambda
        return torch.exp2(exponent)

    def lambda_value(self) -> float:
        """The exact λ used by the forward pass (a power of two when ``power_of_two``)."""
        with torch.no_grad():
            return float(self.lambda_tensor())

    def lambda_exponent(self) -> int:
        """``log2 λ`` as an int; only defined when ``power_of_two``."""
        if not self.power_of_two:
            raise ValueError("lambda_exponent() needs power_of_two=True")
        return int(torch.round(self.log2_lambda.detach()).item())

    def set_noise_sigma(self, sigma: float) -> None:
        """Set the NQ noise standard deviation σ (≥ 0) used in training mode."""
        if not sigma >= 0:
            raise ValueError(f"noise sigma must be >= 0, got {sigma!r}")
        self.noise_sigma.fill_(float(sigma))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = _QCFSFunction.apply(z, self.lambda_tensor(), float(self.levels), self.shift)
        if self.training and float(self.noise_sigma) > 0.0:
            y = y - self.noise_sigma * torch.randn_like(y)
        return y

    def extra_repr(self) -> str:
        return (
            f"levels={self.levels}, lambda={self.lambda_value():g}, power_of_two={self.power_of_two}, "
            f"shift={self.shift:g}, noise_sigma={float(self.noise_sigma):g}"
        )


class ClipFloor(QCFS):
    """QCFS with ``φ = 0``: ``y = λ·clip(floor(z·L/λ), 0, L)/L`` (the plain clip-floor quantizer)."""

    def __init__(self, levels: int, init_lambda: float = 8.0, power_of_two: bool = True) -> None:
        super().__init__(levels, init_lambda=init_lambda, power_of_two=power_of_two, shift=0.0)
