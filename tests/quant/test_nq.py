"""NQ (Huang et al., arXiv 2404.17456; docs/methods.md §2): the noisy training activation and the σ estimator.

Proves: with σ = 0 the training-mode activation equals QCFS exactly (and eval mode never adds noise); the
pooled integer statistics give the population std exactly (0.0 for constant differences); on a trained digits
MLP the estimator's σ_1 is exactly 0 (constant analog input at T_val = L is exact, identity I3) while a deeper
layer has σ > 0, and σ_l equals an independent float computation of std(a_l − r_l) from the simulator's spike
counts and the Brevitas activations (keyed by population name); on a ResNet DAG σ comes out per QCFS layer in
``set_noise`` order with σ_1 == 0; NQ training through ``train(noise=True)`` starts noise-free, sets the
estimated σ on the model and stores it in the checkpoint.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neurodeploy.data.digits import load_digits_split
from neurodeploy.quant.checkpoint import load_checkpoint
from neurodeploy.quant.noise import get_noise, qcfs_layers, set_noise
from neurodeploy.quant.nq import (
    NQSigmaEstimator,
    SigmaStats,
    counts_by_population,
    population_layers,
    residual_sigmas,
)
from neurodeploy.quant.qcfs import QCFS
from neurodeploy.quant.train import train, validation_split


def test_sigma_zero_training_activation_is_qcfs() -> None:
    torch.manual_seed(0)
    z = torch.randn(4096) * 3
    for levels in (2, 4, 8):
        act = QCFS(levels, init_lambda=2.0)
        act.set_noise_sigma(0.0)
        train_out = act.train()(z)
        lam = act.lambda_value()
        expected = lam * torch.clamp(torch.floor(z * levels / lam + 0.5), 0, levels) / levels
        assert torch.equal(train_out, expected)
        assert torch.equal(act.eval()(z), expected)
        act.set_noise_sigma(0.3)
        assert torch.equal(act.eval()(z), expected)            # eval: deterministic, noise off
        noisy = act.train()(z)
        assert not torch.equal(noisy, expected)
        assert abs(float((expected - noisy).detach().std()) - 0.3) < 0.03


def test_pooled_stats_are_exact() -> None:
    rng = np.random.default_rng(1)
    parts = [rng.integers(-9, 10, size=s) for s in (5, 17, 3)]
    st = SigmaStats()
    for p in parts:
        st.add(p)
    allv = np.concatenate(parts) * 0.125
    assert st.std(0.125) == pytest.approx(float(allv.std()), rel=1e-12)
    const = SigmaStats()
    const.add(np.full(100, 7))
    assert const.std(1.0) == 0.0


@pytest.fixture(scope="module")
def trained_mlp() -> tuple[torch.nn.Module, np.ndarray, object]:
    data = load_digits_split()
    model, _ = train("mlp", data, levels=4, epochs=4, lr=5e-3, batch_size=128, seed=3, progress=False,
                     model_config={"hidden": [48, 32]})
    _, _, x_val, _ = validation_split(data.x_train, data.y_train, 0.1, 3)
    return model, x_val, data


def test_first_layer_sigma_is_exactly_zero(trained_mlp) -> None:
    model, x_val, data = trained_mlp
    est = NQSigmaEstimator(input_bits=data.input_bits)
    sigmas = est(model, x_val, np.zeros(len(x_val)), data.input_scale)
    assert len(sigmas) == len(qcfs_layers(model)) == 2
    assert sigmas[0] == 0.0
    assert sigmas[1] > 0.0
    assert est.history[-1]["steps"] == 4
    assert not model.training


def test_sigma_matches_independent_float_computation(trained_mlp) -> None:
    from dataclasses import replace

    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.convert.from_brevitas import brevitas_activations, network_from_brevitas

    model, x_val, data = trained_mlp
    sig, details = residual_sigmas(model, x_val, data.input_scale, data.input_bits, steps=6, batch_size=50)
    # independent: one simulator run over all inputs (T = 6 != L), float std of a - r
    from neurodeploy.convert.integerize import integerize
    from neurodeploy.convert.stages import InputSpec
    from neurodeploy.ir.dtypes import IRError
    from neurodeploy.quant.nq import WIDE_EXP
    from neurodeploy.targets import CPU

    net = network_from_brevitas(model, InputSpec((64,), data.input_bits, data.input_scale))
    try:
        graph, _ = integerize(net, CPU)
    except IRError:
        graph, _ = integerize(net, replace(CPU, weight_exp_range=WIDE_EXP, bias_exp_range=(0, WIDE_EXP[1])))
    trace = simulate(graph, x_val, 6, probes="all")
    pops = [p.name for p in graph.populations()]
    counts = counts_by_population(brevitas_activations(model, x_val, data.input_scale)[0], pops)
    for i, (pop, layer) in enumerate(zip(graph.populations(), qcfs_layers(model))):
        lam = layer.lambda_value()
        a = lam * counts[pop.name].reshape(trace.spike_counts(pop.name).shape) / 4
        r = lam * trace.spike_counts(pop.name) / 6
        assert sig[i] == pytest.approx(float((a - r).std()), rel=1e-9, abs=1e-12)
        assert details["mean_residual"][i] == pytest.approx(float((a - r).mean()), abs=1e-12)


def test_counts_and_layers_by_population_name() -> None:
    from types import SimpleNamespace

    a, b = np.zeros((2, 3)), np.ones((2, 3))
    assert counts_by_population({"p2": b, "p1": a}, ["p1", "p2"])["p2"] is not None
    assert counts_by_population([a, b], ["p1", "p2"])["p2"].sum() == 6  # the older list API, in order
    with pytest.raises(ValueError, match="no counts for population 'p2'"):
        counts_by_population({"p1": a}, ["p1", "p2"])
    model = torch.nn.Sequential(torch.nn.Sequential(QCFS(4), QCFS(4)), QCFS(4))
    acts = [model[0][0], model[0][1], model[1]]

    def graph(*metas: dict[str, str]) -> SimpleNamespace:
        pops = [SimpleNamespace(name=f"pop{i}", meta=m) for i, m in enumerate(metas)]
        return SimpleNamespace(populations=lambda: pops)

    named = population_layers(graph({"activation": "1"}, {"activation": "0_1"}, {"x": "0.0"}), model)
    assert [named[f"pop{i}"] for i in range(3)] == [acts[2], acts[1], acts[0]]     # by the names in meta
    ordered = population_layers(graph({"source_layer": "c"}, {}, {}), model)
    assert list(ordered.values()) == acts                                          # sequential: in order


def test_nq_training_loop_sets_and_saves_sigma(tmp_path: Path) -> None:
    data = load_digits_split()
    est = NQSigmaEstimator(input_bits=data.input_bits)
    model, hist = train("mlp", data, levels=4, epochs=2, lr=5e-3, batch_size=128, seed=0, progress=False,
                        noise=True, sigma_estimator=est, model_config={"hidden": [32, 32]}, out=tmp_path / "ck")
    assert len(est.history) == 2
    assert all(s[0] == 0.0 for s in hist["sigmas"])
    assert hist["sigmas"][-1] == pytest.approx(est.history[-1]["sigmas"], rel=1e-6)  # float32 buffer
    loaded, _ = load_checkpoint(tmp_path / "ck")
    assert get_noise(loaded) == pytest.approx(hist["sigmas"][-1], rel=1e-6)
    set_noise(loaded, [0.0, 0.0])
    assert get_noise(loaded) == [0.0, 0.0]


def test_sigma_on_a_residual_dag() -> None:
    from neurodeploy.quant.train import reshape_inputs

    data = load_digits_split()
    model, _ = train("resnet", data, levels=4, epochs=1, lr=5e-3, batch_size=128, seed=0, progress=False)
    x = reshape_inputs(data.x_train[:60], (1, 8, 8))
    sigmas, details = residual_sigmas(model, x, data.input_scale, data.input_bits)
    assert len(sigmas) == len(qcfs_layers(model)) == 7      # stem + 2 per block, in set_noise order
    assert sigmas[0] == 0.0 and max(sigmas[1:]) > 0.0 and not details["widened_target"]
