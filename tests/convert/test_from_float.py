"""Float-ANN route (Li et al., arXiv 2205.10121):

* BN folding leaves the float network's output unchanged (float32 torch model vs the folded
  float64 FloatNetwork: max |diff| <= 1e-4 * max |logit|);
* unsupported layers, MaxPool2d (unless maxpool_to_avgpool, which is reported) and bad
  state_dicts (missing key, shape mismatch) give clear errors naming the layer / key;
* the CLI's --from-float errors are one line and leave no partial output;
* a tiny end-to-end run: a float MLP trained on 600 MNIST images converts, calibrates
  (MMSE + potential calibration through the CPU simulator), saves, builds for cpu and simulates."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from neurodeploy.calibrate.ann import ann_forward
from neurodeploy.cli import main
from neurodeploy.convert.from_float import StateDictError, UnsupportedLayerError, load_float_model, network_from_float
from neurodeploy.convert.stages import InputSpec
from neurodeploy.data.mnist import default_mnist_dir

SPEC = InputSpec((1, 12, 12), 8, 1 / 256)
needs_mnist = pytest.mark.skipif(default_mnist_dir() is None, reason="../shared/data/mnist not present")


def _randomise_bn(model: nn.Module) -> None:
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.2)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


def small_cnn(pool: nn.Module | None = None) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), pool or nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 6 * 6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(16, 5))


def test_bn_folding_keeps_float_output() -> None:
    model = small_cnn()
    _randomise_bn(model)
    model.eval()
    x = np.random.default_rng(0).integers(0, 256, (16, 1, 12, 12))
    net, notes = network_from_float(model, SPEC)
    assert notes == [] and [p.name for p in net.populations] == ["conv1_if", "fc2_if"]
    assert net.readout.name == "fc3_out" and net.readout.is_readout
    assert [p.source_layer for p in (*net.populations, net.readout)] == ["0", "5", "9"]
    syns = [p.synapses[0] for p in net.populations]
    assert syns[0].meta["batchnorm"] == "1" and syns[1].meta["batchnorm"] == "6"
    with torch.no_grad():
        ref = model(torch.as_tensor(x, dtype=torch.float32) / 256).double().numpy()
    _, logits = ann_forward(net, x)
    assert np.abs(logits - ref).max() <= 1e-4 * np.abs(ref).max()


def test_unsupported_and_maxpool() -> None:
    bad = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))
    with pytest.raises(UnsupportedLayerError, match=r"^1 \(Sigmoid; fx node _1\): unsupported layer type Sigmoid"):
        network_from_float(bad, InputSpec((4,), 8, 1 / 256))
    mp = small_cnn(nn.MaxPool2d(2))
    with pytest.raises(UnsupportedLayerError, match=r"^3 \(MaxPool2d; fx node _3\): .*--maxpool-to-avgpool"):
        network_from_float(mp, SPEC)
    net, notes = network_from_float(mp, SPEC, maxpool_to_avgpool=True)
    assert notes == [("3 (MaxPool2d; fx node _3): MaxPool2d replaced by AvgPool2d(kernel (2, 2), stride (2, 2), "
                      "padding (0, 0))")]
    assert "maxpool_to_avgpool" in net.meta
    pool = net.node("pool1")
    assert (pool.op, pool.sources, pool.kernel, pool.stride, pool.module) == ("pool", ("conv1_if",), (2, 2), (2, 2), "3")
    assert net.node("fc2_if").synapses[0].source == "flatten1"


def test_state_dict_errors(tmp_path: Path) -> None:
    model = load_float_model("small_mlp", None)
    state = model.state_dict()
    torch.save({**state, "1.weight": torch.zeros(32, 784)}, tmp_path / "shape.pt")
    with pytest.raises(StateDictError, match=r"key '1.weight' has shape \(32, 784\).*\(64, 784\)"):
        load_float_model("small_mlp", tmp_path / "shape.pt")
    torch.save({k: v for k, v in state.items() if k != "5.bias"}, tmp_path / "missing.pt")
    with pytest.raises(StateDictError, match="missing key '5.bias'"):
        load_float_model("small_mlp", tmp_path / "missing.pt")
    torch.save(state, tmp_path / "ok.pt")
    assert isinstance(load_float_model("neurodeploy.convert.float_zoo:small_mlp", tmp_path / "ok.pt"), nn.Module)
    with pytest.raises(ValueError, match="unknown model name .nope.; known: .*module:function factory"):
        load_float_model("nope", None)


def test_cli_errors_leave_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mymodels.py").write_text(textwrap.dedent("""
        from torch import nn
        def sig():
            return nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.Sigmoid(), nn.Linear(8, 10))
        def mlp():
            return nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.ReLU(), nn.Linear(8, 10))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mymodels", None)
    torch.save({"1.weight": torch.zeros(9, 784), "1.bias": torch.zeros(8), "3.weight": torch.zeros(10, 8),
                "3.bias": torch.zeros(10)}, tmp_path / "bad.pt")
    runner = CliRunner()
    cases = [(["--from-float", "mymodels:sig"], "unsupported layer type Sigmoid"),
             (["--from-float", "mymodels:mlp", "--state-dict", str(tmp_path / "bad.pt")], "key '1.weight'"),
             (["--from-float", "mymodels:mlp", "--data-dir", str(tmp_path / "nodata")], "does not exist")]
    for args, msg in cases:
        out = tmp_path / "graph"
        res = runner.invoke(main, ["convert", *args, "--out", str(out)])
        assert res.exit_code == 1, res.output
        assert msg in res.output and len(res.output.strip().splitlines()) == 1, res.output
        assert not out.exists()


@needs_mnist
def test_end_to_end_mnist_mlp(tmp_path: Path) -> None:
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.convert.float_zoo import train_float
    from neurodeploy.data.mnist import load_mnist
    from neurodeploy.ir.serialize import load_graph

    _, metrics = train_float("small_mlp", epochs=3, lr=3e-3, batch_size=50, seed=0, out=tmp_path / "ckpt",
                             progress=False, train_limit=600)
    assert metrics["test_acc"] > 0.7
    out = tmp_path / "graph"
    res = CliRunner().invoke(main, ["convert", "--from-float", "small_mlp", "--state-dict",
                                    str(tmp_path / "ckpt" / "model.pt"), "--threshold", "mmse",
                                    "--calibrate", "advanced", "--calib-samples", "200", "--steps", "16",
                                    "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    graph = load_graph(out)
    assert graph.meta["dataset"] == "mnist" and graph.meta["calibration"] == "potential"
    data = load_mnist()
    x, y = data.x_test[:300], data.y_test[:300]
    acc = simulate(graph, x, 16).accuracy_per_step(y)[-1]
    assert acc > metrics["test_acc"] - 0.1, (acc, metrics)
    res = CliRunner().invoke(main, ["build", str(out), "--target", "cpu", "--out", str(tmp_path / "bundle"),
                                    "--vectors", "4"])
    assert res.exit_code == 0, res.output
