"""Commands that run a graph: ``build`` (bundle), ``eval`` (accuracy), ``verify`` (backend vs
CPU simulator, zero tolerance) and ``raster`` (spike raster plot)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from neurodeploy.commands.common import (
    DATA_OPT,
    GRAPH_ARG,
    JSON_OPT,
    POSITIVE,
    backend_for,
    dataset_option,
    emit,
    friendly,
    graph_inputs,
    parse_steps,
    warn_stderr,
)
from neurodeploy.commands.training import DIST_TIMEOUT_OPT

DATASET_OPT = dataset_option(None)
INPUT_OPT = click.option(
    "--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Integer inputs as .npy, shaped (samples, *input shape), instead of a test set.")


@click.command()
@GRAPH_ARG
@click.option("--target", type=click.Choice(["cpu", "lava"]), required=True,
              help="Backend to build for; lava uses the process of the graph's own target (SubIF or stock LIF).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Bundle folder to write.")
@click.option("--steps", type=POSITIVE, default=8, show_default=True, help="T for the bundled test vectors.")
@click.option("--vectors", type=click.IntRange(min=0), default=16, show_default=True,
              help="Number of test-set samples stored as test vectors (0: random inputs).")
@click.option("--chip", default="loihi2", show_default=True,
              help="Lava only: chip whose cores the populations are mapped to (refused if it does not fit).")
@DATASET_OPT
@INPUT_OPT
@DATA_OPT
@JSON_OPT
@friendly
def build(graph_dir: Path, target: str, out: Path, steps: int, vectors: int, chip: str, dataset: str | None,
          input_file: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Check the graph against a target and write its deployment bundle (with a manifest)."""
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.manifest import MANIFEST_FILE
    from neurodeploy.targets import get_target

    graph = load_graph(graph_dir)
    backend = backend_for(graph, target)
    samples = graph_inputs(graph, dataset, data_dir, input_file)[0][:vectors] if vectors > 0 else None
    extra = {"chip": get_target(chip)} if target == "lava" else {}
    path = backend.emit(graph, out, samples=samples, steps=steps, **extra)
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    lines = [f"wrote {target} bundle {path}"]
    res = manifest.get("resources")
    if res:
        lines.append(f"{res['target']}: {res['total_cores']} of {res['available_cores']} cores")
        lines += [f"  {lu['name']:<14} {lu['neurons']:>7} neurons {lu['synapses']:>9} synapses "
                  f"{lu['cores']:>3} cores ({lu['limited_by']})" for lu in res["layers"]]
    emit({"bundle": str(path), "target": target, "resources": res}, as_json, "\n".join(lines))


@click.command(name="eval")
@GRAPH_ARG
@click.option("--checkpoint", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="QAT checkpoint to include the Brevitas ANN's accuracy and agreement.")
@click.option("--steps", default="1,2,4,8,16", show_default=True, help="Comma-separated T values.")
@click.option("--limit", type=POSITIVE, default=None, help="Use only the first N test samples.")
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Write accuracy-vs-T PNG here.")
@DATASET_OPT
@DATA_OPT
@DIST_TIMEOUT_OPT
@JSON_OPT
@friendly
def eval_cmd(graph_dir: Path, checkpoint: Path | None, steps: str, limit: int | None, plot: Path | None,
             dataset: str | None, data_dir: Path | None, dist_timeout: float, as_json: bool) -> None:
    """Accuracy of the QAT ANN, the integer reference and the SNN at each T (CPU simulator), on the
    graph's own test set (or --dataset's).

    \b
    Under torchrun (torchrun --nproc_per_node N -m neurodeploy eval ...) every rank simulates its share
    of the samples and the integer counts are summed over ranks: the output (printed and --json, by
    rank 0 only) is the single-process output bit for bit.
    """
    from neurodeploy.distributed import session
    from neurodeploy.evaluate import evaluate, format_table
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import load_test_data
    from neurodeploy.plots import plot_accuracy

    graph = load_graph(graph_dir)
    t_values = parse_steps(steps)
    with session(dist_timeout) as ctx:
        x, y = load_test_data(graph, data_dir, dataset=dataset, warn=warn_stderr if ctx.main else _silent)
        if limit:
            x, y = x[:limit], y[:limit]
        result = evaluate(graph, x, y, t_values, checkpoint=checkpoint, progress=not as_json and ctx.main,
                          context=ctx)
    if not ctx.main:
        return
    if plot:
        plot_accuracy(result, plot)
    emit(result, as_json, format_table(result))


