"""The float ANN described by a :class:`FloatNetwork` (a DAG, BN already folded), run with torch.

Nodes in topological order, from ``input = x_int * input.scale``:

* tensor op: ``avg_pool2d(kernel, stride, padding, count_include_pad)``, ``flatten(1)`` or
  ``cat(dim=1)`` of its sources;
* population ``l``: ``z_l = sum_i (W_i (*) s_i + b_i)`` over its synapses and
  ``h_l = ReLU(z_l)``, optionally clipped to ``[0, threshold_l]`` (the clipped-ReLU ANN that an
  SNN with threshold ``theta_l`` can represent at best); the readout returns ``z`` (logits).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurodeploy.convert.stages import INPUT, FloatNetwork, FloatPopulation, FloatSynapse, TensorOp


def synapse_forward(syn: FloatSynapse, h: Any, torch_mod: Any) -> Any:
    """``W (*) h + b`` of one synapse in ``h``'s dtype."""
    F = torch_mod.nn.functional
    w = torch_mod.as_tensor(syn.weight, dtype=h.dtype)
    b = torch_mod.as_tensor(syn.bias, dtype=h.dtype)
    if syn.kind == "conv":
        return F.conv2d(h, w, b, stride=syn.stride, padding=syn.padding, dilation=syn.dilation, groups=syn.groups)
    return F.linear(h, w, b)


def _tensor_forward(op: TensorOp, xs: list[Any], torch_mod: Any) -> Any:
    if op.op == "pool":
        return torch_mod.nn.functional.avg_pool2d(xs[0], op.kernel, op.stride, op.padding, count_include_pad=True)
    if op.op == "flatten":
        return xs[0].flatten(1)
    return torch_mod.cat(xs, dim=1)


def ann_forward(net: FloatNetwork, x_int: np.ndarray, *, clip: bool = False, batch_size: int = 500,
                dtype: str = "float64") -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Hidden activations (by population name, forward order; ReLU, clipped iff ``clip``) and logits."""
    import torch

    tdtype = getattr(torch, dtype)
    acts: dict[str, list[np.ndarray]] = {p.name: [] for p in net.populations}
    logits: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, len(x_int), batch_size):
            vals = {INPUT: torch.as_tensor(np.asarray(x_int[start:start + batch_size]), dtype=tdtype) * net.input.scale}
            for n in net.nodes:
                if isinstance(n, TensorOp):
                    vals[n.name] = _tensor_forward(n, [vals[s] for s in n.sources], torch)
                    continue
                assert isinstance(n, FloatPopulation)
                z = sum(synapse_forward(s, vals[s.source], torch) for s in n.synapses)
                if n.is_readout:
                    logits.append(z.numpy())
                    continue
                h = torch.relu(z)
                if clip:
                    h = torch.clamp(h, max=float(n.threshold))  # type: ignore[arg-type]
                vals[n.name] = h
                acts[n.name].append(h.numpy())
    return {k: np.concatenate(v) for k, v in acts.items()}, np.concatenate(logits)
