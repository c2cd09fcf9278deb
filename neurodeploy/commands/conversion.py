"""``convert``: a QAT checkpoint (or, with ``--from-float``, a float ANN) to the integer IR."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from neurodeploy.commands.common import DATA_OPT, JSON_OPT, POSITIVE, dataset_option, emit, friendly, warn_stderr


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Graph folder to write.")
@click.option("--neuron", type=click.Choice(["subtract", "zero"]), default="subtract", show_default=True,
              help="subtract: reset by subtraction, fire on >= (custom Lava process); "
                   "zero: reset to zero, fire on > (Lava's stock LIF).")
@click.option("--method", type=click.Choice(["qcfs", "nq", "srp", "spikeconverter"]), default="qcfs",
              show_default=True, help="Inference schedule: plain IF (qcfs, nq), SRP pre-simulation, "
                                      "or SpikeConverter two-phase windows.")
@click.option("--tau", type=POSITIVE, default=4, show_default=True, help="SRP pre-simulation steps.")
@click.option("--target", default="cpu", show_default=True,
              help="Target whose integer formats bound the mapping (see `neurodeploy targets`); "
                   "recorded in the graph, so `verify/build --target lava` run its process.  With "
                   "--neuron zero the default is lava-sim-lif.")
@click.option("--from-float", "from_float", default=None, metavar="MODEL",
              help="Float-ANN route (no QAT): float zoo name (bn_cnn) or module:function factory "
                   "returning an nn.Module; replaces CHECKPOINT.")
@click.option("--state-dict", type=click.Path(path_type=Path), default=None,
              help="state_dict file for --from-float (torch.load weights_only=True).")
@click.option("--threshold", type=click.Choice(["max", "percentile", "mmse"]), default="mmse", show_default=True,
              help="--from-float: per-layer threshold from ANN activations.")
@click.option("--calibrate", type=click.Choice(["none", "light", "advanced"]), default="none", show_default=True,
              help="--from-float: none, light (bias calibration) or advanced (potential calibration), "
                   "run through the bit-exact CPU simulator.")
@click.option("--calib-samples", type=POSITIVE, default=1024, show_default=True,
              help="--from-float: training images used for thresholds and calibration.")
@click.option("--steps", type=POSITIVE, default=32, show_default=True,
              help="--from-float: T used by the MMSE search and the calibration runs.")
@click.option("--maxpool-to-avgpool", is_flag=True,
              help="--from-float: replace MaxPool2d by AvgPool2d (changes the function; reported).")
@dataset_option(None)
@DATA_OPT
@JSON_OPT
@friendly
def convert(checkpoint: Path | None, out: Path, neuron: str, method: str, tau: int, target: str,
            from_float: str | None, state_dict: Path | None, threshold: str, calibrate: str,
            calib_samples: int, steps: int, maxpool_to_avgpool: bool, dataset: str | None,
            data_dir: Path | None, as_json: bool) -> None:
    """Map a QAT checkpoint (or, with --from-float, a float ANN) to the integer IR.

    \b
    The checkpoint's own model (zoo name or module:function) is rebuilt and traced with
    torch.fx: residual adds, concatenation, depthwise convolutions and pooling become a DAG.
    Float route (Li et al., arXiv 2205.10121), e.g.:
      neurodeploy convert --from-float bn_cnn --state-dict runs/float/model.pt \\
          --threshold mmse --calibrate advanced --steps 32 --out runs/graph_float
    """
    from neurodeploy.pipeline import save_converted

    if neuron == "zero" and target == "cpu":
        target = "lava-sim-lif"
        warn_stderr("--neuron zero: converting for target lava-sim-lif (Lava's stock LIF); "
                    "pass --target to choose another")
    extra: dict[str, Any] = {}
    if from_float is not None:
        if checkpoint is not None:
            raise click.UsageError("give either CHECKPOINT or --from-float, not both")
        if method != "qcfs":
            raise click.UsageError("--from-float supports only the plain schedule (--method qcfs)")
        from neurodeploy.convert.float_route import convert_float

        res = convert_float(from_float, state_dict, threshold=threshold, calibrate=calibrate,
                            calib_samples=calib_samples, steps=steps, target=target, neuron=neuron,
                            maxpool_to_avgpool=maxpool_to_avgpool, data_dir=data_dir,
                            **({"dataset": dataset} if dataset else {}))
        graph, report, extra = res.graph, res.report, {"float_route": res.info}
        for note in res.info.get("notes", []):
            click.echo(f"warning: {note}", err=True)
    else:
        if checkpoint is None:
            raise click.UsageError("missing CHECKPOINT (or use --from-float MODEL)")
        from neurodeploy.pipeline import check_against_ann, convert_checkpoint

        graph, report = convert_checkpoint(checkpoint, target=target, neuron=neuron, method=method, tau=tau)
        extra = {"ann_check": check_against_ann(graph, checkpoint, data_dir=data_dir, dataset=dataset)}
    inputs = tuple(p for p in (checkpoint, state_dict) if p is not None)
    save_converted(graph, report, out, extra=extra or None, inputs=inputs)
    doc = {"graph": str(out), **report.to_json(), **extra}
    emit(doc, as_json, _summary(out, report, extra.get("ann_check")))


def _summary(out: Path, report: Any, check: dict[str, Any] | None) -> str:
    mapping = "exact mapping" if report.exact else "INEXACT mapping: see errors"
    lines = [f"wrote {out} ({mapping})"]
    for row in report.summary_rows():
        lines.append("  " + row)
    if check:
        verdict = "EXACT" if check["exact"] else "NOT EXACT"
        lines.append(f"integer reference vs Brevitas ANN on {check['samples']} {check['split']} samples "
                     f"({check['neuron']} neurons): {verdict}; predictions agree on "
                     f"{100 * check['prediction_agreement']:.2f}%, counts on "
                     f"{100 * check['count_agreement']:.2f}%" + (f" — {check['why']}" if check.get("why") else ""))
    return "\n".join(lines)
