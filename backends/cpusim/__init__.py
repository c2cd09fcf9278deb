"""Bit-exact CPU simulator: the executable specification of the integer IR."""
