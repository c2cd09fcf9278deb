"""Float (no QAT) zoo for the float-ANN conversion route, and a plain float trainer (zoo or your own
``module:function`` model, on any dataset of :func:`neurodeploy.data.load_dataset`).

Models are ``nn.Sequential`` of ``Conv2d``/``Linear``/``BatchNorm``/``ReLU``/``AvgPool2d``/
``Flatten``, the layers :func:`neurodeploy.convert.from_float.network_from_float` maps.  Inputs
are the datasets' integer inputs times ``input_scale`` (MNIST: ``x_int / 256``), with no mean/std
normalisation, so the first layer sees exactly what the integer ``Input`` node feeds.

Training is plain cross-entropy with Adam and a cosine schedule (ReLU, no QAT), the ANN that
"Converting ANNs to SNNs via Parameter Calibration" (Li et al., arXiv 2205.10121) starts from.
A run is saved as ``model.pt`` (a ``state_dict``, loaded back with ``weights_only=True``) plus
``config.json``, written atomically.
"""
from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from neurodeploy.atomic import atomic_dir, write_bytes, write_json
from neurodeploy.data.split import DatasetSplit

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"


def bn_cnn(num_classes: int = 10) -> nn.Sequential:
    """conv16 5x5 p2 - BN - ReLU - AvgPool2 - conv32 5x5 p2 - BN - ReLU - AvgPool2 - fc128 - ReLU - fc10."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, num_classes))


def small_mlp(num_classes: int = 10) -> nn.Sequential:
    """784-64(BN)-10 MLP for quick tests."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(64, num_classes))


FLOAT_ZOO: dict[str, Callable[[], nn.Sequential]] = {"bn_cnn": bn_cnn, "small_mlp": small_mlp}
_ZOO_SHAPE = (1, 28, 28)


def build_float_model(name: str) -> nn.Module:
    """A float zoo model by name, or the user's ``module:function`` factory, imported with the working
    directory searched first and called without arguments (as ``convert --from-float`` calls it)."""
    from neurodeploy.quant.factory import call_factory, resolve_factory

    return call_factory(name, resolve_factory(name, FLOAT_ZOO), {})


@torch.no_grad()
def float_predict(model: nn.Module, x_int: np.ndarray, input_scale: float, batch_size: int = 1000) -> np.ndarray:
    """Logits of ``model`` in eval mode for integer inputs (float32, ``x_int * input_scale``)."""
    model.eval()
    outs = [model(torch.as_tensor(np.asarray(x_int[i:i + batch_size]), dtype=torch.float32) * input_scale)
            for i in range(0, len(x_int), batch_size)]
    return torch.cat(outs).double().numpy()


def _float_inputs(model: nn.Module, name: str, data: DatasetSplit,
                  input_shape: tuple[int, ...] | None) -> tuple[np.ndarray, np.ndarray]:
    """Train and test inputs in the model's input shape, checked by one forward pass."""
    from neurodeploy.quant.train import check_accepts_inputs, reshape_inputs

    shape = input_shape or (_ZOO_SHAPE if name in FLOAT_ZOO else tuple(data.x_train.shape[1:]))
    x_tr, x_te = reshape_inputs(data.x_train, shape), reshape_inputs(data.x_test, shape)
    check_accepts_inputs(model, name, x_tr[:2], data.input_scale, data.num_classes)
    return x_tr, x_te


def train_float(model_name: str = "bn_cnn", data: DatasetSplit | None = None, *, epochs: int = 3, lr: float = 1e-3,
                batch_size: int = 128, seed: int = 0, data_dir: str | Path | None = None,
                out: str | Path | None = None, progress: bool = True, train_limit: int | None = None,
                input_shape: tuple[int, ...] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Train a float model (zoo name or ``module:function``) on ``data`` (default: MNIST from ``data_dir``)
    with Adam + cosine; returns ``(model, metrics)``.

    Deterministic for a given ``seed`` (torch deterministic algorithms on).  ``train_limit`` trains on a
    seeded subset.  With ``out`` writes ``model.pt`` (state_dict) and ``config.json`` (model, the data
    contract of :meth:`DatasetSplit.contract`, input shape, recipe, metrics).
    """
    from neurodeploy.data.mnist import load_mnist

    data = (data if data is not None else load_mnist(data_dir)).subset(train_limit, seed)
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(seed)
        model = build_float_model(model_name)
        x_tr, x_te = _float_inputs(model, model_name, data, input_shape)
        rng = np.random.default_rng(seed)
        x_all, y_all = torch.as_tensor(x_tr), torch.as_tensor(data.y_train, dtype=torch.int64)
        steps = (len(y_all) + batch_size - 1) // batch_size
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * steps))
        loss_fn = nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        for epoch in range(epochs):
            model.train()
            order = torch.as_tensor(rng.permutation(len(y_all)))
            bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
            for step in bar:
                idx = order[step * batch_size:(step + 1) * batch_size]
                loss = loss_fn(model(x_all[idx].float() * data.input_scale), y_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                if progress and step % 50 == 0:
                    bar.set_postfix(loss=f"{loss.item():.3f}")
    finally:
        torch.use_deterministic_algorithms(prev)
    model.eval()
    test_acc = float((float_predict(model, x_te, data.input_scale).argmax(1) == data.y_test).mean())
    metrics = {"test_acc": test_acc, "train_s": time.perf_counter() - t0}
    if out is not None:
        config = {"model": model_name, **data.contract(), "input_shape": list(x_te.shape[1:]),
                  "train_samples": len(y_all), "seed": seed,
                  "train": {"epochs": epochs, "lr": lr, "batch_size": batch_size, "optimizer": "adam+cosine",
                            "train_limit": train_limit},
                  "metrics": metrics}
        save_float(out, model, config)
    return model, metrics


def save_float(folder: str | Path, model: nn.Module, config: dict[str, Any]) -> Path:
    """Write ``model.pt`` (state_dict) and ``config.json`` into ``folder`` atomically."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    with atomic_dir(Path(folder)) as tmp:
        write_bytes(tmp / MODEL_FILE, buf.getvalue())
        write_json(tmp / CONFIG_FILE, config)
    return Path(folder)


def read_float_config(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG_FILE
    return json.loads(path.read_text()) if path.is_file() else {}
