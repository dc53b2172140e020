"""Training: metrics, optimizers and schedules, the fit/evaluate loop, checkpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlayer.train.checkpoint import Checkpoint, has_checkpoint, load_checkpoint, save_checkpoint
    from embedlayer.train.config import TrainConfig
    from embedlayer.train.events import EpochEvent, EvalResult, ProgressEvent, RegressionResult, TrainResult
    from embedlayer.train.loop import evaluate, evaluate_regression, fit
    from embedlayer.train.metrics import accuracy, confusion_matrix, macro_f1
    from embedlayer.train.optim import build_optimizers, clip_dense_grads, lr_factor, set_lr, unbind_row_optimizers

__getattr__, __dir__, __all__ = lazy_exports(__name__)
