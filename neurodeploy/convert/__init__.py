"""Converters from trained PyTorch/Brevitas models (any torch.fx-traceable DAG) to the integer IR
(torch imported lazily): ``fx_walker`` -> ``FloatNetwork`` (``stages``) -> ``integerize``."""
