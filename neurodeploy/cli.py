"""The ``neurodeploy`` command line: train -> convert -> build -> eval / verify.

Each command parses its options, calls one library function and prints (``--json`` for
scripts).  Errors are one line naming the layer, field, option or file, with exit status 1
(2 for usage errors); see :mod:`neurodeploy.commands.common`.
"""
from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from neurodeploy import __version__
from neurodeploy.commands.bundle import check_bundle
from neurodeploy.commands.conversion import convert
from neurodeploy.commands.info import inspect, targets
from neurodeploy.commands.interop import export
from neurodeploy.commands.reporting import report, stats
from neurodeploy.commands.running import build, eval_cmd, raster, verify
from neurodeploy.commands.training import train, train_float


INTERNAL_ERROR = 3


class _Group(click.Group):
    """Expected failures are one-line errors (exit 1, usage 2); anything else is a bug in
    neurodeploy: one line saying so (exit 3), the traceback only with ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence, reported as a bug
            if ctx.params.get("debug"):
                traceback.print_exc()
            else:
                click.echo(f"internal error (a bug in neurodeploy, please report it): {type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''} — rerun with --debug for the traceback",
                           err=True)
            sys.exit(INTERNAL_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neurodeploy")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
def main(debug: bool) -> None:
    """Quantization-aware training to bit-exact integer spiking networks.

    Exit status: 0 success; 1 a refused artifact, a failed check or a failed verification (one line
    naming the file, layer, field or option); 2 a usage error; 3 an internal error (a bug).

    \b
    Typical flow (sklearn digits):
      neurodeploy train --model resnet --dataset digits --out runs/ckpt
      neurodeploy convert runs/ckpt --out runs/graph
      neurodeploy inspect runs/graph
      neurodeploy eval runs/graph --checkpoint runs/ckpt --steps 1,2,4,8
      neurodeploy build runs/graph --target lava --out runs/bundle
      neurodeploy verify runs/graph --target lava --samples 50
    """


for _command in (train, train_float, convert, inspect, eval_cmd, build, verify, raster, check_bundle, targets):
    main.add_command(_command)
main.add_command(export)
main.add_command(stats)
main.add_command(report)


if __name__ == "__main__":  # pragma: no cover
    main()
