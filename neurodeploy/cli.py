"""The ``neurodeploy`` command line: train -> convert -> build -> eval / verify.

Each command parses its options, calls one library function and prints (``--json`` for
scripts).  Errors are one line naming the layer, field or file, with a non-zero exit.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
import numpy as np

from neurodeploy import __version__

EXPECTED_ERRORS = (ValueError, FileNotFoundError, KeyError, OSError, RuntimeError, ImportError)


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
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


def _emit(payload: dict[str, Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str) if as_json else text)


def _steps(text: str) -> list[int]:
    try:
        steps = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not steps or steps[0] < 1:
        raise click.BadParameter("time steps must be >= 1")
    return steps


GRAPH_ARG = click.argument("graph_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
JSON_OPT = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
DATA_OPT = click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                        help="Folder with the four MNIST IDX files (default: ../shared/data/mnist).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neurodeploy")
def main() -> None:
    """Quantization-aware training to bit-exact integer spiking networks.

    \b
    Typical flow (sklearn digits):
      neurodeploy train --model mlp --dataset digits --out runs/ckpt
      neurodeploy convert runs/ckpt --out runs/graph
      neurodeploy eval runs/graph --checkpoint runs/ckpt --steps 1,2,4,8
      neurodeploy build runs/graph --target lava --out runs/bundle
      neurodeploy verify runs/graph --target lava --samples 50
    """


@main.command()
@click.option("--model", type=click.Choice(["mlp", "cnn"]), default="mlp", show_default=True,
              help="Model zoo entry: mlp (digits) or cnn (MNIST).")
@click.option("--dataset", type=click.Choice(["digits", "mnist"]), default="digits", show_default=True)
@click.option("--levels", type=int, default=4, show_default=True, help="QCFS quantization levels L.")
@click.option("--epochs", type=int, default=None, help="Training epochs (default: the model's recipe).")
@click.option("--lr", type=float, default=None, help="Learning rate (default: the model's recipe).")
@click.option("--batch-size", type=int, default=None)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data order and init.")
@click.option("--method", type=click.Choice(["qcfs", "nq"]), default="qcfs", show_default=True,
              help="qcfs: plain QCFS QAT; nq: noise-aware QAT (sigma from the integer SNN each epoch).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint folder to write.")
@DATA_OPT
@JSON_OPT
@_friendly
def train(model: str, dataset: str, levels: int, epochs: int | None, lr: float | None,
          batch_size: int | None, seed: int, method: str, out: Path, data_dir: Path | None,
          as_json: bool) -> None:
    """Quantization-aware training (Brevitas, int8 power-of-two weights, QCFS activations).

    \b
    --method nq (Huang et al., arXiv 2404.17456): after every epoch the model is converted to the
    integer IR and simulated for T_val = L steps on the 10 % validation split; sigma_l = std(a_l - r_l)
    with r_l = lambda_l * N / T_val is the next epoch's training noise (epoch 0 is noise-free).
    The checkpoint is selected on validation accuracy; test accuracy is the clean (noise-off) ANN.
    """
    from neurodeploy.data import load_dataset
    from neurodeploy.quant.nq import NQSigmaEstimator
    from neurodeploy.quant.train import train as run_training

    recipes = {"mlp": {"epochs": 30, "lr": 3e-3, "batch_size": 64},     # digits MLP
               "cnn": {"epochs": 2, "lr": 2e-3, "batch_size": 128}}     # MNIST CNN
    given = {"epochs": epochs, "lr": lr, "batch_size": batch_size}
    kwargs = {**recipes[model], **{k: v for k, v in given.items() if v is not None}}
    data = load_dataset(dataset, data_dir)
    estimator = NQSigmaEstimator(input_bits=int(data.input_bits)) if method == "nq" else None
    _, history = run_training(model, data, levels=levels, seed=seed, out=out, noise=(method == "nq"),
                              sigma_estimator=estimator, progress=not as_json, **kwargs)
    summary: dict[str, Any] = {"checkpoint": str(out), "method": method, **kwargs,
                               **{k: v for k, v in history.items() if not isinstance(v, list)}}
    summary["test_acc_clean_ann"] = summary.get("test_acc")      # eval mode: NQ noise off
    if method == "nq":
        summary["final_sigmas"] = history["sigmas"][-1]
        summary["widened_target_epochs"] = sum(1 for h in estimator.history if h["widened_target"])
    _emit(summary, as_json, "\n".join(f"{k}: {v}" for k, v in summary.items()))


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Graph folder to write.")
@click.option("--neuron", type=click.Choice(["subtract", "zero"]), default="subtract", show_default=True,
              help="subtract: reset by subtraction, fire on >= (custom Lava process); "
                   "zero: reset to zero, fire on > (Lava's stock LIF).")
@click.option("--method", type=click.Choice(["qcfs", "nq", "srp", "spikeconverter"]), default="qcfs",
              show_default=True, help="Inference schedule: plain IF (qcfs, nq), SRP pre-simulation, "
                                      "or SpikeConverter two-phase windows.")
@click.option("--tau", type=int, default=4, show_default=True, help="SRP pre-simulation steps.")
@click.option("--target", default="cpu", show_default=True,
              help="Target whose integer formats bound the mapping (see `neurodeploy targets`).")
@click.option("--from-float", "from_float", default=None, metavar="MODEL",
              help="Float-ANN route (no QAT): float zoo name (bn_cnn) or module:function factory "
                   "returning an nn.Sequential; replaces CHECKPOINT.")
@click.option("--state-dict", type=click.Path(path_type=Path), default=None,
              help="state_dict file for --from-float (torch.load weights_only=True).")
@click.option("--threshold", type=click.Choice(["max", "percentile", "mmse"]), default="mmse", show_default=True,
              help="--from-float: per-layer threshold from ANN activations.")
@click.option("--calibrate", type=click.Choice(["none", "light", "advanced"]), default="none", show_default=True,
              help="--from-float: none, light (bias calibration) or advanced (potential calibration), "
                   "run through the bit-exact CPU simulator.")
@click.option("--calib-samples", type=int, default=1024, show_default=True,
              help="--from-float: training images used for thresholds and calibration.")
@click.option("--steps", type=int, default=32, show_default=True,
              help="--from-float: T used by the MMSE search and the calibration runs.")
@click.option("--maxpool-to-avgpool", is_flag=True,
              help="--from-float: replace MaxPool2d by AvgPool2d (changes the function; reported).")
@DATA_OPT
@JSON_OPT
@_friendly
def convert(checkpoint: Path | None, out: Path, neuron: str, method: str, tau: int, target: str,
            from_float: str | None, state_dict: Path | None, threshold: str, calibrate: str,
            calib_samples: int, steps: int, maxpool_to_avgpool: bool, data_dir: Path | None,
            as_json: bool) -> None:
    """Map a QAT checkpoint (or, with --from-float, a float ANN) to the integer IR.

    \b
    Float route (Li et al., arXiv 2205.10121), e.g.:
      neurodeploy convert --from-float bn_cnn --state-dict runs/float/model.pt \\
          --threshold mmse --calibrate advanced --steps 32 --out runs/graph_float
    """
    from neurodeploy.pipeline import save_converted

    if neuron == "zero" and target == "cpu":
        target = "lava-sim-lif"
    extra: dict[str, Any] = {}
    if from_float is not None:
        if checkpoint is not None:
            raise click.UsageError("give either CHECKPOINT or --from-float, not both")
        if method != "qcfs":
            raise click.UsageError("--from-float supports only the plain schedule (--method qcfs)")
        from neurodeploy.convert.float_route import convert_float

        res = convert_float(from_float, state_dict, threshold=threshold, calibrate=calibrate,
                            calib_samples=calib_samples, steps=steps, target=target, neuron=neuron,
                            maxpool_to_avgpool=maxpool_to_avgpool, data_dir=data_dir)
        graph, report, extra = res.graph, res.report, {"float_route": res.info}
        for note in res.info.get("notes", []):
            click.echo(f"warning: {note}", err=True)
    else:
        if checkpoint is None:
            raise click.UsageError("missing CHECKPOINT (or use --from-float MODEL)")
        from neurodeploy.pipeline import convert_checkpoint

        graph, report = convert_checkpoint(checkpoint, target=target, neuron=neuron, method=method, tau=tau)
    save_converted(graph, report, out, extra=extra or None)
    doc = {"graph": str(out), **report.to_json(), **extra}
    lines = [f"wrote {out} ({'exact' if report.exact else 'INEXACT: see errors'})"]
    for layer in report.layers:
        lines.append(f"  {layer.name:<10} theta={layer.threshold:<8} w_exp={layer.weight_exp:<3} "
                     f"bias_exp={layer.bias_exp:<3} exact={layer.exact} "
                     f"max_w_err={layer.max_weight_error:.2e} acc_bound={layer.accumulator_bound}")
    _emit(doc, as_json, "\n".join(lines))


@main.command(name="train-float")
@click.option("--model", type=click.Choice(["bn_cnn", "small_mlp"]), default="bn_cnn", show_default=True)
@click.option("--epochs", type=int, default=3, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for model.pt (state_dict) and config.json.")
@DATA_OPT
@JSON_OPT
@_friendly
def train_float_cmd(model: str, epochs: int, lr: float, batch_size: int, seed: int, out: Path,
                    data_dir: Path | None, as_json: bool) -> None:
    """Plain float training on MNIST (Adam, no QAT) for the --from-float route."""
    from neurodeploy.convert.float_zoo import train_float

    _, metrics = train_float(model, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                             data_dir=data_dir, out=out, progress=not as_json)
    summary = {"out": str(out), "state_dict": str(out / "model.pt"), **metrics}
    _emit(summary, as_json, "\n".join(f"{k}: {v}" for k, v in summary.items()))


@main.command()
@GRAPH_ARG
@click.option("--target", type=click.Choice(["cpu", "lava"]), required=True, help="Backend to build for.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Bundle folder to write.")
@click.option("--steps", type=int, default=8, show_default=True, help="T for the bundled test vectors.")
@click.option("--vectors", type=int, default=16, show_default=True,
              help="Number of test-set samples stored as test vectors (0: random inputs).")
@click.option("--chip", default="loihi2", show_default=True,
              help="Lava only: chip whose cores the populations are mapped to (refused if it does not fit).")
@DATA_OPT
@JSON_OPT
@_friendly
def build(graph_dir: Path, target: str, out: Path, steps: int, vectors: int, chip: str,
          data_dir: Path | None, as_json: bool) -> None:
    """Check the graph against a target and write its deployment bundle (with a manifest)."""
    from neurodeploy.backends.registry import get_backend
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.manifest import MANIFEST_FILE
    from neurodeploy.pipeline import load_test_data
    from neurodeploy.targets import get_target

    graph = load_graph(graph_dir)
    backend = get_backend(target)
    samples = load_test_data(graph, data_dir)[0][:vectors] if vectors > 0 else None
    extra = {"chip": get_target(chip)} if target == "lava" else {}
    path = backend.emit(graph, out, samples=samples, steps=steps, **extra)
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    lines = [f"wrote {target} bundle {path}"]
    res = manifest.get("resources")
    if res:
        lines.append(f"{res['target']}: {res['total_cores']} of {res['available_cores']} cores")
        lines += [f"  {lu['name']:<14} {lu['neurons']:>7} neurons {lu['synapses']:>9} synapses "
                  f"{lu['cores']:>3} cores ({lu['limited_by']})" for lu in res["layers"]]
    _emit({"bundle": str(path), "target": target, "resources": res}, as_json, "\n".join(lines))


@main.command(name="eval")
@GRAPH_ARG
@click.option("--checkpoint", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="QAT checkpoint to include the Brevitas ANN's accuracy and agreement.")
@click.option("--steps", default="1,2,4,8,16", show_default=True, help="Comma-separated T values.")
@click.option("--limit", type=int, default=None, help="Use only the first N test samples.")
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Write accuracy-vs-T PNG here.")
@DATA_OPT
@JSON_OPT
@_friendly
def eval_cmd(graph_dir: Path, checkpoint: Path | None, steps: str, limit: int | None, plot: Path | None,
             data_dir: Path | None, as_json: bool) -> None:
    """Accuracy of the QAT ANN, the integer reference and the SNN at each T (CPU simulator)."""
    from neurodeploy.evaluate import evaluate, format_table
    from neurodeploy.plots import plot_accuracy
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import load_test_data

    graph = load_graph(graph_dir)
    x, y = load_test_data(graph, data_dir)
    if limit:
        x, y = x[:limit], y[:limit]
    result = evaluate(graph, x, y, _steps(steps), checkpoint=checkpoint, progress=not as_json)
    if plot:
        plot_accuracy(result, plot)
    _emit(result, as_json, format_table(result))


@main.command()
@GRAPH_ARG
@click.option("--target", type=click.Choice(["lava"]), default="lava", show_default=True)
@click.option("--samples", type=int, default=20, show_default=True, help="Test samples to compare.")
@click.option("--steps", type=int, default=8, show_default=True, help="Time steps T per sample.")
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Integer inputs as .npy (default: the graph's test set).")
@click.option("--evidence", type=click.Path(path_type=Path), default=None,
              help="Folder for report.json and first_divergence.npz (default: GRAPH_DIR/verify/TARGET).")
@DATA_OPT
@JSON_OPT
@_friendly
def verify(graph_dir: Path, target: str, samples: int, steps: int, input_file: Path | None,
           evidence: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Compare every layer's spikes and potentials, CPU simulator vs TARGET, zero tolerance."""
    from neurodeploy.harness.verify import verify_backend, write_evidence
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import load_test_data

    graph = load_graph(graph_dir)
    if input_file is not None:
        x = np.load(input_file, allow_pickle=False)
    else:
        x = load_test_data(graph, data_dir)[0]
    report = verify_backend(graph, x[:samples], steps, backend=target)
    write_evidence(report, evidence or graph_dir / "verify" / target)
    doc = report.to_json()
    _emit(doc, as_json, _verify_summary(doc))
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


