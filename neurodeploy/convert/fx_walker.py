"""One torch.fx walker for both routes: any traceable ``nn.Module`` -> :class:`FloatNetwork`.

The module is traced with :class:`ConvertTracer`, whose leaves are torch.nn layers, every
Brevitas module (``QuantConv2d``/``QuantLinear`` are read back exactly as ``q * 2**e``) and
:class:`~neurodeploy.quant.qcfs.QCFS`.  Plain ``torch.fx`` suffices: Brevitas layers are kept
opaque, so ``brevitas.fx`` is not needed.  Each fx value is tracked as either

* a **spike tensor** (:class:`Spikes`): the input, an activation's output, or a pool /
  flatten / channel concatenation of those; or
* a **pending linear sum** (:class:`Pending`): synapse terms ``sum_i (W_i (*) s_i + b_i)``
  not yet passed through an activation.

Rules: a conv/linear on a spike tensor starts a sum (on a pending sum: "two synapses without
an activation"); BatchNorm folds into a sum; ``+`` concatenates term lists (a spike operand
becomes an identity synapse); an activation (route-specific: QCFS, or ReLU on the float route)
turns a sum into a population; the traced output must be a sum (the readout).  Anything else
stops with one :class:`UnsupportedLayerError` line naming the fx node, its target and module.
Operator handlers live in :mod:`neurodeploy.convert.fx_rules`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from neurodeploy.convert.fx_ops import UnsupportedLayerError
from neurodeploy.convert.stages import INPUT, FloatNetwork, FloatNode, FloatPopulation, FloatSynapse, InputSpec, TensorOp


@dataclass(frozen=True)
class Spikes:
    """A spike tensor (or the Input) named ``name`` in the FloatNetwork, per-sample ``shape``."""

    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Pending:
    """A pre-activation sum of synapse terms (names are assigned when a population is made)."""

    terms: tuple[FloatSynapse, ...]
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Activation:
    """What a route's activation means: clip level ``threshold`` (NaN: set by calibration),
    initial potential fraction ``v0_fraction`` and quantisation ``levels`` (0: none)."""

    threshold: float
    v0_fraction: float
    levels: int = 0


ActivationRule = Callable[[Any], "Activation | str | None"]
"""Module, function or method name -> Activation, a refusal reason (str), or None (not one)."""


@dataclass(frozen=True)
class Route:
    """Route-specific choices: the activation rule and the MaxPool policy."""

    name: str
    activation: ActivationRule
    maxpool_to_avgpool: bool = False
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class WalkResult:
    """The network, the traced module, and which fx node became which population."""

    network: FloatNetwork
    graph_module: Any
    populations: dict[str, str]            # fx node name -> population name
    notes: list[str]


def _is_leaf(module: Any) -> bool:
    from neurodeploy.quant.qcfs import QCFS

    return isinstance(module, QCFS) or type(module).__module__.startswith("brevitas.")


def trace(model: Any) -> Any:
    """``torch.fx.GraphModule`` of ``model`` with :class:`ConvertTracer`; one-line error if untraceable."""
    from torch import fx

    class ConvertTracer(fx.Tracer):
        """torch.fx tracer whose leaves include Brevitas layers and QCFS."""

        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return _is_leaf(m) or super().is_leaf_module(m, qualname)

    try:
        graph = ConvertTracer().trace(model)
    except (fx.proxy.TraceError, TypeError, RuntimeError, NotImplementedError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsupportedLayerError(f"model ({type(model).__name__}): torch.fx cannot trace it: {first}") from None
    return fx.GraphModule(model, graph)


class Walker:
    """State of one walk: values per fx node, FloatNetwork nodes so far, counters, notes."""

    def __init__(self, gm: Any, input_spec: InputSpec, route: Route) -> None:
        self.gm, self.spec, self.route = gm, input_spec, route
        self.env: dict[str, Any] = {}
        self.nodes: list[FloatNode] = []
        self.populations: dict[str, str] = {}
        self.levels: set[int] = set()
        self.notes: list[str] = []
        self.counters: dict[str, int] = {}
        self.n_pops = 0
        self.node: Any = None

    # -- errors and naming -------------------------------------------------------------
    def where(self, node: Any) -> str:
        """``target (Class; fx node name)`` for modules, ``name (function; in module m)`` otherwise."""
        if node.op == "call_module":
            return f"{node.target} ({type(self.gm.get_submodule(node.target)).__name__}; fx node {node.name})"
        what = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
        what = f".{what}()" if node.op == "call_method" else what
        stack = node.meta.get("nn_module_stack") or {}
        module = f"; in module {list(stack)[-1]}" if stack else ""
        return f"{node.name} ({what}{module})"

    def fail(self, reason: str) -> UnsupportedLayerError:
        text = " ".join(str(reason).split())
        return UnsupportedLayerError(f"{self.where(self.node)}: {text}")

    def fresh(self, kind: str) -> str:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return f"{kind}{self.counters[kind]}"

    def module_path(self) -> str:
        if self.node.op == "call_module":
            return str(self.node.target)
        stack = self.node.meta.get("nn_module_stack") or {}
        return list(stack)[-1] if stack else ""

    # -- value helpers -------------------------------------------------------------------
    def value(self, arg: Any) -> Any:
        from torch import fx

        if isinstance(arg, fx.Node):
            return self.env[arg.name]
        if isinstance(arg, list):
            return [self.value(a) for a in arg]
        if isinstance(arg, tuple):
            return tuple(self.value(a) for a in arg)
        return arg

    def spikes(self, v: Any, what: str) -> Spikes:
        if isinstance(v, Pending):
            raise self.fail(f"{what} of a synapse output before its activation is not representable "
                            "(two synapses without an activation, or an op between a synapse and its activation)")
        if not isinstance(v, Spikes):
            raise self.fail(f"{what} needs a tensor, got {v!r}")
        return v

    def tensor_op(self, op: str, sources: tuple[str, ...], shape: tuple[int, ...], **window: Any) -> Spikes:
        name = self.fresh(op)
        self.nodes.append(TensorOp(name, op, sources, module=self.module_path(),  # type: ignore[arg-type]
                                   meta={"fx_node": self.node.name}, **window))
        return Spikes(name, shape)

    def identity(self, v: Spikes) -> FloatSynapse:
        """Identity synapse from spike tensor ``v`` (1x1 conv for CHW, dense for 1-D)."""
        c = v.shape[0]
        eye = np.eye(c)
        kind = "conv" if len(v.shape) == 3 else "dense"
        weight = eye.reshape(c, c, 1, 1) if kind == "conv" else eye
        return FloatSynapse("", kind, v.name, weight, np.zeros(c), identity=True,  # type: ignore[arg-type]
                            meta={"shortcut": self.node.name})

    def terms(self, v: Any) -> tuple[tuple[FloatSynapse, ...], tuple[int, ...]]:
        if isinstance(v, Pending):
            return v.terms, v.shape
        return (self.identity(self.spikes(v, "addition")),), self.spikes(v, "addition").shape

    # -- populations -----------------------------------------------------------------------
    def populate(self, v: Any, act: Activation | None) -> Spikes | None:
        """Close pending sum ``v`` into a population (``act``) or the readout (``None``)."""
        if not isinstance(v, Pending):
            raise self.fail("an activation/readout needs a conv/linear output before it "
                            "(got a spike tensor: activation without a preceding synapse)")
        self.n_pops += 1
        stem = ("conv" if v.terms[0].kind == "conv" else "fc") + str(self.n_pops)
        syns = tuple(replace(t, name=f"{stem}_syn" if k == 0 else f"{stem}_syn{k + 1}")
                     for k, t in enumerate(v.terms))
        meta = {"fx_node": self.node.name, "activation": self.module_path(), "source_layer": syns[0].module}
        if act is None:
            self.nodes.append(FloatPopulation(f"{stem}_out", syns, None, module="", meta=meta))
            return None
        if act.levels:
            self.levels.add(act.levels)
        name = f"{stem}_if"
        self.nodes.append(FloatPopulation(name, syns, act.threshold, act.v0_fraction, module=self.module_path(),
                                          meta=meta))
        self.populations[self.node.name] = name
        return Spikes(name, v.shape)

    # -- main loop ---------------------------------------------------------------------------
    def run(self, meta: dict[str, str]) -> FloatNetwork:
        from neurodeploy.convert.fx_rules import dispatch

        seen_input = False
        for node in self.gm.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                if seen_input:
                    raise self.fail("a second input; only single-input networks are supported")
                seen_input = True
                self.env[node.name] = Spikes(INPUT, tuple(self.spec.shape))
            elif node.op == "output":
                out = self.value(node.args[0])
                if isinstance(out, (tuple, list, dict)):
                    raise self.fail("the network must return one tensor (the readout logits)")
                if isinstance(out, Spikes):
                    raise self.fail("the output is a spike tensor; the last layer must be a conv/linear "
                                    "readout without activation")
                self.populate(out, None)
            elif node.op == "get_attr":
                raise self.fail("reads a parameter or buffer directly; only module calls are mapped")
            else:
                self.env[node.name] = dispatch(self, node)
        if len(self.levels) > 1:
            raise UnsupportedLayerError(f"model: all QCFS layers must share one level count, got {sorted(self.levels)}")
        full_meta = {**meta, **self.route.meta}
        if self.notes:
            full_meta["maxpool_to_avgpool"] = "; ".join(self.notes)
        levels = self.levels.pop() if self.levels else 0
        return FloatNetwork(self.spec, tuple(self.nodes), levels=levels, meta=full_meta)


def walk(model: Any, input_spec: InputSpec, route: Route, meta: dict[str, str] | None = None) -> WalkResult:
    """Trace ``model`` and map it to a :class:`FloatNetwork` (see the module docstring)."""
    gm = trace(model)
    walker = Walker(gm, input_spec, route)
    net = walker.run(dict(meta or {}))
    return WalkResult(net, gm, walker.populations, walker.notes)

