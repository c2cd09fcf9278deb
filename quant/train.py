"""Quantization-aware training of zoo models or user factories with QCFS activations (Bu et al., ICLR 2022).

Adam with a per-step cosine learning-rate schedule; the QCFS thresholds (``log2 λ``) get a larger learning rate
than the weights so they settle within a few epochs. Model selection uses a stratified 10 % validation split of
the training set; the test set is only evaluated once, at the end, for reporting.

NQ (Huang et al., arXiv 2404.17456) is supported through ``noise=True`` plus a ``sigma_estimator`` callback
that returns one σ per QCFS layer after every epoch (epoch 0 trains noise-free); the estimator itself (an SNN
pass with the integer simulator) is provided elsewhere.

Under ``torchrun`` (a :class:`~neurodeploy.distributed.Context` with ``world = W > 1``) the same loop runs as
data-parallel SGD (DistributedDataParallel; Li et al., VLDB 2020): every rank builds the model from the same
seed (DDP also broadcasts rank 0's parameters), ``DistributedSampler(seed=seed).set_epoch(e)`` gives rank ``r``
the samples ``perm_e[r::W]`` of one seeded permutation per epoch (padded to equal length), each step takes
``ceil(batch_size / W)`` of them per rank (``batch_size`` stays the global batch, so the recipe's learning rate
and step count still apply) and the averaged gradient is identical on every rank, hence so are the weights and
the QCFS thresholds ``λ``.  Rank 0 alone validates (its accuracy is broadcast, so every rank selects the same
epoch), tests and writes the checkpoint; buffers (e.g. NQ's σ, BatchNorm statistics) are taken from rank 0 at
the end of each epoch, and the selected state is checked to be identical on every rank before it is saved.
Noise draws use a per-rank seed derived from ``(seed, rank)``.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from neurodeploy.atomic import check_output
from neurodeploy.data import DatasetSplit, is_builtin, load_dataset
from neurodeploy.distributed import (
    Context,
    DistributedError,
    barrier,
    broadcast_float,
    broadcast_buffers,
    same_everywhere,
    sum_counts,
    sum_floats,
)
from neurodeploy.quant.checkpoint import save_checkpoint
from neurodeploy.quant.factory import accepts_kwarg, call_factory, resolve_factory
from neurodeploy.quant.models import MODELS
from neurodeploy.quant.noise import get_noise, qcfs_layers, set_noise
from neurodeploy.quant.recipes import Recipe, recipe

__all__ = ["train", "evaluate", "predict", "validation_split", "reshape_inputs", "default_recipe", "SigmaEstimator"]

#: ``(model, x_val_int, y_val, input_scale) -> one σ per QCFS layer``.
SigmaEstimator = Callable[[nn.Module, np.ndarray, np.ndarray, float], Sequence[float]]

_DEFAULT_MODEL = {"digits": "mlp", "mnist": "cnn"}
LAMBDA_LR_FACTOR = 10.0
#: Defaults for the user's own datasets (input_shape: the samples' stored shape).
USER_RECIPE = Recipe(10, 3e-3, 64, ())


def _to_input(x_int: np.ndarray | torch.Tensor, input_scale: float,
              device: str | torch.device = "cpu") -> torch.Tensor:
    x = torch.as_tensor(x_int)
    return x.to(device=device, dtype=torch.float32) * float(input_scale)


def _device(model: nn.Module) -> torch.device:
    return next(iter(model.parameters()), torch.empty(0)).device


@torch.no_grad()
def predict(model: nn.Module, x_int: np.ndarray, input_scale: float, batch_size: int = 1000) -> np.ndarray:
    """Logits of ``model`` (eval mode, no noise) for integer inputs ``x_int``; restores the training flag."""
    was_training = model.training
    device = _device(model)
    model.eval()
    try:
        outs = [model(_to_input(x_int[i : i + batch_size], input_scale, device)).cpu()
                for i in range(0, len(x_int), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outs).numpy()


def evaluate(model: nn.Module, x_int: np.ndarray, y: np.ndarray, input_scale: float, batch_size: int = 1000) -> float:
    """Top-1 accuracy (fraction in [0, 1]) of ``model`` in eval mode on ``x_int * input_scale``."""
    logits = predict(model, x_int, input_scale, batch_size)
    return float((logits.argmax(axis=1) == np.asarray(y)).mean())


def validation_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified ``(x_fit, y_fit, x_val, y_val)`` split of the training set."""
    from sklearn.model_selection import train_test_split

    x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=fraction, random_state=seed, stratify=y)
    return x_fit, y_fit, x_val, y_val


