"""The torch path (``impl="torch"``) is bit-identical to the reference interpreter: random DAGs
and chains under every schedule and neuron mode on the CPU (both neuron-update variants: numpy
views of CPU tensors, the default there, and torch's own, the one CUDA uses), in float32, int32
and int64 state, its synapse kernels at the float32 / float64 / int64 bounds, every conv and
pool variant in both memory layouts; the same DAG check on CUDA when a GPU is present (skipped
otherwise)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")



from neurodeploy.backends.cpusim import folded, simulate, torchsim
from neurodeploy.backends.cpusim.kernels import matmul_dtype
from neurodeploy.ir import Conv, Dense, IntT, Schedule, SumPool
from neurodeploy.ir.graph import Graph
from neurodeploy.ir.random_graph import random_cnn, random_dag, random_inputs, random_mlp

SCHEDULES = [Schedule(), Schedule("srp", tau=2), Schedule("two_phase", window=3)]
MODES = [("subtract", ">="), ("zero", ">")]
KW = {"probes": "all", "record_v": True, "record_current": True}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (torch.cuda.is_available())")


def _check_dags(schedule: Schedule, reset: str, compare: str, same_trace, device: str, seeds: range) -> None:
    for seed in seeds:
        g = random_dag(seed, reset=reset, compare=compare, schedule=schedule)
        x = random_inputs(g, 3, seed)
        ref = simulate(g, x, 4, impl="reference", **KW)
        got = torchsim.run(g, x, ref.steps, list(ref.spikes), True, True, chunk=1 + seed % 3,
                           device=device, torch_neurons=bool(seed % 2) or device != "cpu")
        same_trace(ref, got)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
@pytest.mark.parametrize("reset, compare", MODES)
def test_random_dags_cpu(schedule: Schedule, reset: str, compare: str, same_trace) -> None:
    """24 DAG seeds (concat, depthwise, strided, padded pools, merges, shortcuts): torch == reference."""
    _check_dags(schedule, reset, compare, same_trace, "cpu", range(24))


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
def test_random_chains_cpu(schedule: Schedule, same_trace) -> None:
    """MLPs and CNNs through ``simulate(impl="torch")``: identical to the reference."""
    for seed in range(4):
        make = random_mlp if seed % 2 else random_cnn
        g = make(seed + 20, schedule=schedule)
        x = random_inputs(g, 3, seed)
        same_trace(simulate(g, x, 5, impl="reference", **KW), simulate(g, x, 5, impl="torch", device="cpu", **KW))


@CUDA
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
@pytest.mark.parametrize("reset, compare", MODES)
def test_random_dags_cuda(schedule: Schedule, reset: str, compare: str, same_trace) -> None:
    """The same DAG check on the GPU."""
    _check_dags(schedule, reset, compare, same_trace, "cuda", range(24))


def _devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("n_in, bits, expect", [
    (2, 23, torch.float32), (2, 24, torch.float64), (64, 46, torch.float64), (65, 47, None)])
def test_synapse_paths_exact(device: str, n_in: int, bits: int, expect: object) -> None:
    """float32 below 2**24, float64 below 2**53, host int64 above: Python-int exact at the bound."""
    w = np.ones((2, n_in), np.int64)
    w[1] = -1
    node = Dense("fc", "input", w, weight_t=IntT(9))
    max_x = (1 << bits) - 1
    syn = torchsim.TorchSynapse(node, max_x, torch.int64, torch.device(device))
    assert (syn.host is not None) if expect is None else syn.float_dtype is expect
    assert (matmul_dtype(node.raw_bound(max_x)) is np.int64) == (expect is None)
    x = np.random.default_rng(bits).integers(max_x - 1000, max_x + 1, size=(5, n_in), dtype=np.int64)
    x[0] = max_x
    with torchsim.exact_kernels():
        got = syn(torch.from_numpy(x).to(device)).cpu().numpy()
    want = np.array([[sum(int(a) * int(b) for a, b in zip(wr, xr)) for wr in w] for xr in x])
    np.testing.assert_array_equal(got, want)


CONVS = [  # (C_in, C_out, groups, kernel, stride, padding, dilation)
    (3, 4, 1, (3, 3), (1, 1), (1, 1), (1, 1)), (3, 5, 1, (3, 2), (2, 1), (0, 2), (1, 1)),
    (2, 3, 1, (3, 3), (1, 2), (2, 1), (2, 1)), (4, 4, 4, (3, 3), (1, 1), (1, 1), (1, 1)),
    (3, 6, 3, (3, 3), (2, 2), (1, 0), (1, 2)), (4, 6, 2, (2, 3), (1, 2), (1, 1), (2, 1)),
]


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("c_in, c_out, groups, kernel, stride, padding, dilation", CONVS)
@pytest.mark.parametrize("weight_exp, bits", [(0, 1), (-2, 4), (1, 30)])
def test_conv_variants_equal_apply(device: str, c_in: int, c_out: int, groups: int, kernel: tuple[int, int],
                                   stride: tuple[int, int], padding: tuple[int, int],
                                   dilation: tuple[int, int], weight_exp: int, bits: int) -> None:
    """torch's conv2d (float32, or float64 for 30-bit inputs) then the floor shift == ``Conv.apply``."""
    rng = np.random.default_rng(c_in * 7 + c_out + bits)
    w = rng.integers(-128, 128, size=(c_out, c_in // groups, *kernel))
    node = Conv("c", "input", w, stride=stride, padding=padding, dilation=dilation, groups=groups,
                weight_exp=weight_exp)
    x = rng.integers(0, 1 << bits, size=(3, c_in, 7, 6))
    syn = torchsim.TorchSynapse(node, (1 << bits) - 1, torch.int64, torch.device(device))
    assert syn.float_dtype is (torch.float32 if bits < 30 else torch.float64)
    with torchsim.exact_kernels():
        got = syn(torch.from_numpy(x).to(device)).cpu().numpy()
    np.testing.assert_array_equal(got, node.apply([x]))


@pytest.mark.parametrize("kernel, stride, padding", [
    ((2, 2), None, (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (1, 0)), ((7, 6), None, (0, 0)),
    ((3, 2), None, (0, 0)), ((2, 2), (2, 2), (1, 1)), ((1, 3), None, (0, 0)), ((3, 1), None, (0, 0)),
    ((1, 1), None, (0, 0)), ((3, 3), None, (0, 0)),
])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("in_dtype, dtype", [(torch.bool, torch.int32), (torch.int32, torch.int32),
                                             (torch.float32, torch.float32), (torch.int64, torch.float64)])
def test_sum_pool_variants_equal_apply(kernel: tuple[int, int], stride: tuple[int, int] | None,
                                       padding: tuple[int, int], layout: torch.memory_format,
                                       in_dtype: torch.dtype, dtype: torch.dtype) -> None:
    """Overlapping, padded, odd-sized (floor-cropped), tiled and global pools of spikes and of
    integers, in both layouts and in integer or float dtypes == ``SumPool.apply``."""
    node = SumPool("p", "input", kernel=kernel, stride=stride, padding=padding)
    rng = np.random.default_rng(0)
    s = rng.random((4, 3, 7, 6)) < 0.5 if in_dtype == torch.bool else rng.integers(-50, 50, size=(4, 3, 7, 6))
    x = torch.from_numpy(s).to(in_dtype).contiguous(memory_format=layout)
    got = torchsim.sum_pool(node, x, dtype)
    np.testing.assert_array_equal(got.numpy(), node.apply([s.astype(np.int64)]))
    spikes_in_bytes = in_dtype == torch.bool and kernel != (7, 6)          # (7, 6): global pool
    assert got.dtype == (torch.uint8 if spikes_in_bytes else dtype)


def _wide_state(g: Graph, bits: int) -> Graph:
    """``g`` with every population's state type widened to ``bits``."""
    return Graph(tuple(replace(n, state_t=IntT(bits)) if n.role == "population" else n for n in g.nodes),
                 g.schedule)


def test_state_dtype_boundary() -> None:
    """float32 state while every partial sum is below 2**24, int32 below 2**31, else int64."""
    ops = torchsim.TorchOps("cpu")
    assert [ops.exact_dtype(b) for b in ((1 << 24) - 1, 1 << 24, (1 << 31) - 1, 1 << 31)] == \
        ["float32", "int32", "int32", "int64"]


@pytest.mark.parametrize("bits, dtype", [(24, "float32"), (26, "int32"), (33, "int64")])
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.kind)
def test_every_state_dtype_exact(bits: int, dtype: str, schedule: Schedule, same_trace) -> None:
    """Random DAGs with 24-, 26- and 33-bit state run in float32, int32 and int64 state; each
    equals the reference, with numpy and with torch neuron updates."""
    for seed in range(6):
        g = _wide_state(random_dag(seed, schedule=schedule), bits)
        plan = folded.Plan(g, torchsim.TorchOps("cpu"), 4)
        assert set(plan.state_dtype.values()) == {dtype}
        x = random_inputs(g, 3, seed)
        ref = simulate(g, x, 4, impl="reference", **KW)
        got = torchsim.run(g, x, ref.steps, list(ref.spikes), True, True, chunk=2, torch_neurons=bool(seed % 2))
        same_trace(ref, got)


def _nnpack() -> bool:
    return bool(torch._C._get_nnpack_enabled())


def test_exact_kernels_restores_flags() -> None:
    """Inside: no TF32, no NNPACK, no cuDNN, "highest" matmul precision; afterwards as before."""
    before = (torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32,
              torch.backends.cudnn.enabled, _nnpack())
    with torchsim.exact_kernels():
        assert torch.get_float32_matmul_precision() == "highest"
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert not torch.backends.cudnn.enabled and not _nnpack()
    assert before == (torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32,
                      torch.backends.cudnn.enabled, _nnpack())


def test_device_arguments() -> None:
    """``device`` needs impl="torch" off the CPU; CUDA without a GPU is refused in one line."""
    g = random_mlp(1)
    x = random_inputs(g, 2, 0)
    np.testing.assert_array_equal(simulate(g, x, 3, device="cpu").readout,
                                  simulate(g, x, 3, impl="torch", device="cpu").readout)
    with pytest.raises(ValueError, match="impl='torch'"):
        simulate(g, x, 3, impl="fast", device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            simulate(g, x, 3, impl="torch", device="cuda")


def test_auto_picks_torch_for_large_batches_and_is_exact() -> None:
    """The default ``impl="auto"`` runs torch on the CPU from ``AUTO_TORCH_MIN_BATCH`` samples, numpy
    below, and either way equals the reference interpreter."""
    from neurodeploy.backends.cpusim.simulate import AUTO_TORCH_MIN_BATCH, choose_impl
    from neurodeploy.ir.random_graph import random_dag, random_inputs

    assert choose_impl("auto", AUTO_TORCH_MIN_BATCH) == "torch"
    assert choose_impl("auto", AUTO_TORCH_MIN_BATCH - 1) == "fast"
    assert choose_impl("reference", 10_000) == "reference"
    g = random_dag(5)
    x = random_inputs(g, AUTO_TORCH_MIN_BATCH, seed=1)
    auto = simulate(g, x, 4, probes="all", record_v=True)
    ref = simulate(g, x, 4, probes="all", record_v=True, impl="reference")
    np.testing.assert_array_equal(auto.readout, ref.readout)
    for name in ref.spikes:
        np.testing.assert_array_equal(auto.spikes[name], ref.spikes[name])
        np.testing.assert_array_equal(auto.v[name], ref.v[name])
