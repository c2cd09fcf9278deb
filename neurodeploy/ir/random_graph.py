"""Random integer networks for property tests (CPU simulator vs reference vs Lava)."""
from __future__ import annotations

import numpy as np

from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import (
    CompareMode,
    Conv,
    Dense,
    Flatten,
    IFPopulation,
    Input,
    Node,
    Readout,
    ResetMode,
    SumPool,
)


def _population(rng: np.random.Generator, name: str, source: str, shape: tuple[int, ...],
                reset: ResetMode, compare: CompareMode, per_neuron: bool) -> IFPopulation:
    if per_neuron:
        theta = rng.integers(8, 300, size=shape)
    else:
        theta = np.full(shape, int(rng.integers(8, 300)))
    v0 = theta // 2 if reset == "subtract" else np.zeros(shape, np.int64)
    return IFPopulation(name=name, source=source, shape=shape, threshold=theta, v0=v0,
                        bias_mant=rng.integers(-8, 9, size=shape), bias_exp=int(rng.integers(0, 3)),
                        reset=reset, compare=compare)


def random_mlp(seed: int, sizes: tuple[int, ...] = (12, 16, 10, 4), input_bits: int = 4,
               reset: ResetMode = "subtract", compare: CompareMode = ">=",
               per_neuron_threshold: bool = True, schedule: Schedule = Schedule()) -> Graph:
    """A random Dense MLP ``sizes[0] -> ... -> sizes[-1]`` (readout) with integer parameters."""
    rng = np.random.default_rng(seed)
    nodes: list[Node] = [Input("input", (sizes[0],), bits=input_bits, scale=1.0 / (1 << input_bits))]
    src = "input"
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.integers(-128, 128, size=(n_out, n_in))
        w[rng.random(w.shape) < 0.3] = 0
        last = i == len(sizes) - 2
        syn = Dense(f"fc{i + 1}", src, w, weight_exp=int(rng.integers(-1, 2)))
        nodes.append(syn)
        if last:
            nodes.append(Readout("out", syn.name, (n_out,), bias_mant=rng.integers(-8, 9, n_out)))
        else:
            nodes.append(_population(rng, f"if{i + 1}", syn.name, (n_out,), reset, compare,
                                     per_neuron_threshold))
            src = f"if{i + 1}"
    return Graph(tuple(nodes), schedule=schedule, meta={"origin": f"random_mlp(seed={seed})"})


def random_cnn(seed: int, input_shape: tuple[int, int, int] = (1, 8, 8), channels: tuple[int, int] = (3, 4),
               n_out: int = 5, input_bits: int = 4, reset: ResetMode = "subtract",
               compare: CompareMode = ">=", schedule: Schedule = Schedule()) -> Graph:
    """Random ``conv - IF - sumpool - conv - IF - flatten - dense - readout`` network."""
    rng = np.random.default_rng(seed)
    c0, h, w = input_shape
    c1, c2 = channels
    nodes: list[Node] = [Input("input", input_shape, bits=input_bits, scale=1.0 / (1 << input_bits))]
    k1 = rng.integers(-128, 128, size=(c1, c0, 3, 3))
    nodes.append(Conv("conv1", "input", k1, stride=1, padding=1, weight_exp=0))
    nodes.append(_population(rng, "if1", "conv1", (c1, h, w), reset, compare, True))
    nodes.append(SumPool("pool1", "if1", kernel=2))
    k2 = rng.integers(-128, 128, size=(c2, c1, 3, 3))
    nodes.append(Conv("conv2", "pool1", k2, stride=1, padding=0, weight_exp=-1))
    h2, w2 = h // 2 - 2, w // 2 - 2
    nodes.append(_population(rng, "if2", "conv2", (c2, h2, w2), reset, compare, True))
    nodes.append(Flatten("flat", "if2"))
    wd = rng.integers(-128, 128, size=(n_out, c2 * h2 * w2))
    nodes.append(Dense("fc", "flat", wd, weight_exp=0))
    nodes.append(Readout("out", "fc", (n_out,), bias_mant=rng.integers(-8, 9, n_out)))
    return Graph(tuple(nodes), schedule=schedule, meta={"origin": f"random_cnn(seed={seed})"})


def random_inputs(graph: Graph, batch: int, seed: int) -> np.ndarray:
    """Uniform random integer inputs of the graph's input type, shape (batch, *input.shape)."""
    rng = np.random.default_rng(seed)
    inp = graph.input
    return rng.integers(0, inp.value_t.hi + 1, size=(batch, *inp.shape))
