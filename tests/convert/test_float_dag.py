"""Float-ANN route on a ResNet-style DAG (Conv2d/BatchNorm/ReLU, identity and strided 1x1
shortcuts, a reused ReLU module, functional max pool, adaptive average pool, view(N, -1)):

* the walker folds every BatchNorm into its branch and keeps the float function (float32 torch
  model vs the float64 FloatNetwork: max |diff| <= 1e-4 * max |logit|);
* a reused ReLU module becomes one population per call site;
* F.max_pool2d is refused, or replaced by an average pool and noted with maxpool_to_avgpool;
* thresholds, potential calibration and integerize work per population; the report has one
  entry per branch of each merge (inexact on this route, errors measured), and the simulated
  integer graph's readout (T = 32) tracks the clipped float ANN's logits within 5 %."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neurodeploy.backends.cpusim import simulate
from neurodeploy.calibrate.ann import ann_forward
from neurodeploy.convert.float_route import calibrate_network
from neurodeploy.convert.from_float import UnsupportedLayerError, network_from_float
from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.stages import InputSpec

SPEC = InputSpec((1, 8, 8), 8, 1 / 256)


class FloatResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv0, self.bn0 = nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv1, self.bn1 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv3, self.bn3 = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8)
        self.down = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn0(self.conv0(x)))
        y = self.relu(self.bn1(self.conv1(h)))
        y = self.relu(self.bn2(self.conv2(y)) + h)
        z = self.relu(self.bn3(self.conv3(y)) + self.down(y))
        z = self.pool(z)
        return self.fc(z.view(z.size(0), -1))


def make_model(seed: int = 0) -> FloatResNet:
    torch.manual_seed(seed)
    model = FloatResNet()
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1 + 0.1)
    return model.eval()


def test_walk_keeps_the_float_function() -> None:
    model = make_model()
    net, notes = network_from_float(model, SPEC, {"dataset": "test"})
    assert notes == [] and net.meta["route"] == "float"
    assert [p.name for p in net.populations] == ["conv1_if", "conv2_if", "conv3_if", "conv4_if"]
    assert [p.module for p in net.populations] == ["", "relu", "relu", "relu"]     # F.relu, then a reused module
    assert [len(p.synapses) for p in net.populations] == [1, 1, 2, 2]
    merge = net.node("conv4_if")
    assert [(s.module, s.stride, s.meta["batchnorm"]) for s in merge.synapses] == [
        ("conv3", (2, 2), "bn3"), ("down.0", (2, 2), "down.1")]
    assert net.node("conv3_if").synapses[1].meta["shortcut"] == "add"
    x = np.random.default_rng(0).integers(0, 256, (16, 1, 8, 8))
    with torch.no_grad():
        ref = model(torch.as_tensor(x, dtype=torch.float32) / 256).double().numpy()
    acts, logits = ann_forward(net, x)
    assert list(acts) == [p.name for p in net.populations]
    assert np.abs(logits - ref).max() <= 1e-4 * np.abs(ref).max()


def test_functional_maxpool_needs_the_option() -> None:
    class Pooled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(32, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(torch.flatten(F.max_pool2d(torch.relu(self.conv(x)), 2), 1))

    with pytest.raises(UnsupportedLayerError, match=r"^max_pool2d \(max_pool2d\): MaxPool2d is not representable"):
        network_from_float(Pooled(), SPEC)
    net, notes = network_from_float(Pooled(), SPEC, maxpool_to_avgpool=True)
    assert len(notes) == 1 and notes[0].startswith("max_pool2d (max_pool2d): MaxPool2d replaced by AvgPool2d")
    assert net.node("pool1").kernel == (2, 2) and "maxpool_to_avgpool" in net.meta


def test_calibrate_and_integerize_dag() -> None:
    model = make_model()
    net, _ = network_from_float(model, SPEC)
    rng = np.random.default_rng(1)
    x_calib, x_test = rng.integers(0, 256, (32, 1, 8, 8)), rng.integers(0, 256, (32, 1, 8, 8))
    cal, info = calibrate_network(net, x_calib, threshold="max", calibrate="advanced", steps=8)
    assert list(info["thresholds"]) == [p.name for p in net.populations]
    assert [s["name"] for s in info["layer_error_before"]] == [p.name for p in net.populations]
    assert any(p.v0_offset is not None for p in cal.populations)
    graph, report = integerize(cal)
    merges = [r for r in report.layers if len(r.branches) == 2]
    assert [r.name for r in merges] == ["conv3_if", "conv4_if"] and not report.exact
    for r in merges:
        assert all(b.weight_exp >= 0 and b.accumulator_bound > 0 for b in r.branches)
        assert r.accumulator_bound == sum(b.accumulator_bound for b in r.branches)
    assert graph.node("conv3_if").sources == ("conv3_syn", "conv3_syn2")
    assert graph.node("conv3_syn2").meta["identity"] == "1"
    assert any("+ conv4_syn2" in row for row in report.summary_rows())
    trace = simulate(graph, x_test, 32)
    _, logits = ann_forward(cal, x_test, clip=True)
    snn = trace.readout[-1] / (report.layer("fc5_out").threshold * 32)     # readout acc = Theta * T * z
    assert np.abs(snn - logits).max() <= 0.05 * np.abs(logits).max()
