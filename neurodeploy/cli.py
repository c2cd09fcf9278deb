"""The ``neurodeploy`` command line: train -> convert -> build -> eval / verify.

Each command parses its options, calls one library function and prints (``--json`` for
scripts).  Errors are one line naming the layer, field, option or file, with exit status 1
(2 for usage errors); see :mod:`neurodeploy.commands.common`.
"""
from __future__ import annotations

import click

from neurodeploy import __version__
from neurodeploy.commands.bundle import check_bundle
from neurodeploy.commands.conversion import convert
from neurodeploy.commands.info import inspect, targets
from neurodeploy.commands.running import build, eval_cmd, raster, verify
from neurodeploy.commands.training import train, train_float


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neurodeploy")
def main() -> None:
    """Quantization-aware training to bit-exact integer spiking networks.

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


if __name__ == "__main__":  # pragma: no cover
    main()
