"""The float ANN described by a :class:`FloatNetwork` (BN already folded), run with torch.

Per hidden stage ``l``: ``z_l = W_l * pre(h_{l-1}) + b_l`` and ``h_l = ReLU(z_l)``, optionally
clipped to ``[0, threshold_l]`` (the clipped-ReLU ANN that an SNN with threshold ``theta_l`` can
represent at best); ``pre`` is the stage's average pooling / flatten.  The input is
``x_int * input.scale``.  The readout stage returns logits.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.convert.stages import FloatNetwork, FloatStage


def _stage_forward(stage: FloatStage, h, torch_mod):
    F = torch_mod.nn.functional
    for op, k in stage.pre:
        h = F.avg_pool2d(h, k) if op == "pool" else h.flatten(1)
    w = torch_mod.as_tensor(stage.weight, dtype=h.dtype)
    b = torch_mod.as_tensor(stage.bias, dtype=h.dtype)
    if stage.kind == "conv":
        return F.conv2d(h, w, b, stride=stage.stride, padding=stage.padding)
    return F.linear(h, w, b)


def ann_forward(net: FloatNetwork, x_int: np.ndarray, *, clip: bool = False, batch_size: int = 500,
                dtype: str = "float64") -> tuple[list[np.ndarray], np.ndarray]:
    """Hidden activations (one array per hidden stage, ReLU, clipped iff ``clip``) and logits."""
    import torch

    tdtype = getattr(torch, dtype)
    hidden = [s for s in net.stages if not s.is_readout]
    acts: list[list[np.ndarray]] = [[] for _ in hidden]
    logits: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, len(x_int), batch_size):
            h = torch.as_tensor(np.asarray(x_int[start:start + batch_size]), dtype=tdtype) * net.input.scale
            for i, stage in enumerate(net.stages):
                h = _stage_forward(stage, h, torch)
                if stage.is_readout:
                    logits.append(h.numpy())
                    continue
                h = torch.relu(h)
                if clip:
                    h = torch.clamp(h, max=float(stage.threshold))
                acts[i].append(h.numpy())
    return [np.concatenate(a) for a in acts], np.concatenate(logits)
