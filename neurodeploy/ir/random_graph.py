"""Random integer networks for property tests (CPU simulators vs each other vs Lava).

Chains (:func:`random_mlp`, :func:`random_cnn`) and DAGs (:func:`random_dag`): residual merges
whose branches have unequal hop counts (identity-like 1x1 shortcuts skipping one or two
populations), channel concatenation, depthwise and strided convolution, overlapping and
padded pooling and a global pool before the readout.
"""
from __future__ import annotations

import numpy as np

from neurodeploy.ir.graph import Graph, Schedule
from neurodeploy.ir.nodes import (
    CompareMode,
    Concat,
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


def _population(rng: np.random.Generator, name: str, sources: tuple[str, ...] | str,
                shape: tuple[int, ...], reset: ResetMode, compare: CompareMode, per_neuron: bool,
                theta_range: tuple[int, int] = (8, 300)) -> IFPopulation:
    if per_neuron:
        theta = rng.integers(*theta_range, size=shape)
    else:
        theta = np.full(shape, int(rng.integers(*theta_range)))
    v0 = theta // 2 if reset == "subtract" else np.zeros(shape, np.int64)
    return IFPopulation(name=name, sources=sources, shape=shape, threshold=theta, v0=v0,
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


class _DagBuilder:
    """Accumulates nodes with unique names and tracks each node's CHW shape."""

    def __init__(self, rng: np.random.Generator, reset: ResetMode, compare: CompareMode,
                 weight_exps: tuple[int, int]) -> None:
        self.rng, self.reset, self.compare, self.weight_exps = rng, reset, compare, weight_exps
        self.nodes: list[Node] = []
        self.shape: dict[str, tuple[int, ...]] = {}
        self.count = 0

    def add(self, node: Node, shape: tuple[int, ...]) -> str:
        self.nodes.append(node)
        self.shape[node.name] = shape
        return node.name

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def conv(self, src: str, c_out: int, k: int, stride: int, groups: int = 1) -> tuple[str, tuple[int, ...]]:
        c, h, w = self.shape[src]
        pad = k // 2
        weight = self.rng.integers(-128, 128, size=(c_out, c // groups, k, k))
        weight[self.rng.random(weight.shape) < 0.2] = 0
        exp = int(self.rng.integers(self.weight_exps[0], self.weight_exps[1] + 1))
        node = Conv(self.fresh("conv"), src, weight, stride=stride, padding=pad, weight_exp=exp, groups=groups)
        shape = node.out_shape([(c, h, w)])
        return self.add(node, shape), shape

    def population(self, synapses: list[str], shape: tuple[int, ...]) -> str:
        pop = _population(self.rng, self.fresh("if"), tuple(synapses), shape, self.reset, self.compare,
                          True, theta_range=(40, 600))
        return self.add(pop, shape)


def random_dag(seed: int, input_shape: tuple[int, int, int] = (2, 8, 8), n_out: int = 4,
               blocks: int = 3, input_bits: int = 4, reset: ResetMode = "subtract",
               compare: CompareMode = ">=", schedule: Schedule = Schedule(),
               weight_exps: tuple[int, int] = (-1, 1)) -> Graph:
    """A random residual/concat network: stem conv, ``blocks`` random blocks, global pool, dense.

    Block kinds: *residual* (one or two convs on the main path, a 1x1 or identity-weight
    shortcut from the block input into the same population, optionally strided), *concat*
    (two branches of different depth concatenated, then a 1x1 conv), *depthwise* (3x3 with
    ``groups = C`` then pointwise) and *pool* (3x3 overlapping, stride 2, padding 1)."""
    rng = np.random.default_rng(seed)
    b = _DagBuilder(rng, reset, compare, weight_exps)
    b.add(Input("input", input_shape, bits=input_bits, scale=1.0 / (1 << input_bits)), input_shape)
    syn, shape = b.conv("input", int(rng.integers(2, 5)), 3, 1)
    x = b.population([syn], shape)
    for _ in range(blocks):
        kind = rng.choice(["residual", "concat", "depthwise", "pool"])
        c, h, _w = b.shape[x]
        if kind == "residual":
            stride = 2 if h >= 4 and rng.random() < 0.4 else 1
            c_out = int(rng.integers(2, 6))
            s1, sh1 = b.conv(x, c_out, 3, stride)
            main = b.population([s1], sh1)
            if rng.random() < 0.5:
                s_mid, sh_mid = b.conv(main, c_out, 3, 1)
                main = b.population([s_mid], sh_mid)
            s2, sh2 = b.conv(main, c_out, 3, 1)
            short, _ = b.conv(x, c_out, 1, stride)
            x = b.population([s2, short], sh2)
        elif kind == "concat":
            s1, sh1 = b.conv(x, int(rng.integers(1, 4)), 3, 1)
            a = b.population([s1], sh1)
            s2, sh2 = b.conv(a, int(rng.integers(1, 4)), 3, 1)
            deep = b.population([s2], sh2)
            cat = b.add(Concat(b.fresh("cat"), (x, deep)), (c + sh2[0], sh2[1], sh2[2]))
            s3, sh3 = b.conv(cat, int(rng.integers(2, 5)), 1, 1)
            x = b.population([s3], sh3)
        elif kind == "depthwise":
            s1, sh1 = b.conv(x, c, 3, 1, groups=c)
            dw = b.population([s1], sh1)
            s2, sh2 = b.conv(dw, int(rng.integers(2, 5)), 1, 1)
            x = b.population([s2], sh2)
        elif h >= 3:
            pool = SumPool(b.fresh("pool"), x, kernel=3, stride=2, padding=1)
            p = b.add(pool, pool.out_shape([b.shape[x]]))
            s1, sh1 = b.conv(p, int(rng.integers(2, 5)), 3, 1)
            x = b.population([s1], sh1)
    c, h, w = b.shape[x]
    gp = b.add(SumPool(b.fresh("gpool"), x, kernel=(h, w)), (c, 1, 1))
    flat = b.add(Flatten(b.fresh("flat"), gp), (c,))
    wd = rng.integers(-128, 128, size=(n_out, c))
    fc = b.add(Dense(b.fresh("fc"), flat, wd, weight_exp=0), (n_out,))
    b.add(Readout("out", (fc,), (n_out,), bias_mant=rng.integers(-8, 9, n_out)), (n_out,))
    return Graph(tuple(b.nodes), schedule=schedule, meta={"origin": f"random_dag(seed={seed})"})


def random_inputs(graph: Graph, batch: int, seed: int) -> np.ndarray:
    """Uniform random integer inputs of the graph's input type, shape (batch, *input.shape)."""
    rng = np.random.default_rng(seed)
    inp = graph.input
    return rng.integers(0, inp.value_t.hi + 1, size=(batch, *inp.shape))
