"""The typed integer IR: nodes, graph, schedule, serialization and invariants."""
from neurodeploy.ir.dtypes import IntT, IRError, shift
from neurodeploy.ir.graph import FORMAT_VERSION, Graph, Schedule, infer_shapes
from neurodeploy.ir.nodes import (
    STATE_T,
    WEIGHT_T,
    Concat,
    Conv,
    Dense,
    Flatten,
    IFPopulation,
    Input,
    Node,
    Readout,
    SumPool,
)
from neurodeploy.ir.serialize import load_graph, save_graph
from neurodeploy.ir.verify import accumulator_bound, value_bounds, verify_graph

__all__ = [
    "FORMAT_VERSION", "STATE_T", "WEIGHT_T", "Concat", "Conv", "Dense", "Flatten", "Graph", "IFPopulation",
    "IRError", "Input", "IntT", "Node", "Readout", "Schedule", "SumPool", "accumulator_bound",
    "infer_shapes", "load_graph", "save_graph", "shift", "value_bounds", "verify_graph",
]
