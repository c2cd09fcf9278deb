"""Float-ANN route: a PyTorch model trained *without* QAT -> :class:`FloatNetwork`.

Any traceable ``nn.Module`` (``nn.Sequential``, ResNet-style ``forward`` with ``+`` and
``torch.cat``, ...) is walked by the shared fx walker (:mod:`neurodeploy.convert.fx_walker`;
supported operations in :mod:`neurodeploy.convert.fx_rules`).  Route-specific: a ReLU
(``nn.ReLU``, ``F.relu``, ``torch.relu``, ``.relu()``) becomes a population whose threshold is
left NaN until a calibration pass sets it (:mod:`neurodeploy.calibrate.threshold`); BatchNorm is
folded (:func:`neurodeploy.convert.batchnorm.fold_batchnorm`).  ``MaxPool2d`` is refused, or
replaced by an average pool of the same window when ``maxpool_to_avgpool=True`` (recorded in the
returned notes and in ``FloatNetwork.meta``; this changes the function the network computes).

Every hidden population gets ``v0_fraction = 1/2``: this is how we realise CAL's per-step shift
``theta/(2T)`` (Li et al., arXiv 2205.10121): its total over T steps is ``theta/2``, so we put it
in the initial potential instead of the bias (same spike count for constant drive, no extra bias
rounding, exact integer ``Theta/2`` for ``Theta = 2**k``).

torch is imported inside the functions, never at module import.
"""
from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

from neurodeploy.convert.fx_ops import UnsupportedLayerError
from neurodeploy.convert.fx_rules import is_relu
from neurodeploy.convert.fx_walker import Activation, Route, walk
from neurodeploy.convert.stages import FloatNetwork, InputSpec

__all__ = ["StateDictError", "UnsupportedLayerError", "build_float_factory", "float_activation", "load_float_model",
           "load_state", "network_from_float"]


class StateDictError(ValueError):
    """A state_dict that does not fit the model (the message names the key)."""


def float_activation(obj: Any) -> Activation | str | None:
    """ReLU -> population with threshold NaN (set by calibration) and ``v0 = theta/2``."""
    from neurodeploy.quant.qcfs import QCFS

    if is_relu(obj):
        return Activation(math.nan, 0.5)
    if isinstance(obj, QCFS):
        return "QCFS is a QAT activation; convert the checkpoint without --from-float"
    return None


def network_from_float(model: Any, input_spec: InputSpec, meta: dict[str, str] | None = None, *,
                       maxpool_to_avgpool: bool = False) -> tuple[FloatNetwork, list[str]]:
    """Walk ``model`` into a :class:`FloatNetwork` (thresholds NaN) and a list of notes.

    Raises :class:`UnsupportedLayerError` (one line naming the fx node) for anything it cannot map.
    """
    route = Route("float", float_activation, maxpool_to_avgpool=maxpool_to_avgpool, meta={"route": "float"})
    res = walk(model, input_spec, route, meta)
    return res.network, res.notes


def build_float_factory(spec: str) -> Any:
    """A model from a float zoo name (``bn_cnn``) or a ``package.module:function`` factory (imported as
    :func:`neurodeploy.quant.factory.resolve_factory` does, from the working directory too)."""
    from neurodeploy.convert.float_zoo import FLOAT_ZOO
    from neurodeploy.quant.factory import call_factory, resolve_factory

    zoo = {name: (lambda make=make: make()) for name, make in FLOAT_ZOO.items()}
    try:
        factory = resolve_factory(spec, zoo)
        return call_factory(spec, factory, {})
    except ValueError as exc:
        raise ValueError(f"--from-float {spec!r}: {exc}") from None


def load_state(model: Any, path: str | Path) -> Any:
    """Load ``path`` (a state_dict, ``weights_only=True``) into ``model``; errors name the key."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"state_dict {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        raise StateDictError(f"state_dict {path}: cannot be read with weights_only=True ({exc})") from None
    if not isinstance(state, dict):
        raise StateDictError(f"state_dict {path}: expected a dict of tensors, got {type(state).__name__}")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing:
        raise StateDictError(f"state_dict {path}: missing key {missing[0]!r} ({len(missing)} missing)")
    if unexpected:
        raise StateDictError(f"state_dict {path}: unexpected key {unexpected[0]!r} ({len(unexpected)} unexpected)")
    for key, value in own.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise StateDictError(f"state_dict {path}: key {key!r} has shape {tuple(state[key].shape)}, "
                                 f"the model expects {tuple(value.shape)}")
    model.load_state_dict(state)
    model.eval()
    return model


def load_float_model(spec: str, state_dict: str | Path | None) -> Any:
    """Factory (zoo name or ``module:function``) plus optional state_dict file, in eval mode."""
    model = build_float_factory(spec)
    if state_dict is not None:
        load_state(model, state_dict)
    model.eval()
    return model
