"""The torch.fx walker on a user-written Brevitas residual network (QAT route):

* structure: identity and strided 1x1 shortcuts become merges of two synapses, a depthwise and a
  strided conv keep groups/stride, torch.cat / global average pool / flatten become tensor ops,
  every node records its source module;
* with random (untrained) weights and power-of-two lambdas, integerize reports every population
  exact, and on random inputs the integer ANN reference equals Brevitas' per-population QCFS
  levels and logits (times Theta * L); so does the SNN under the two_phase schedule (window L);
* BatchNorm on the QAT route is folded and reported inexact, per branch;
* anything unsupported stops with one line naming the fx node, its target and its module."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neurodeploy.backends.cpusim import simulate
from neurodeploy.convert.from_brevitas import UnsupportedLayerError, brevitas_activations, network_from_brevitas
from neurodeploy.convert.integerize import integerize
from neurodeploy.convert.stages import FloatPopulation, InputSpec, TensorOp
from neurodeploy.ir.dtypes import IRError
from neurodeploy.ir.graph import Schedule
from neurodeploy.quant.layers import qconv2d, qlinear
from neurodeploy.quant.qcfs import QCFS

L = 4
SPEC = InputSpec((1, 8, 8), 8, 1 / 256)


class ResidualNet(nn.Module):
    """Stem, a basic block with an identity shortcut, a strided + depthwise branch with a strided
    1x1 shortcut, a side branch concatenated on channels, global average pool, linear readout."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.a0 = qconv2d(1, 4, 3, padding=1), QCFS(L, 0.5)
        self.c1, self.a1 = qconv2d(4, 4, 3, padding=1), QCFS(L, 2.0)
        self.c2, self.a2 = qconv2d(4, 4, 3, padding=1), QCFS(L, 2.0)
        self.down, self.a3 = qconv2d(4, 8, 3, stride=2, padding=1), QCFS(L, 0.5)
        self.dw, self.a4 = qconv2d(8, 8, 3, padding=1, groups=8), QCFS(L, 1.0)
        self.short, self.a5 = qconv2d(4, 8, 1, stride=2), QCFS(L, 1.0)
        self.side, self.a6 = qconv2d(8, 4, 1), QCFS(L, 1.0)
        self.fc = qlinear(12, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a0(self.stem(x))
        y = self.a2(self.c2(self.a1(self.c1(h))) + h)             # identity shortcut (lambda 0.5 into 2)
        z = self.a4(self.dw(self.a3(self.down(y))))                # strided conv, then depthwise
        z = self.a5(torch.add(self.short(y), z))                   # strided 1x1 shortcut
        s = self.a6(self.side(z))
        g = torch.cat([z, s], dim=1).mean((2, 3))                  # global average pool
        return self.fc(g.view(g.size(0), -1))


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.4)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return randomised(ResidualNet())


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (96, 1, 8, 8))


def test_structure(model: nn.Module) -> None:
    net = network_from_brevitas(model, SPEC, {"dataset": "test"})
    pops = [n for n in net.nodes if isinstance(n, FloatPopulation)]
    assert [p.name for p in pops] == [f"conv{i}_if" for i in range(1, 8)] + ["fc8_out"]
    assert [p.module for p in net.populations] == ["a0", "a1", "a2", "a3", "a4", "a5", "a6"]
    assert net.levels == L and net.meta["dataset"] == "test"
    merge = net.node("conv3_if")
    assert [(s.name, s.source, s.module, s.identity) for s in merge.synapses] == [
        ("conv3_syn", "conv2_if", "c2", False), ("conv3_syn2", "conv1_if", "", True)]
    short = net.node("conv6_if")
    assert [(s.source, s.module, s.stride) for s in short.synapses] == [
        ("conv3_if", "short", (2, 2)), ("conv5_if", "", (1, 1))]
    assert net.node("conv4_if").synapses[0].stride == (2, 2)
    assert net.node("conv5_if").synapses[0].groups == 8
    ops = [(n.name, n.op, n.sources, n.kernel) for n in net.nodes if isinstance(n, TensorOp)]
    assert ops == [("concat1", "concat", ("conv6_if", "conv7_if"), (1, 1)),
                   ("pool1", "pool", ("concat1",), (4, 4)), ("flatten1", "flatten", ("pool1",), (1, 1))]


