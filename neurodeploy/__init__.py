"""neurodeploy: quantization-aware training to bit-exact integer spiking networks.

Importing this package never imports torch, brevitas or lava; those load lazily inside the
functions that need them.
"""
__version__ = "0.1.0"
