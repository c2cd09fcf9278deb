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
import numpy as np

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


def dataset_option(default: str | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--dataset NAME|PATH``: a built-in name or a path to the user's own data."""
    where = (f"default: {default}" if default else "default: the dataset recorded in the graph")
    return click.option(
        "--dataset", default=default, metavar="NAME|PATH", show_default=False,
        help="digits, mnist, a folder with the four IDX files of an MNIST-format dataset, an image folder "
             f"(train/<class>/*.png, test/<class>/*) or an .npz (x_train, y_train, x_test, y_test); {where}.")


INPUT_BITS_OPT = click.option(
    "--input-bits", type=click.IntRange(1, 16), default=8, show_default=True,
    help="Bits of the integer inputs for data that is not 8-bit images (floats, wider integers): quantised "
         "with a step derived from the training set, recorded in the checkpoint.")
LIMIT_OPT = click.option("--limit", "train_limit", type=POSITIVE, default=None,
                         help="Train on a seeded random subset of N training samples (quick runs).")


def warn_stderr(message: str) -> None:
    """Print ``warning: message`` on stderr."""
    click.echo(f"warning: {message}", err=True)


def read_input(path: Path) -> np.ndarray:
    """An integer ``.npy`` array (never a pickle); floats or complex numbers are refused."""
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{path}: expected a .npy array, got an .npz archive")
    if x.dtype.kind not in "iu":
        raise ValueError(f"{path}: expected an integer array, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{path}: expected (samples, *input shape), got shape {x.shape}")
    return x


def graph_inputs(graph: Graph, dataset: str | None, data_dir: Path | None,
                 input_file: Path | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs (and labels, unless read from ``--input``) for a graph: ``--input`` if given, else the test
    set of ``--dataset`` or of the graph's recorded dataset; a fingerprint mismatch is warned about."""
    from neurodeploy.pipeline import load_test_data

    if input_file is not None:
        if dataset is not None:
            raise click.UsageError("give either --input or --dataset, not both")
        return read_input(input_file), None
    return load_test_data(graph, data_dir, dataset=dataset, warn=warn_stderr)
