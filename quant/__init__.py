"""Quantization-aware training on Brevitas (installed as neurodeploy.quant)."""
