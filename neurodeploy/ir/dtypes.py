"""Explicit integer types for the IR.

Every integer array in a graph carries an :class:`IntT` that states its bit width and
signedness.  Two's-complement bounds are used: a signed ``b``-bit type holds
``[-2**(b-1), 2**(b-1) - 1]``, an unsigned one ``[0, 2**b - 1]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class IRError(ValueError):
    """A graph, node or artifact violates the IR contract; the message names the place."""


@dataclass(frozen=True)
class IntT:
    """An integer type: ``bits`` wide, signed (two's complement) or unsigned."""

    bits: int
    signed: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 63:
            raise IRError(f"IntT: bits must be in 1..63, got {self.bits}")

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def bounds(self) -> tuple[int, int]:
        """Smallest and largest representable value."""
        return self.lo, self.hi

    def fits(self, values: np.ndarray | int) -> bool:
        a = np.asarray(values)
        return a.size == 0 or (int(a.min()) >= self.lo and int(a.max()) <= self.hi)

    def check(self, values: np.ndarray | int, where: str) -> None:
        """Raise :class:`IRError` naming ``where`` if any value is outside the type."""
        a = np.asarray(values)
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise IRError(f"{where}: expected an integer array, got dtype {a.dtype}")
        if not self.fits(a):
            raise IRError(
                f"{where}: values {int(a.min())}..{int(a.max())} do not fit "
                f"{self.describe()} [{self.lo}, {self.hi}]"
            )

    def saturate(self, values: np.ndarray) -> np.ndarray:
        """Clip to the representable range (saturating arithmetic)."""
        return np.clip(values, self.lo, self.hi)

    def describe(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"

    @staticmethod
    def parse(text: str) -> IntT:
        if text.startswith("uint"):
            return IntT(int(text[4:]), signed=False)
        if text.startswith("int"):
            return IntT(int(text[3:]), signed=True)
        raise IRError(f"unknown integer type {text!r}")


def shift(values: np.ndarray, exponent: int) -> np.ndarray:
    """Multiply integers by ``2**exponent``: left shift for ``exponent >= 0``,
    arithmetic right shift (rounds toward minus infinity) for ``exponent < 0``.

    This is the rounding Lava's Dense applies to its summed input (``a >> -weight_exp``).
    """
    a = np.asarray(values, dtype=np.int64)
    return a << exponent if exponent >= 0 else a >> (-exponent)
