"""Two helpers the examples share: a run folder that is safe to recreate, and the CLI run in-process.

``neurodeploy("train", "--dataset", "mnist", ...)`` does what typing ``neurodeploy train --dataset mnist ...``
in a shell does (same parser, same code, same output), but in this Python process, so torch and Lava are
imported once for the whole example instead of once per command.
"""
from __future__ import annotations

import contextlib
import io
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fresh_run_folder(path: Path, script: str) -> Path:
    """An empty run folder; only a folder an example created earlier (it holds a marker) is removed."""
    path = path.resolve()
    marker = path / ".example-run"
    if path.exists() and marker.is_file():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=False)
    marker.write_text(f"created by examples/{script}\n")
    return path


def neurodeploy(*args: str, echo: bool = False) -> str:
    """Run ``neurodeploy ARGS`` in this process and return what it printed (``echo``: print it too).

    A failing command stops the example with the command's one-line error, as the shell would show it."""
    import click

    from neurodeploy.cli import main

    print("$ neurodeploy", " ".join(args), flush=True)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            main.main(list(args), prog_name="neurodeploy", standalone_mode=False)
    except click.ClickException as exc:
        sys.exit(f"neurodeploy {args[0]} failed: {exc.format_message()}")
    if echo:
        print(out.getvalue(), end="", flush=True)
    return out.getvalue()