def _silent(message: str) -> None:
    """Drop a warning (ranks other than 0 leave them to rank 0)."""


@click.command()
@GRAPH_ARG
@click.option("--target", type=click.Choice(["lava"]), default="lava", show_default=True,
              help="Backend compared with the CPU simulator; lava runs the graph's own target process.")
@click.option("--samples", type=POSITIVE, default=20, show_default=True, help="Test samples to compare.")
@click.option("--steps", type=POSITIVE, default=8, show_default=True, help="Time steps T per sample.")
@INPUT_OPT
@click.option("--evidence", type=click.Path(path_type=Path), default=None,
              help="Folder for report.json and first_divergence.npz (default: GRAPH_DIR/verify/TARGET).")
@DATASET_OPT
@DATA_OPT
@JSON_OPT
@friendly
def verify(graph_dir: Path, target: str, samples: int, steps: int, input_file: Path | None,
           evidence: Path | None, dataset: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Compare every layer's spikes and potentials, CPU simulator vs TARGET, zero tolerance."""
    from neurodeploy.harness.verify import verify_backend, write_evidence
    from neurodeploy.ir.serialize import load_graph

    graph = load_graph(graph_dir)
    x = graph_inputs(graph, dataset, data_dir, input_file)[0]
    report = verify_backend(graph, x[:samples], steps, backend=backend_for(graph, target))
    write_evidence(report, evidence or graph_dir / "verify" / target)
    doc = report.to_json()
    emit(doc, as_json, _verify_summary(doc))
    if not report.ok:
        sys.exit(1)


def _verify_summary(doc: dict[str, Any]) -> str:
    head = (f"{doc['backend']} vs CPU simulator: {doc['samples']} samples x {doc['total_steps']} steps, "
            f"{len(doc['layers'])} layers compared (spikes, v, readout; zero tolerance)")
    rows = [f"  {name:<14} mismatches {count}" for name, count in doc["mismatches"].items()]
    div = doc.get("first_divergence")
    if div:
        tail = (f"FIRST DIVERGENCE: layer {div['layer']} neuron {tuple(div['neuron'])} sample {div['sample']} "
                f"logical step {div['step'] + 1} (backend step {div['physical_step']}): expected spike "
                f"{div['expected_spike']} v {div['expected_v']}, got spike {div['actual_spike']} v {div['actual_v']}")
    else:
        tail = "BIT-EXACT: 0 mismatching spikes, potentials and readout values"
    return "\n".join([head, *rows, tail])


@click.command()
@GRAPH_ARG
@click.option("--sample", type=click.IntRange(min=0), default=0, show_default=True, help="Index into the test set.")
@click.option("--steps", type=POSITIVE, default=8, show_default=True, help="Time steps T.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="PNG file to write.")
@DATASET_OPT
@INPUT_OPT
@DATA_OPT
@friendly
def raster(graph_dir: Path, sample: int, steps: int, out: Path, dataset: str | None, input_file: Path | None,
           data_dir: Path | None) -> None:
    """Plot every population's spike raster for one test sample (CPU simulator)."""
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.plots import plot_raster

    graph = load_graph(graph_dir)
    x, y = graph_inputs(graph, dataset, data_dir, input_file)
    if not sample < len(x):
        raise click.BadParameter(f"--sample must be in 0..{len(x) - 1}")
    trace = simulate(graph, x[sample:sample + 1], steps, probes="all")
    pred = int(trace.predictions()[-1, 0])
    label = f"label {int(y[sample])}, " if y is not None else ""
    plot_raster({k: v[:, 0] for k, v in trace.spikes.items()}, out,
                title=f"sample {sample}: {label}prediction {pred} after {trace.steps} steps")
    click.echo(f"wrote {out}")
