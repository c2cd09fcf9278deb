"""Options, error handling and output shared by every command.

Exit codes: 0 success; 1 a refused artifact, a failed check or a failed verification (one
line on stderr naming the file, layer, field or option); 2 a usage error (click's own).
An unexpected exception is a bug: it is reported as such, with the traceback under ``--debug``.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from neurodeploy.ir.graph import Graph

EXPECTED_ERRORS = (ValueError, FileNotFoundError, KeyError, OSError, ImportError)
POSITIVE = click.IntRange(min=1)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one-line errors with exit status 1."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except EXPECTED_ERRORS as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise click.ClickException(msg) from None
    return wrapper


def emit(payload: dict[str, Any], as_json: bool, text: str) -> None:
    """Print ``payload`` as JSON (``--json``) or ``text``."""
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str) if as_json else text)


def parse_steps(text: str) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]`` (sorted, unique, each >= 1)."""
    try:
        steps = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not steps or steps[0] < 1:
        raise click.BadParameter("time steps must be >= 1")
    return steps


def backend_for(graph: Graph, target: str) -> Any:
    """The backend object for ``--target``; ``lava`` runs the process of the graph's own target
    (``lava-sim-lif`` graphs on Lava's stock LIF, every other graph on the SubIF process)."""
    if target == "lava":
        from neurodeploy.backends.lava.backend import LavaBackend
        from neurodeploy.targets import LAVA_SIM_SUBIF, TARGETS

        named = TARGETS.get(graph.meta.get("target", ""))
        return LavaBackend(named if named is not None and named.lava_neuron == "lif" else LAVA_SIM_SUBIF)
    from neurodeploy.backends.registry import get_backend
    return get_backend(target)


GRAPH_ARG = click.argument("graph_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
JSON_OPT = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
DATA_OPT = click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                        help="Folder with the four MNIST IDX files (default: ../shared/data/mnist).")
