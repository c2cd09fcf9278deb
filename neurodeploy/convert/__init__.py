"""Converters from trained PyTorch/Brevitas models to the integer IR (torch imported lazily)."""