def _optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    lam = [p for n, p in model.named_parameters() if n.endswith("log2_lambda")]
    ids = {id(p) for p in lam}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": rest, "weight_decay": weight_decay}]
    if lam:
        groups.append({"params": lam, "lr": lr * LAMBDA_LR_FACTOR, "weight_decay": 0.0})
    return torch.optim.Adam(groups, lr=lr)


def reshape_inputs(x_int: np.ndarray, input_shape: Sequence[int]) -> np.ndarray:
    """View integer dataset inputs ``(N, ...)`` as ``(N, *input_shape)`` (C-order reshape, no copy if possible).

    Anything feeding a checkpoint's model with dataset inputs should pass them through this with the
    checkpoint's ``config["input_shape"]`` (digits are stored flat, (N, 64), and convolutional models see 1×8×8).
    """
    x = np.asarray(x_int)
    shape = tuple(int(s) for s in input_shape)
    if math.prod(x.shape[1:]) != math.prod(shape):
        raise ValueError(f"inputs of shape {tuple(x.shape[1:])} cannot be viewed as input_shape {shape}")
    return x.reshape((len(x), *shape))


def _input_shape(given: Sequence[int] | None, model_config: dict[str, Any], default: Sequence[int]) -> tuple[int, ...]:
    from_config = model_config.get("input_shape")
    if given is not None and from_config is not None and tuple(given) != tuple(from_config):
        raise ValueError(f"input_shape {tuple(given)} contradicts model_config input_shape {tuple(from_config)}")
    chosen = given if given is not None else from_config if from_config is not None else default
    return tuple(int(s) for s in chosen)


