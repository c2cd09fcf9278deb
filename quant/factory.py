"""Model factories: a zoo name or a user's ``"module:function"``, called with JSON-able keyword arguments.

A user's own network is named ``"package.module:function"``.  The module is imported with the current working
directory prepended to ``sys.path`` for that import only (so ``mynets.py`` next to where ``neurodeploy`` runs
is found, as ``python -m`` would find it), and ``function(**kwargs)`` must return an ``nn.Module``.  Every
failure (malformed name, module or function missing, a standard-library target, the factory raising, a result
that is not a module) becomes one ``ValueError`` line that names the factory.

A checkpoint's ``config.json`` names its factory, so loading one imports and calls code from your import
path: load checkpoints whose factory module you trust.  Standard-library callables (``os:system``,
``subprocess:run`` ...) are refused outright; they are never model factories.
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

__all__ = ["resolve_factory", "call_factory", "accepts_kwarg", "is_factory_spec"]

Factory = Callable[..., nn.Module]
_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def is_factory_spec(spec: str) -> bool:
    """True when ``spec`` has the ``module:function`` form (dotted names on both sides)."""
    return bool(_SPEC.match(spec))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _import_from_cwd(module_name: str) -> Any:
    """Import ``module_name`` with the working directory searched first (for this import only)."""
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        importlib.invalidate_caches()
        return importlib.import_module(module_name)
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def resolve_factory(spec: str, zoo: Mapping[str, Factory]) -> Factory:
    """The callable named by ``spec``: an entry of ``zoo`` or a ``module:function`` factory."""
    if isinstance(spec, str) and spec in zoo:
        return zoo[spec]
    if not isinstance(spec, str) or not is_factory_spec(spec):
        raise ValueError(f"unknown model name {spec!r}; known: {sorted(zoo)}, or give a module:function factory")
    module_name, attr_path = spec.split(":", 1)
    top = module_name.split(".", 1)[0]
    if top in sys.stdlib_module_names or top == "builtins":
        raise ValueError(f"model factory {spec!r}: {top!r} is a standard-library module, not a model factory")
    try:
        obj: Any = _import_from_cwd(module_name)
    except ImportError as exc:
        raise ValueError(f"model factory {spec!r}: cannot import {module_name!r} ({_one_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - any error raised while executing the user's module
        raise ValueError(f"model factory {spec!r}: importing {module_name!r} failed ({_one_line(exc)})") from None
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"model factory {spec!r}: module {module_name!r} has no attribute {attr_path!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"model factory {spec!r}: {attr_path!r} is a {type(obj).__name__}, not callable")
    return obj


def call_factory(spec: str, factory: Factory, kwargs: Mapping[str, Any]) -> nn.Module:
    """``factory(**kwargs)``, checked to be an ``nn.Module``; failures become a one-line ``ValueError``."""
    try:
        model = factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the factory is arbitrary user code
        raise ValueError(f"model factory {spec!r} failed with {dict(kwargs)!r}: {_one_line(exc)}") from None
    if not isinstance(model, nn.Module):
        raise ValueError(f"model factory {spec!r} returned {type(model).__name__}, expected a torch nn.Module")
    return model


def accepts_kwarg(factory: Factory, name: str) -> bool:
    """True when ``factory`` takes a keyword argument ``name`` (explicitly or through ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    if name in params and params[name].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                 inspect.Parameter.KEYWORD_ONLY):
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
