"""Training: metrics, optimizers and schedules, the fit/evaluate loop, checkpoints."""

from embedlayer.train.checkpoint import (
    Checkpoint,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from embedlayer.train.config import TrainConfig
from embedlayer.train.events import EpochEvent, EvalResult, ProgressEvent, TrainResult
from embedlayer.train.loop import evaluate, fit
from embedlayer.train.metrics import accuracy, confusion_matrix, macro_f1
from embedlayer.train.optim import build_optimizers, clip_dense_grads, lr_factor, set_lr

__all__ = [
    "Checkpoint",
    "EpochEvent",
    "EvalResult",
    "ProgressEvent",
    "TrainConfig",
    "TrainResult",
    "accuracy",
    "build_optimizers",
    "clip_dense_grads",
    "confusion_matrix",
    "evaluate",
    "fit",
    "has_checkpoint",
    "load_checkpoint",
    "lr_factor",
    "macro_f1",
    "save_checkpoint",
    "set_lr",
]
