"""``train`` (Brevitas QAT of a zoo model or the user's own ``module:function``) and
``train-float`` (plain float training for the float-ANN route)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from neurodeploy.commands.common import (
    DATA_OPT,
    INPUT_BITS_OPT,
    JSON_OPT,
    LIMIT_OPT,
    POSITIVE,
    dataset_option,
    emit,
    friendly,
    warn_stderr,
)
from neurodeploy.distributed import DEFAULT_TIMEOUT_S

if TYPE_CHECKING:
    from neurodeploy.data import DatasetSplit

DIST_TIMEOUT_OPT = click.option(
    "--dist-timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT_S, show_default=True,
    metavar="SECONDS", help="Under torchrun: how long a rank waits for the others at one collective before it "
                            "stops with an error (raise it if rank 0's validation takes longer).")


@click.command()
@click.option("--model", default="mlp", show_default=True, metavar="NAME|module:function",
              help="Zoo model (mlp, cnn, resnet, vgg, mobilenet) or your own factory 'module:function' "
                   "returning an nn.Module built from neurodeploy.quant layers.")
@dataset_option("digits")
@INPUT_BITS_OPT
@LIMIT_OPT
@click.option("--levels", type=POSITIVE, default=4, show_default=True, help="QCFS quantization levels L.")
@click.option("--epochs", type=POSITIVE, default=None, help="Training epochs (default: the model's recipe).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Learning rate (default: the model's recipe).")
@click.option("--batch-size", type=POSITIVE, default=None, help="Batch size (default: the model's recipe).")
@click.option("--input-shape", default=None, metavar="C,H,W",
              help="Shape the dataset's samples are shown to the model in (C-order reshape), e.g. 1,8,8 for "
                   "digits images (default: the model's recipe; the samples' stored shape for your own "
                   "data or factory).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data order and init.")
@click.option("--method", type=click.Choice(["qcfs", "nq"]), default="qcfs", show_default=True,
              help="qcfs: plain QCFS QAT; nq: noise-aware QAT (sigma from the integer SNN each epoch).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Checkpoint folder to write.")
@DATA_OPT
@DIST_TIMEOUT_OPT
@JSON_OPT
@friendly
def train(model: str, dataset: str, input_bits: int, train_limit: int | None, levels: int, epochs: int | None,
          lr: float | None, batch_size: int | None, input_shape: str | None, seed: int, method: str,
          out: Path, data_dir: Path | None, dist_timeout: float, as_json: bool) -> None:
    """Quantization-aware training (Brevitas, int8 power-of-two weights, QCFS activations).

    \b
    --method nq (Huang et al., arXiv 2404.17456): after every epoch the model is converted to the
    integer IR and simulated for T_val = L steps on the 10 % validation split; sigma_l = std(a_l - r_l)
    with r_l = lambda_l * N / T_val is the next epoch's training noise (epoch 0 is noise-free).
    The checkpoint is selected on validation accuracy; test accuracy is the clean (noise-off) ANN.
    The checkpoint records the data contract: dataset (name or path) and its SHA-256, class names,
    input bits, scale and encoding, so convert/eval/verify find and check the same data later.

    \b
    Under torchrun (torchrun --nproc_per_node N -m neurodeploy train ...) the ranks train with
    DistributedDataParallel (gloo on CPUs, NCCL on GPUs); --batch-size stays the global batch; rank 0
    validates, prints and writes the checkpoint (see the README, "Several processes").
    """
    from neurodeploy.distributed import session
    from neurodeploy.quant.nq import NQSigmaEstimator
    from neurodeploy.quant.train import default_recipe
    from neurodeploy.quant.train import train as run_training

    with session(dist_timeout) as ctx:
        data = load_training_data(dataset, data_dir, input_bits, train_limit, seed, notes=ctx.main)
        given = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "input_shape": _shape(input_shape)}
        kwargs = {**default_recipe(model, data), **{k: v for k, v in given.items() if v is not None}}
        estimator = NQSigmaEstimator(input_bits=int(data.input_bits), context=ctx) if method == "nq" else None
        _, history = run_training(model, data, levels=levels, seed=seed, out=out, noise=(method == "nq"),
                                  sigma_estimator=estimator, progress=not as_json, context=ctx, **kwargs)
    if not ctx.main:
        return
    summary: dict[str, Any] = {"checkpoint": str(out), "model": model, "method": method, **kwargs,
                               **{k: v for k, v in history.items() if not isinstance(v, list)}}
    if ctx.distributed:
        summary["processes"] = ctx.world
    summary["test_acc_clean_ann"] = summary.get("test_acc")      # eval mode: NQ noise off
    if method == "nq" and estimator is not None:
        summary["final_sigmas"] = history["sigmas"][-1]
        summary["widened_target_epochs"] = sum(1 for h in estimator.history if h["widened_target"])
    emit(summary, as_json, "\n".join(f"{k}: {v}" for k, v in summary.items()))


def load_training_data(dataset: str, data_dir: Path | None, input_bits: int, limit: int | None,
                       seed: int, notes: bool = True) -> DatasetSplit:
    """The dataset (built-in or the user's), its loader's notes on stderr (unless ``notes`` is false, as on
    every rank but 0), cut to ``limit`` training samples."""
    from neurodeploy.data import load_dataset

    data = load_dataset(dataset, data_dir, input_bits=input_bits)
    for note in data.notes if notes else ():
        warn_stderr(note)
    return data.subset(limit, seed)


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"--input-shape: expected comma-separated integers like 1,8,8, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise click.BadParameter(f"--input-shape: sizes must be >= 1, got {text!r}")
    return shape


@click.command(name="train-float")
@click.option("--model", default="bn_cnn", show_default=True, metavar="NAME|module:function",
              help="Float zoo model (bn_cnn, small_mlp: for 1x28x28 inputs) or your own factory "
                   "'module:function' returning a float nn.Module.")
@dataset_option("mnist")
@INPUT_BITS_OPT
@LIMIT_OPT
@click.option("--input-shape", default=None, metavar="C,H,W",
              help="Shape the samples are shown to the model in (default: as stored).")
@click.option("--epochs", type=POSITIVE, default=3, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--batch-size", type=POSITIVE, default=128, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for model.pt (state_dict) and config.json.")
@DATA_OPT
@JSON_OPT
@friendly
def train_float(model: str, dataset: str, input_bits: int, train_limit: int | None, input_shape: str | None,
                epochs: int, lr: float, batch_size: int, seed: int, out: Path, data_dir: Path | None,
                as_json: bool) -> None:
    """Plain float training (Adam, no QAT) for the --from-float route; config.json records the data
    contract (dataset and its SHA-256, class names, input bits, scale and encoding)."""
    from neurodeploy.convert.float_zoo import train_float as run_float

    data = load_training_data(dataset, data_dir, input_bits, None, seed)
    _, metrics = run_float(model, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                           train_limit=train_limit, input_shape=_shape(input_shape), out=out,
                           progress=not as_json)
    summary = {"out": str(out), "state_dict": str(out / "model.pt"), **metrics}
    emit(summary, as_json, "\n".join(f"{k}: {v}" for k, v in summary.items()))