def test_integer_reference_equals_brevitas(model: nn.Module, x: np.ndarray) -> None:
    from neurodeploy.reference import ann_reference

    graph, report = integerize(network_from_brevitas(model, SPEC))
    assert report.exact, report.to_json()
    assert [len(r.branches) for r in report.layers] == [1, 1, 2, 1, 1, 2, 1, 1]
    assert all(b.weight_exp >= 0 for r in report.layers for b in r.branches)
    counts, logits = brevitas_activations(model, x, SPEC.scale, batch_size=40)
    assert list(counts) == [p.name for p in graph.populations()]
    assert all(c.any() and (c < L).any() for c in counts.values())      # not trivially silent/saturated
    ref = ann_reference(graph, x, L)
    for name, n in counts.items():
        assert np.array_equal(ref.counts[name], n), name
    scale = report.layer("fc8_out").threshold * L
    assert np.array_equal(ref.logits, np.rint(logits * scale).astype(np.int64))


def test_two_phase_snn_equals_brevitas(model: nn.Module, x: np.ndarray) -> None:
    graph, report = integerize(network_from_brevitas(model, SPEC), schedule=Schedule("two_phase", window=L))
    counts, logits = brevitas_activations(model, x, SPEC.scale)
    trace = simulate(graph, x, L, probes=list(counts))
    for name, n in counts.items():
        assert np.array_equal(trace.spike_counts(name), n), name
    scale = report.layer("fc8_out").threshold * L
    assert np.array_equal(trace.readout[-1], np.rint(logits * scale).astype(np.int64))


def test_batchnorm_is_folded_and_reported_inexact() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(qconv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), QCFS(L, 1.0), nn.Flatten(),
                          qlinear(4 * 8 * 8, 3))
    bn = model[1]
    with torch.no_grad():
        bn.running_var.uniform_(0.5, 2.0)
        bn.running_mean.uniform_(-0.2, 0.2)
    net = network_from_brevitas(randomised(model), SPEC)
    assert net.populations[0].synapses[0].meta["batchnorm"] == "1"
    _, report = integerize(net)
    first = report.layers[0]
    assert not first.exact and first.branches[0].max_weight_error > 0 and report.layers[1].exact
    with pytest.raises(IRError, match="conv1_if: no power-of-two threshold"):
        integerize(net, allow_inexact=False)


class _Bad(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.conv, self.conv2, self.act = qconv2d(1, 2, 3, padding=1), qconv2d(2, 2, 1), QCFS(L, 1.0)
        self.pool, self.relu, self.fc = nn.MaxPool2d(2), nn.ReLU(), qlinear(32, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        if self.kind == "maxpool":
            h = self.pool(self.act(h))
        elif self.kind == "sigmoid":
            h = torch.sigmoid(self.act(h))[:, :, ::2, ::2]
        elif self.kind == "two_synapses":
            h = self.act(self.conv2(h))[:, :, ::2, ::2]
        elif self.kind == "relu":
            h = F.avg_pool2d(self.relu(h), 2)
        elif self.kind == "slice":
            h = self.act(h)[:, :, ::2, ::2]
        elif self.kind == "control":
            h = self.act(h) if h.sum() > 0 else h
        return self.fc(torch.flatten(h, 1))


@pytest.mark.parametrize("kind, expected", [
    ("maxpool", r"^pool \(MaxPool2d; fx node pool\): MaxPool2d is not representable exactly; use --maxpool-to-avgpool"),
    ("sigmoid", r"^sigmoid \(sigmoid\): unsupported operation"),
    ("two_synapses", r"^conv2 \(QuantConv2d; fx node conv2\): two synapses without an activation"),
    ("relu", r"^relu \(ReLU; fx node relu\): ReLU has no trained threshold on the QAT route"),
    ("slice", r"^getitem \(getitem\): indexing or slicing a tensor is not representable"),
    ("control", r"^model \(_Bad\): torch.fx cannot trace it"),
])
def test_unsupported_nodes_are_one_line(kind: str, expected: str) -> None:
    with pytest.raises(UnsupportedLayerError, match=expected) as info:
        network_from_brevitas(_Bad(kind), SPEC)
    assert isinstance(info.value, IRError) and isinstance(info.value, ValueError)
    assert len(str(info.value).splitlines()) == 1


def test_error_names_the_enclosing_module() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.act = qconv2d(1, 2, 3, padding=1), QCFS(L, 1.0)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.conv(x)) * 2

    model = nn.Sequential(Block(), nn.Flatten(), qlinear(128, 2))
    with pytest.raises(UnsupportedLayerError, match=r"^mul \(mul; in module 0\): unsupported operation"):
        network_from_brevitas(model, SPEC)