@main.command()
@GRAPH_ARG
@JSON_OPT
@_friendly
def inspect(graph_dir: Path, as_json: bool) -> None:
    """Layers, shapes, integer widths, neuron and synapse counts of a graph."""
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import inspect_graph

    graph = load_graph(graph_dir)
    rows = inspect_graph(graph)
    lines = [f"schedule: {graph.schedule.kind}  meta: {dict(graph.meta)}",
             f"{'node':<14}{'type':<13}{'shape':<16}{'neurons':>8}{'synapses':>10}  formats"]
    for r in rows:
        lines.append(f"{r['name']:<14}{r['type']:<13}{str(tuple(r['shape'])):<16}{r['neurons']:>8}"
                     f"{r['synapses']:>10}  {r['bits']}")
    lines.append(f"total: {sum(r['neurons'] for r in rows)} neurons, {sum(r['synapses'] for r in rows)} synapses")
    _emit({"schedule": graph.schedule.kind, "nodes": rows}, as_json, "\n".join(lines))


@main.command()
@GRAPH_ARG
@click.option("--sample", type=int, default=0, show_default=True, help="Index into the test set.")
@click.option("--steps", type=int, default=8, show_default=True, help="Time steps T.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="PNG file to write.")
@DATA_OPT
@_friendly
def raster(graph_dir: Path, sample: int, steps: int, out: Path, data_dir: Path | None) -> None:
    """Plot every population's spike raster for one test sample (CPU simulator)."""
    from neurodeploy.backends.cpusim import simulate
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import load_test_data
    from neurodeploy.plots import plot_raster

    graph = load_graph(graph_dir)
    x, y = load_test_data(graph, data_dir)
    if not 0 <= sample < len(x):
        raise click.BadParameter(f"--sample must be in 0..{len(x) - 1}")
    trace = simulate(graph, x[sample:sample + 1], steps, probes="all")
    pred = int(trace.predictions()[-1, 0])
    plot_raster({k: v[:, 0] for k, v in trace.spikes.items()}, out,
                title=f"sample {sample}: label {int(y[sample])}, prediction {pred} after {trace.steps} steps")
    click.echo(f"wrote {out}")


@main.command()
@JSON_OPT
def targets(as_json: bool) -> None:
    """List the built-in hardware targets and their integer formats."""
    from dataclasses import asdict

    from neurodeploy.targets import TARGETS

    docs = {name: asdict(t) for name, t in TARGETS.items()}
    _emit(docs, as_json, "\n".join(f"{n:<16} {t.description}" for n, t in TARGETS.items()))


if __name__ == "__main__":  # pragma: no cover
    main()
