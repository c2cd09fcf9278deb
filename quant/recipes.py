"""Default training recipes, one per (zoo model, dataset): epochs, learning rate, batch size, input shape.

The CLI and :func:`neurodeploy.quant.train.train` read these when the user gives no value.  The recipes are
short on purpose (digits: well under a minute on two CPU cores; MNIST: a few minutes an epoch); the QCFS paper
(Bu et al., ICLR 2022) trains for hundreds of epochs with SGD, which these toy networks do not need.
A user's ``module:function`` factory gets the dataset's generic recipe (:data:`GENERIC`).

``input_shape`` is how the dataset's flat integer pixels are shown to the model (C-order reshape): digits are
stored as 64 values and seen as 1×8×8 images by the convolutional models.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["Recipe", "RECIPES", "GENERIC", "recipe"]


@dataclass(frozen=True)
class Recipe(Mapping[str, Any]):
    """Default QAT hyper-parameters for one model on one dataset.

    Also a read-only mapping of its fields, so ``train(model, data, **recipe(model, dataset))`` works.
    """

    epochs: int
    lr: float
    batch_size: int
    input_shape: tuple[int, ...]

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    @classmethod
    def _keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def to_json(self) -> dict[str, Any]:
        """The recipe as a JSON-able dict (``input_shape`` as a list)."""
        doc = asdict(self)
        doc["input_shape"] = list(self.input_shape)
        return doc


_DIGITS_IMAGE = (1, 8, 8)
_MNIST_IMAGE = (1, 28, 28)

#: ``(model, dataset) -> Recipe``.  Digits, seed 0, one thread, ANN test accuracy: resnet 96.9 % in ~20 s,
#: vgg 96.7 % in ~20 s, mobilenet 94.9 % in ~30 s (MNIST recipes are sized by step time, not tuned).
RECIPES: dict[tuple[str, str], Recipe] = {
    ("mlp", "digits"): Recipe(30, 3e-3, 64, (64,)),
    ("mlp", "mnist"): Recipe(2, 2e-3, 128, _MNIST_IMAGE),
    ("cnn", "digits"): Recipe(30, 3e-3, 64, _DIGITS_IMAGE),
    ("cnn", "mnist"): Recipe(2, 2e-3, 128, _MNIST_IMAGE),
    ("resnet", "digits"): Recipe(30, 5e-3, 64, _DIGITS_IMAGE),
    ("resnet", "mnist"): Recipe(2, 3e-3, 128, _MNIST_IMAGE),
    ("vgg", "digits"): Recipe(30, 3e-3, 64, _DIGITS_IMAGE),
    ("vgg", "mnist"): Recipe(2, 2e-3, 128, _MNIST_IMAGE),
    ("mobilenet", "digits"): Recipe(20, 1e-2, 64, _DIGITS_IMAGE),
    ("mobilenet", "mnist"): Recipe(2, 3e-3, 128, _MNIST_IMAGE),
}

#: Recipe for models outside the zoo (user factories): the dataset's own stored shape.
GENERIC: dict[str, Recipe] = {
    "digits": Recipe(30, 3e-3, 64, (64,)),
    "mnist": Recipe(2, 2e-3, 128, _MNIST_IMAGE),
}


def recipe(model: str, dataset: str) -> Recipe:
    """The default recipe of ``model`` (zoo name or ``module:function``) on ``dataset`` ("digits" | "mnist")."""
    if (model, dataset) in RECIPES:
        return RECIPES[(model, dataset)]
    if dataset in GENERIC:
        return GENERIC[dataset]
    raise ValueError(f"no training recipe for dataset {dataset!r}; known: {sorted(GENERIC)}")