def train(
    model_name_or_factory: str | None,
    dataset: str | DatasetSplit,
    *,
    levels: int,
    seed: int,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    input_shape: Sequence[int] | None = None,
    progress: bool = True,
    out: str | Path | None = None,
    noise: bool = False,
    sigma_estimator: SigmaEstimator | None = None,
    model_config: dict[str, Any] | None = None,
    weight_decay: float = 0.0,
    val_fraction: float = 0.1,
    data_dir: str | Path | None = None,
    context: Context | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train a zoo model or a ``"module:function"`` factory on ``dataset`` ("digits" | "mnist" | a split).

    ``epochs``, ``lr``, ``batch_size`` and ``input_shape`` default to :func:`~neurodeploy.quant.recipes.recipe`
    for the model and dataset.  The dataset's inputs are reshaped to ``input_shape`` (:func:`reshape_inputs`).
    The factory gets ``levels`` and ``input_shape`` unless ``model_config`` sets them or it takes neither
    (:func:`~neurodeploy.quant.factory.accepts_kwarg`); the keywords it got are what the checkpoint records.

    Returns ``(model, history)``: the model with the best validation accuracy (eval mode) and a dict with
    per-epoch ``train_loss``, ``train_acc``, ``val_acc``, ``lambdas``, ``sigmas``, ``epoch_s`` plus
    ``best_epoch``, ``best_val_acc``, ``test_acc``, ``train_s``. Deterministic for a given ``seed``.
    With ``out`` the result is saved as a checkpoint folder (:func:`save_checkpoint`), by rank 0 only under
    ``torchrun`` (``context``; see the module docstring); a foreign ``out`` is refused before training.
    """
    ctx = context or Context()
    if noise and sigma_estimator is None:
        raise ValueError("noise=True needs a sigma_estimator (one σ per QCFS layer from an SNN pass)")
    if out is not None:
        check_output(Path(out))
    data = load_dataset(dataset, data_dir) if isinstance(dataset, str) else dataset
    name = model_name_or_factory or _DEFAULT_MODEL.get(data.name, "mlp")
    defaults = default_recipe(name, data)
    epochs = defaults.epochs if epochs is None else int(epochs)
    lr = defaults.lr if lr is None else float(lr)
    batch_size = defaults.batch_size if batch_size is None else int(batch_size)
    config_kwargs: dict[str, Any] = dict(model_config or {})
    shape = _input_shape(input_shape, config_kwargs, defaults.input_shape)
    x_train, x_test = reshape_inputs(data.x_train, shape), reshape_inputs(data.x_test, shape)
    factory = resolve_factory(name, MODELS)
    for key, value in (("levels", int(levels)), ("input_shape", list(shape))):
        if key not in config_kwargs and accepts_kwarg(factory, key):
            config_kwargs[key] = value
    if "num_classes" not in config_kwargs and _declared_default(factory, "num_classes") not in (None, data.num_classes):
        config_kwargs["num_classes"] = data.num_classes         # e.g. a 3-class dataset on a zoo model

    # CPU kernels are deterministic for a fixed thread count; torch.use_deterministic_algorithms(True) made a
    # CNN step ~50 % slower here, so only the seeds are fixed (the test suite checks run-to-run equality).
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = call_factory(name, factory, config_kwargs)
    check_accepts_inputs(model, name, x_train[:2], data.input_scale, data.num_classes)
    if data.x_val is not None and data.y_val is not None:      # the dataset's own validation split
        x_fit, y_fit, x_val, y_val = x_train, data.y_train, reshape_inputs(data.x_val, shape), data.y_val
    else:
        x_fit, y_fit, x_val, y_val = validation_split(x_train, data.y_train, val_fraction, seed)
    history = _fit(
        model, x_fit, y_fit, x_val, y_val, data.input_scale, epochs=epochs, lr=lr, batch_size=batch_size,
        seed=seed, progress=progress and ctx.main, weight_decay=weight_decay,
        sigma_estimator=sigma_estimator if noise else None, context=ctx,
    )
    model.to("cpu")
    test_acc = evaluate(model, x_test, data.y_test, data.input_scale) if ctx.main else None
    history["test_acc"] = broadcast_float(test_acc, ctx)
    if out is not None and ctx.main:
        config = {
            "model": name,
            "model_config": config_kwargs,
            "input_shape": list(shape),
            "levels": int(levels),
            **data.contract(),              # dataset, fingerprint, class names, input bits/scale/encoding
            "train_samples": int(len(data.y_train)),
            "seed": int(seed),
            "train": {"epochs": epochs, "lr": lr, "batch_size": batch_size, "weight_decay": weight_decay,
                      "val_fraction": val_fraction, "noise": noise, "optimizer": "adam+cosine",
                      **({"processes": ctx.world} if ctx.distributed else {})},
        }
        metrics = {k: history[k] for k in ("best_epoch", "best_val_acc", "test_acc", "train_s")}
        metrics["lambdas"] = [layer.lambda_value() for layer in qcfs_layers(model)]
        metrics["sigmas"] = get_noise(model)
        save_checkpoint(out, model, config, metrics)
    barrier(ctx)                        # every rank ends when the checkpoint is in place (or reports rank 0's loss)
    return model, history


def check_accepts_inputs(model: nn.Module, name: str, x_int: np.ndarray, input_scale: float,
                         num_classes: int | None = None) -> None:
    """One forward pass on two samples before training: a model that cannot take the dataset's inputs in
    this shape, or gives fewer logits than there are classes, stops with one line instead of a traceback."""
    try:
        with torch.no_grad():
            model.eval()
            logits = model(_to_input(x_int, input_scale))
    except RuntimeError as exc:            # torch's shape errors are RuntimeErrors
        first = str(exc).splitlines()[0]
        raise ValueError(f"model {name}: does not accept inputs of shape {tuple(x_int.shape[1:])} ({first}); "
                         "pass --input-shape C,H,W or give the factory an input_shape argument") from None
    finally:
        model.train()
    if num_classes is not None and (logits.ndim != 2 or logits.shape[1] < num_classes):
        raise ValueError(f"model {name}: outputs shape {tuple(logits.shape[1:])} per sample, but the dataset has "
                         f"{num_classes} classes; give the factory a num_classes argument")


def _declared_default(factory: Callable[..., nn.Module], name: str) -> Any:
    """The default of ``factory``'s parameter ``name``; ``None`` if it has no such parameter, ``inspect``'s
    ``empty`` if the parameter has no default (both cases are then told the value)."""
    import inspect

    try:
        param = inspect.signature(factory).parameters.get(name)
    except (TypeError, ValueError):
        return None
    return None if param is None else param.default


def default_recipe(name: str, data: DatasetSplit) -> Recipe:
    """The zoo recipe for a built-in dataset; for the user's own data the generic one, shown the samples in
    their stored shape (``(n, H, W)`` data is stored as ``(n, 1, H, W)``)."""
    if is_builtin(data.name):
        return recipe(name, data.name)
    return Recipe(USER_RECIPE.epochs, USER_RECIPE.lr, USER_RECIPE.batch_size, tuple(data.x_train.shape[1:]))


def _fit(
    model: nn.Module,
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    input_scale: float,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    progress: bool,
    weight_decay: float,
    sigma_estimator: SigmaEstimator | None,
    context: Context,
) -> dict[str, Any]:
    ctx = context
    x_all = torch.as_tensor(x_fit)
    y_all = torch.as_tensor(y_fit, dtype=torch.int64)
    n = len(y_all)
    order_of = _epoch_order(n, seed, ctx)
    local_batch = -(-batch_size // ctx.world)
    per_rank = -(-n // ctx.world)                          # DistributedSampler pads each share to ceil(n / W)
    steps_per_epoch = -(-per_rank // local_batch)
    model.to(ctx.device)
    net = _data_parallel(model, seed, ctx)
    optimizer = _optimizer(model, lr, weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * steps_per_epoch))
    loss_fn = nn.CrossEntropyLoss()
    history: dict[str, Any] = {k: [] for k in ("train_loss", "train_acc", "val_acc", "lambdas", "sigmas", "epoch_s")}
    best_acc, best_epoch, best_state = -1.0, -1, copy.deepcopy(model.state_dict())
    start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        net.train()
        order = order_of(epoch)
        total_loss, correct = 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for step in bar:
            idx = order[step * local_batch : (step + 1) * local_batch]
            xb, yb = _to_input(x_all[idx], input_scale, ctx.device), y_all[idx].to(ctx.device)
            logits = net(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            if progress and step % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        broadcast_buffers(model, ctx)
        seen = sum_counts({"correct": np.array([correct]), "seen": np.array([len(order)])}, ctx)
        total_loss = sum_floats([total_loss], ctx)[0]
        n_seen, correct = int(seen["seen"][0]), int(seen["correct"][0])
        val_acc = broadcast_float(evaluate(model, x_val, y_val, input_scale) if ctx.main else None, ctx)
        if sigma_estimator is not None:
            cpu_model = model if ctx.device == "cpu" else copy.deepcopy(model).cpu()
            set_noise(model, [float(s) for s in sigma_estimator(cpu_model, x_val, y_val, input_scale)])
        history["train_loss"].append(total_loss / n_seen)
        history["train_acc"].append(correct / n_seen)
        history["val_acc"].append(val_acc)
        history["lambdas"].append([layer.lambda_value() for layer in qcfs_layers(model)])
        history["sigmas"].append(get_noise(model))
        history["epoch_s"].append(time.perf_counter() - t0)
        if progress:
            tqdm.write(
                f"epoch {epoch + 1}/{epochs}: loss {total_loss / n_seen:.4f} train {correct / n_seen:.4f} "
                f"val {val_acc:.4f} λ {history['lambdas'][-1]} ({history['epoch_s'][-1]:.1f} s)"
            )
        if val_acc > best_acc:
            best_acc, best_epoch, best_state = val_acc, epoch, copy.deepcopy(model.state_dict())
    if not same_everywhere(_state_bytes(best_state), ctx):
        raise DistributedError(f"{ctx.describe()}: the trained weights differ between ranks (a non-deterministic "
                               "kernel or a rank-dependent model); nothing was written")
    model.load_state_dict(best_state)
    model.eval()
    history.update(best_epoch=best_epoch, best_val_acc=best_acc, train_s=time.perf_counter() - start)
    return history


def _epoch_order(n: int, seed: int, ctx: Context) -> Callable[[int], torch.Tensor]:
    """``epoch -> this rank's sample order``.  One process: a permutation of ``0..n-1`` from one seeded numpy
    generator (call once per epoch, in order); under torchrun: ``DistributedSampler(seed=seed)`` after
    ``set_epoch(epoch)``, i.e. ``perm_epoch[rank::world]`` of ``perm_epoch`` padded to a multiple of ``world``."""
    if not ctx.distributed:
        rng = np.random.default_rng(seed)
        return lambda epoch: torch.as_tensor(rng.permutation(n))
    from torch.utils.data.distributed import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=ctx.world, rank=ctx.rank, shuffle=True, seed=seed)

    def sharded(epoch: int) -> torch.Tensor:
        sampler.set_epoch(epoch)
        return torch.as_tensor(list(sampler), dtype=torch.int64)
    return sharded


def _data_parallel(model: nn.Module, seed: int, ctx: Context) -> nn.Module:
    """``model`` itself (one process) or wrapped in DistributedDataParallel, with the noise generator of
    rank ``r`` reseeded from ``(seed, r)`` (the initial weights come from ``seed`` on every rank)."""
    if not ctx.distributed:
        return model
    torch.manual_seed(int(np.random.SeedSequence([seed, ctx.rank]).generate_state(1)[0]))
    ids = [torch.device(ctx.device).index] if ctx.device.startswith("cuda") else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def _state_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """The tensors of a state_dict as bytes, in key order (for the cross-rank equality check)."""
    return b"".join(k.encode() + v.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes()
                    for k, v in sorted(state.items()))
