"""Values ``fit`` and ``evaluate`` hand back: progress events, evaluation and training results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EpochEvent", "EvalResult", "ProgressEvent", "RegressionResult", "TrainResult"]


@dataclass(frozen=True)
class ProgressEvent:
    """Sent after every optimizer step. ``epoch`` and ``step`` are 0-based."""

    epoch: int
    step: int  # step within the epoch
    steps_in_epoch: int
    global_step: int  # optimizer steps since the start of the run (1 after the first)
    loss: float  # running mean training loss of this epoch (per example)
    examples_per_s: float  # since the start of this epoch
    lr: float  # current learning rate of the first dense group (after the schedule)


@dataclass(frozen=True)
class EpochEvent:
    """Sent at the end of each epoch, after evaluation on the dev batches."""

    epoch: int
    train_loss: float
    dev: dict[str, float] | None  # {"loss", "accuracy", "macro_f1"}; None without dev batches
    lr: float
    is_best: bool  # dev accuracy is a new best (these weights are the ones kept so far)
    best_epoch: int | None
    best_accuracy: float | None
    seconds: float


@dataclass(frozen=True)
class EvalResult:
    """Metrics over every example of the evaluated batches (N examples, C classes)."""

    loss: float  # mean cross-entropy per example (unweighted)
    accuracy: float
    macro_f1: float  # see embedlayer.train.metrics.macro_f1
    confusion: np.ndarray  # (C, C) int64, rows = true class
    y_true: np.ndarray  # (N,) int64
    y_pred: np.ndarray  # (N,) int64 argmax of the logits
    probs: np.ndarray  # (N, C) float32 softmax probabilities

    def metrics(self) -> dict[str, float]:
        """The scalar metrics as a JSON-able dict."""
        return {"loss": self.loss, "accuracy": self.accuracy, "macro_f1": self.macro_f1}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: the scalar metrics, the number of examples and the confusion matrix
        (list of rows); predictions and probabilities are left out (use the arrays)."""
        return {**self.metrics(), "examples": int(self.y_true.size), "confusion": self.confusion.tolist()}


@dataclass(frozen=True)
class RegressionResult:
    """Errors of predicted values over every example of the evaluated batches (N examples)."""

    loss: float  # mean squared error per example
    rmse: float
    mae: float
    y_true: np.ndarray  # (N,) float32
    y_pred: np.ndarray  # (N,) float32

    def metrics(self) -> dict[str, float]:
        """The scalar metrics as a JSON-able dict."""
        return {"loss": self.loss, "rmse": self.rmse, "mae": self.mae}

    def to_dict(self) -> dict[str, Any]:
        return {**self.metrics(), "examples": int(self.y_true.size)}


@dataclass(frozen=True)
class TrainResult:
    """What ``fit`` did. ``history`` has one JSON-able dict per epoch run (also across a resume):
    ``{"epoch", "train_loss", "lr", "dev_loss", "dev_accuracy", "dev_macro_f1"}`` (dev keys only
    with dev batches)."""

    history: tuple[dict[str, Any], ...]
    best_epoch: int | None  # 0-based epoch whose weights the model holds now; None without dev data
    best_accuracy: float | None  # best dev accuracy; for float targets -RMSE (higher is better)
    epochs_run: int
    stopped_early: bool
    global_step: int
