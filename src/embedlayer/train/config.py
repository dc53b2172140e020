"""TrainConfig: how ``fit`` trains a model (optimizer, schedule, clipping, early stopping)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from embedlayer.errors import ConfigError

__all__ = ["DENSE_OPTIMIZERS", "SCHEDULES", "SPARSE_OPTIMIZER_NAMES", "TrainConfig"]

DenseOptimizer = Literal["adam", "adamw"]
Schedule = Literal["constant", "linear", "cosine"]
#: Row-wise sparse optimizers of embedlayer.sparse, by config name.
SparseOptimizerName = Literal["sgd", "adagrad", "rowwise-adagrad", "adam"]
DENSE_OPTIMIZERS: tuple[str, ...] = get_args(DenseOptimizer)
SCHEDULES: tuple[str, ...] = get_args(Schedule)
SPARSE_OPTIMIZER_NAMES: tuple[str, ...] = get_args(SparseOptimizerName)


def _bad(name: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"TrainConfig.{name}: expected {expected}, got {value!r}")


def _is_num(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Training settings; validated when built (ConfigError names the field and value)."""

    # Passes over the training batches; early stopping may end sooner.
    epochs: int = 10
    # Examples per batch. fit() takes ready-made batches, so this is for the code that makes them
    # (the pipeline, the CLI); it is stored here so one config describes a whole run.
    batch_size: int = 64
    # Peak learning rate of the dense parameters (Adam's usual 1e-3).
    lr: float = 1e-3
    # Learning rate of the embedding table (None: same as lr). Sparse tables often like more.
    embedding_lr: float | None = None
    # Dense optimizer: "adam", or "adamw" (decoupled weight decay).
    optimizer: DenseOptimizer = "adam"
    # L2 (adam) or decoupled (adamw) weight decay on the dense parameters. SparseAdam has none.
    weight_decay: float = 0.0
    # Learning-rate shape after warmup: "constant", "linear" decay towards 0 at the last step,
    # or "cosine" decay towards 0; applied to every optimizer (dense and sparse).
    schedule: Schedule = "linear"
    # Steps of linear warmup from lr/warmup_steps up to lr (0: none).
    warmup_steps: int = 0
    # Clip the global L2 norm of the dense gradients (None: off). Sparse embedding gradients are
    # not clipped: torch's clip_grad_norm_ cannot take the norm of a sparse tensor.
    clip_norm: float | None = 5.0
    # Early stopping on dev accuracy: stop after this many epochs without a new best (None: never
    # stop early). The best weights are restored at the end in either case.
    patience: int | None = 3
    # Seeds dropout and anything else drawn from torch's RNG during training.
    seed: int = 0
    # Per-class weights of the cross-entropy loss (None: unweighted); one per class.
    class_weights: tuple[float, ...] | None = None
    # Optimizer of the sparse embedding tables (sparse=True). None: torch.optim.SparseAdam.
    # "sgd", "adagrad", "rowwise-adagrad" or "adam": embedlayer.sparse's row-wise optimizers, applied
    # inside backward to the rows the batch used, without a table gradient ("adam" is lazy Adam with a
    # step count per row). They take embedding_lr (or lr) and embedding_weight_decay.
    sparse_optimizer: SparseOptimizerName | None = None
    # L2 weight decay of the embedding rows a batch uses (the rows it does not use are left alone);
    # only with a row-wise sparse_optimizer (SparseAdam has no weight decay).
    embedding_weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if not _is_int(self.epochs) or self.epochs < 1:
            raise _bad("epochs", self.epochs, "an integer >= 1")
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise _bad("batch_size", self.batch_size, "an integer >= 1")
        if not _is_num(self.lr) or self.lr <= 0:
            raise _bad("lr", self.lr, "a number > 0")
        if self.embedding_lr is not None and (not _is_num(self.embedding_lr) or self.embedding_lr <= 0):
            raise _bad("embedding_lr", self.embedding_lr, "None or a number > 0")
        if self.optimizer not in DENSE_OPTIMIZERS:
            raise _bad("optimizer", self.optimizer, "one of " + ", ".join(map(repr, DENSE_OPTIMIZERS)))
        if not _is_num(self.weight_decay) or self.weight_decay < 0:
            raise _bad("weight_decay", self.weight_decay, "a number >= 0")
        if self.schedule not in SCHEDULES:
            raise _bad("schedule", self.schedule, "one of " + ", ".join(map(repr, SCHEDULES)))
        if not _is_int(self.warmup_steps) or self.warmup_steps < 0:
            raise _bad("warmup_steps", self.warmup_steps, "an integer >= 0")
        if self.clip_norm is not None and (not _is_num(self.clip_norm) or self.clip_norm <= 0):
            raise _bad("clip_norm", self.clip_norm, "None or a number > 0")
        if self.patience is not None and (not _is_int(self.patience) or self.patience < 1):
            raise _bad("patience", self.patience, "None or an integer >= 1")
        if not _is_int(self.seed):
            raise _bad("seed", self.seed, "an integer")
        if self.class_weights is not None:
            weights = tuple(self.class_weights) if isinstance(self.class_weights, list) else self.class_weights
            if not isinstance(weights, tuple) or not weights or not all(_is_num(w) and w >= 0 for w in weights):
                raise _bad("class_weights", self.class_weights, "None or a non-empty tuple of numbers >= 0")
            object.__setattr__(self, "class_weights", tuple(float(w) for w in weights))
        if self.sparse_optimizer not in (None, *SPARSE_OPTIMIZER_NAMES):
            raise _bad(
                "sparse_optimizer",
                self.sparse_optimizer,
                "None (torch's SparseAdam) or one of " + ", ".join(map(repr, SPARSE_OPTIMIZER_NAMES)),
            )
        if not _is_num(self.embedding_weight_decay) or self.embedding_weight_decay < 0:
            raise _bad("embedding_weight_decay", self.embedding_weight_decay, "a number >= 0")
        if self.embedding_weight_decay and self.sparse_optimizer is None:
            raise _bad(
                "embedding_weight_decay",
                self.embedding_weight_decay,
                "0 with sparse_optimizer=None (SparseAdam has no weight decay); choose a sparse_optimizer",
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; ``from_dict`` inverts it."""
        out = dataclasses.asdict(self)
        if self.class_weights is not None:
            out["class_weights"] = list(self.class_weights)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from ``to_dict`` output; ConfigError on unknown keys or bad values."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"TrainConfig.from_dict: expected a mapping, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ConfigError(
                f"TrainConfig: unknown key(s) {', '.join(map(repr, unknown))}; expected some of {', '.join(names)}"
            )
        return cls(**dict(data))
