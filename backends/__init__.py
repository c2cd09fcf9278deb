"""Backends: the bit-exact CPU simulator and the Lava backend (installed as neurodeploy.backends)."""
