"""Bit-exact CPU simulator: the executable specification of the integer IR."""
from neurodeploy.backends.cpusim.simulate import simulate
from neurodeploy.backends.cpusim.trace import Trace

__all__ = ["Trace", "simulate"]
