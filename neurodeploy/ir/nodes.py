"""Nodes of the integer IR (format 2: a directed acyclic graph).

Every node names its inputs (``source`` for one, ``sources`` for several) and carries its own
behaviour: output shape, the largest magnitude it can emit, its exact int64 evaluation
(stateless nodes) and a one-line description.  Adding a node type means adding one class
here; the simulator, verifier, serializer and inspector only ask nodes through :class:`NodeBase`.

Time is *logical*: a node computes its value for step ``t`` from its sources' values at the
same step ``t`` (no hop delay); schedules may delay population-to-population edges
(:mod:`neurodeploy.ir.schedule`).  Backends that pipeline (Lava adds one step per synaptic
hop) map logical time to their own and report traces back in logical time.

Integer semantics, per sample and logical step ``t = 1..T`` (exact int64 before saturation):

* ``Input``: ``x(t) = x_int`` (direct coding); ``x_int`` is unsigned ``bits`` wide and the
  real value is ``x_int * scale``.
* ``Dense``: ``I(t) = shift(W @ s(t), weight_exp)``; ``shift`` multiplies by ``2**weight_exp``
  and floors for negative exponents; the floor acts on the *sum* of one projection.
* ``Conv``: ``I(t) = shift(conv2d(s(t), W), weight_exp)``: torch's cross-correlation, CHW,
  per-axis ``stride``/``padding`` (zeros)/``dilation``, ``groups`` (depthwise when
  ``groups == C_in``); ``W`` has shape ``(C_out, C_in / groups, kh, kw)``.
* ``SumPool``: ``y = sum of s over each kh x kw window`` (per-axis stride and zero padding).
  It stands for the ANN's AvgPool; the ``1/(kh*kw)`` is carried by the next synapse's
  scale, so the pool stays exact.  A window covering the whole input is a global pool.
* ``Flatten``: C-order reshape of ``(C, H, W)`` to ``(C*H*W,)``.
* ``Concat``: ``y = [s_1; s_2; ...]`` along axis 0 (channels for CHW, features for 1-D).
* ``IFPopulation`` with synaptic sources ``k = 1..K`` (a residual add is ``K = 2``: two
  projections into one compartment, as on Loihi)::

      I(t)  = sum_k I_k(t)                 (each I_k already floor-shifted by its own exponent)
      v(0)  = v0
      u     = v(t-1) + I(t) + (bias_mant << bias_exp)
      v'    = clip(u, state_t.lo, state_t.hi)
      s(t)  = [v' >= theta]  (">=")   or   [v' > theta]  (">")
      v(t)  = v' - s(t) * theta  ("subtract")   or   v' * (1 - s(t))  ("zero")

* ``Readout``: ``acc(0) = 0; acc(t) = acc(t-1) + sum_k I_k(t) + (bias_mant << bias_exp)``;
  the prediction after ``t`` steps is ``argmax acc(t)``.
"""
from __future__ import annotations

from typing import Union

from neurodeploy.ir.neurons import IFPopulation, Readout
from neurodeploy.ir.node_base import (
                                      BIAS_T,
                                      STATE_T,
                                      WEIGHT_T,
                                      CompareMode,
                                      NodeBase,
                                      Pair,
                                      ResetMode,
                                      Role,
                                      as_pair,
                                      frozen_int_array,
)
from neurodeploy.ir.synapses import Conv, Dense
from neurodeploy.ir.tensor_ops import Concat, Flatten, Input, SumPool

__all__ = [
                                      "BIAS_T",
                                      "NODE_TYPES",
                                      "STATE_T",
                                      "WEIGHT_T",
                                      "CompareMode",
                                      "Concat",
                                      "Conv",
                                      "Dense",
                                      "Flatten",
                                      "IFPopulation",
                                      "Input",
                                      "Node",
                                      "NodeBase",
                                      "Pair",
                                      "Readout",
                                      "ResetMode",
                                      "Role",
                                      "SumPool",
                                      "Synapse",
                                      "as_pair",
                                      "frozen_int_array",
]

Synapse = Union[Dense, Conv]
Node = Union[Input, Dense, Conv, SumPool, Flatten, Concat, IFPopulation, Readout]
NODE_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (Input, Dense, Conv, SumPool, Flatten, Concat, IFPopulation, Readout)
}
