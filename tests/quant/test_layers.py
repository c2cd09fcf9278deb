"""Brevitas layers expose their quantized parameters as exact integers times powers of two.

Proves, with real Brevitas ``QuantConv2d``/``QuantLinear``: the weight scale and the bias scale are powers of
two; ``quantized_weight``/``quantized_bias`` return int8 weights and 8-bit biases (``BIAS_BITS``) that reconstruct Brevitas' effective
weight and bias bit-exactly; and the layer's own forward equals a plain float conv/linear with ``q·2**e`` and
``qb·2**eb`` bit-exactly. Also checks the zoo models contain only the module types the converter walks.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurodeploy.quant.layers import BIAS_BITS, pow2_exponent, qconv2d, qlinear, quantized_bias, quantized_weight
from neurodeploy.quant.models import ALLOWED_MODULES, build_model, cnn, mlp


def _check_exact(layer: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    q, e = quantized_weight(layer)
    assert q.dtype == np.int8 and np.abs(q.astype(np.int16)).max() <= 127
    w = torch.from_numpy(q.astype(np.float32)) * 2.0**e
    assert torch.equal(w, layer.quant_weight().value.detach())
    b = None
    qb_e = quantized_bias(layer)
    if qb_e is not None:
        qb, eb = qb_e
        assert qb.dtype == np.int32 and qb.max() < 2 ** (BIAS_BITS - 1) and qb.min() >= -(2 ** (BIAS_BITS - 1))
        b = torch.from_numpy(qb.astype(np.float32)) * 2.0**eb
        assert torch.equal(b, layer.quant_bias().value.detach())
        # the 8-bit power-of-two bias keeps the float bias to within half a bias step
        assert torch.allclose(b, layer.bias.detach(), atol=2.0 ** (eb - 1) + 1e-12, rtol=0)
    return w, b


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_exact(seed: int) -> None:
    torch.manual_seed(seed)
    layer = qlinear(64, 32)
    with torch.no_grad():
        layer.weight.mul_(2.0 ** (seed - 1))
    w, b = _check_exact(layer)
    x = torch.randint(0, 17, (8, 64)).float() / 16
    assert torch.equal(layer(x), F.linear(x, w, b))


@pytest.mark.parametrize("bias", [True, False])
def test_conv_exact(bias: bool) -> None:
    torch.manual_seed(3)
    layer = qconv2d(3, 8, 5, stride=1, padding=2, bias=bias)
    w, b = _check_exact(layer)
    assert (b is None) == (not bias)
    x = torch.randint(0, 256, (2, 3, 12, 12)).float() / 256
    assert torch.equal(layer(x), F.conv2d(x, w, b, padding=2))


def test_pow2_exponent() -> None:
    assert pow2_exponent(0.0625) == -4
    assert pow2_exponent(1.0) == 0
    assert pow2_exponent(2.0**-20) == -20
    for bad in (0.0, -0.5, 0.3, float("inf")):
        with pytest.raises(ValueError):
            pow2_exponent(bad)


def test_zoo_module_types_and_shapes() -> None:
    for model, x in ((mlp(4), torch.zeros(2, 64)), (cnn(4), torch.zeros(2, 1, 28, 28))):
        assert all(isinstance(m, ALLOWED_MODULES) for m in model)
        assert model(x).shape == (2, 10)
        for layer in model:
            if hasattr(layer, "quant_weight"):
                _check_exact(layer)
    assert len(build_model("mlp", levels=2, hidden=[32])) == 3
    with pytest.raises(ValueError, match="unknown model name"):
        build_model("resnet152")
