"""QAT route: a trained Brevitas model (any traceable ``nn.Module``) -> :class:`FloatNetwork`.

The model is traced by the shared fx walker (:mod:`neurodeploy.convert.fx_walker`); here only
the activation rule is route-specific: a :class:`~neurodeploy.quant.qcfs.QCFS` call (Bu et al.,
ICLR 2022) becomes a population with threshold ``lambda`` and initial potential ``shift *
lambda``; a ReLU is refused (it has no trained threshold; use the float route).  Weights of
``QuantConv2d``/``QuantLinear`` are read back exactly as ``q * 2**e``; BatchNorm is folded and
makes the mapping inexact, which :func:`~neurodeploy.convert.integerize.integerize` reports.

:func:`brevitas_activations` runs the traced model and returns, per IR population, the integer
QCFS level ``n = a * L / lambda`` of every neuron, so "integer reference == ANN" can be checked
population by population.  torch is imported inside the functions.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurodeploy.convert.fx_ops import UnsupportedLayerError
from neurodeploy.convert.fx_rules import is_relu
from neurodeploy.convert.fx_walker import Activation, Route, WalkResult, walk
from neurodeploy.convert.stages import FloatNetwork, FloatPopulation, InputSpec

__all__ = ["QAT_ROUTE", "UnsupportedLayerError", "brevitas_activations", "network_from_brevitas", "qat_activation"]


def qat_activation(obj: Any) -> Activation | str | None:
    """QCFS -> its ``lambda``, shift and levels; ReLU -> refusal; anything else -> not an activation."""
    from neurodeploy.quant.qcfs import QCFS

    if isinstance(obj, QCFS):
        return Activation(float(obj.lambda_value()), float(obj.shift), int(obj.levels))
    if is_relu(obj):
        return "ReLU has no trained threshold on the QAT route; use QCFS, or convert with --from-float"
    return None


QAT_ROUTE = Route("qat", qat_activation)


def _walk(model: Any, input_spec: InputSpec, meta: dict[str, str] | None) -> WalkResult:
    return walk(model, input_spec, QAT_ROUTE, meta)


def network_from_brevitas(model: Any, input_spec: InputSpec, meta: dict[str, str] | None = None) -> FloatNetwork:
    """Trace ``model`` into a :class:`FloatNetwork`; :class:`UnsupportedLayerError` (one line,
    naming the fx node, its target and module) for anything that cannot be mapped."""
    return _walk(model, input_spec, meta).network


def brevitas_activations(model: Any, x_int: np.ndarray, input_scale: float,
                         batch_size: int = 1000) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Run the Brevitas model (eval mode) on ``x_int * input_scale``.

    Returns ``(counts, logits)``: ``counts[name]`` is the integer level ``rint(a * L / lambda)``
    of IR population ``name`` (``conv1_if``, ...), shape ``(batch, *population shape)``, in
    forward order; ``logits`` the model output (float64).  The training flag is restored.
    """
    import torch
    from torch import fx

    spec = InputSpec(tuple(int(s) for s in np.shape(x_int)[1:]), 16, float(input_scale))
    res = _walk(model, spec, None)
    net = res.network
    wanted = res.populations                                  # fx node name -> population name

    class Recorder(fx.Interpreter):
        """Interpreter that keeps the outputs of the activation nodes."""

        def __init__(self, gm: Any) -> None:
            super().__init__(gm)
            self.seen: dict[str, Any] = {}

        def run_node(self, n: Any) -> Any:
            out = super().run_node(n)
            if n.name in wanted:
                self.seen[wanted[n.name]] = out
            return out

    counts: dict[str, list[np.ndarray]] = {name: [] for name in wanted.values()}
    logits: list[np.ndarray] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x_int), batch_size):
                x = torch.as_tensor(np.asarray(x_int[start:start + batch_size]), dtype=torch.float32) * input_scale
                rec = Recorder(res.graph_module)
                logits.append(rec.run(x).double().numpy())
                for name, a in rec.seen.items():
                    pop = net.node(name)
                    assert isinstance(pop, FloatPopulation) and pop.threshold is not None
                    counts[name].append(np.rint(a.double().numpy() * net.levels / pop.threshold).astype(np.int64))
    finally:
        model.train(was_training)
    return {k: np.concatenate(v) for k, v in counts.items()}, np.concatenate(logits)
