"""Hand-built tiny networks whose counts the report tests work out by hand, and a random CNN that
reads sklearn digits (so the CLI can load its test set)."""
from __future__ import annotations

import dataclasses

import numpy as np

from neurodeploy.data.digits import DIGITS_INPUT_BITS, DIGITS_INPUT_SCALE
from neurodeploy.ir import Conv, Dense, Flatten, Graph, IFPopulation, Input, Readout, SumPool
from neurodeploy.ir.random_graph import random_cnn


def dense_net() -> Graph:
    """input(2) -> fc1 [[2,0],[1,5],[0,0]] -> if1 (theta 4, v0 2) -> fc2 [[1,1,3],[0,-2,0]] -> readout(2)."""
    inp = Input("input", (2,), bits=4)
    fc1 = Dense("fc1", "input", np.array([[2, 0], [1, 5], [0, 0]]))
    if1 = IFPopulation("if1", "fc1", (3,), threshold=4, v0=2, bias_mant=0)
    fc2 = Dense("fc2", "if1", np.array([[1, 1, 3], [0, -2, 0]]))
    return Graph((inp, fc1, if1, fc2, Readout("out", "fc2", (2,), bias_mant=0)), meta={"levels": "4"})


def conv_net() -> Graph:
    """input(1,3,3) -> conv 2x2 [[1,0],[2,3]] -> if1 (1,2,2) (theta 4, v0 2) -> sumpool 2x2 -> flatten
    -> dense [[2],[0],[5]] -> readout(3)."""
    inp = Input("input", (1, 3, 3), bits=1)
    conv = Conv("conv", "input", np.array([[[[1, 0], [2, 3]]]]))
    if1 = IFPopulation("if1", "conv", (1, 2, 2), threshold=4, v0=2, bias_mant=0)
    nodes = (inp, conv, if1, SumPool("pool", "if1", kernel=2), Flatten("flat", "pool"),
             Dense("fc", "flat", np.array([[2], [0], [5]])), Readout("out", "fc", (3,), bias_mant=0))
    return Graph(nodes, meta={"levels": "4"})


def digits_cnn(seed: int = 0) -> Graph:
    """A random conv-IF-pool-conv-IF-dense network on the 1x8x8 digits input (5-bit, scale 1/16)."""
    g = random_cnn(seed, input_shape=(1, 8, 8), n_out=10, input_bits=DIGITS_INPUT_BITS)
    nodes = [dataclasses.replace(n, scale=DIGITS_INPUT_SCALE) if n.role == "input" else n for n in g.nodes]
    return Graph(tuple(nodes), meta={"dataset": "digits", "levels": "4"})
