"""The training loop: ``fit`` (epochs, schedule, early stopping, checkpoints, resume) and
``evaluate``. The library never prints: progress goes to an optional callback.

Determinism: ``fit`` runs inside ``torch.random.fork_rng`` seeded with ``cfg.seed`` (the
caller's global RNG state is restored afterwards), the batch order of epoch ``e`` comes from the
caller's ``train_batches(e)``, and the RNG state is checkpointed, so on CPU two runs with the same
inputs give bit-identical weights and history, and a run resumed from its epoch-``k`` checkpoint
ends where the uninterrupted run ends.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from embedlayer._io import describe_difference, first_difference
from embedlayer.batching import Batch
from embedlayer.errors import ConfigError, DataError, FormatError
from embedlayer.train.checkpoint import has_checkpoint, load_checkpoint, read_checkpoint_extra, save_checkpoint
from embedlayer.train.config import TrainConfig
from embedlayer.train.events import EpochEvent, EvalResult, ProgressEvent, RegressionResult, TrainResult
from embedlayer.train.metrics import accuracy, confusion_matrix, macro_f1
from embedlayer.train.optim import build_optimizers, clip_dense_grads, lr_factor, set_lr, unbind_row_optimizers

__all__ = [
    "EpochEvent",
    "EvalResult",
    "ProgressEvent",
    "RegressionResult",
    "TrainResult",
    "evaluate",
    "evaluate_regression",
    "fit",
]

Progress = Callable[[ProgressEvent | EpochEvent], None]
LAST = "last"  # checkpoint_dir / LAST holds the checkpoint of the latest finished epoch


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _labels(batch: Batch, where: str) -> Tensor:
    if batch.labels is None:
        raise DataError(f"{where} has no labels (Batch.labels is None); expected labelled batches")
    return batch.labels


def _forward(model: nn.Module, batch: Batch) -> Tensor:
    """``model(*batch.inputs)`` for a batch that names its model inputs (tabular batches),
    else ``model(ids, lengths, mask)``."""
    inputs = getattr(batch, "inputs", None)
    return model(*inputs) if inputs is not None else model(batch.ids, batch.lengths, batch.mask)


def _loss(logits: Tensor, labels: Tensor, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Cross-entropy for int64 class labels; squared error of ``logits[:, 0]`` for float targets."""
    if labels.is_floating_point():
        return F.mse_loss(logits[:, 0].float(), labels.float(), reduction=reduction)
    return F.cross_entropy(logits.float(), labels, weight=weight, reduction=reduction)


@torch.no_grad()
def evaluate_regression(model: nn.Module, batches: Iterable[Batch]) -> RegressionResult:
    """Squared and absolute errors of ``model(...)[:, 0]`` against the float labels of
    ``batches``, in eval mode (restored afterwards). DataError when there are no examples."""
    was_training = model.training
    model.eval()
    device = _device(model)
    preds, y_true = [], []
    try:
        for i, batch in enumerate(batches):
            batch = batch.to(device)
            labels = _labels(batch, f"evaluate batch {i}")
            preds.append(_forward(model, batch)[:, 0].float().cpu())
            y_true.append(labels.float().cpu())
    finally:
        model.train(was_training)
    if not preds:
        raise DataError("evaluate: expected at least one batch, got none")
    p, t = torch.cat(preds).numpy(), torch.cat(y_true).numpy()
    mse = float(np.mean((p - t) ** 2))
    return RegressionResult(loss=mse, rmse=mse**0.5, mae=float(np.mean(np.abs(p - t))), y_true=t, y_pred=p)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[Batch]) -> EvalResult:
    """Run ``model(ids, lengths, mask) -> logits (B, C)`` (or ``model(*batch.inputs)``) over
    labelled ``batches`` in eval mode (the model's train/eval mode is restored afterwards).
    Raises DataError on a batch without labels or when there are no examples."""
    was_training = model.training
    model.eval()
    device = _device(model)
    probs, y_true, loss_sum = [], [], 0.0
    try:
        for i, batch in enumerate(batches):
            batch = batch.to(device)
            labels = _labels(batch, f"evaluate batch {i}")
            logits = _forward(model, batch)  # (B, C)
            loss_sum += float(F.cross_entropy(logits.float(), labels, reduction="sum"))
            probs.append(torch.softmax(logits.float(), dim=-1).cpu())
            y_true.append(labels.cpu())
    finally:
        model.train(was_training)
    if not probs:
        raise DataError("evaluate: expected at least one batch, got none")
    p = torch.cat(probs).numpy()  # (N, C)
    t = torch.cat(y_true).numpy().astype(np.int64)  # (N,)
    pred = p.argmax(axis=1).astype(np.int64)
    n_classes = p.shape[1]
    return EvalResult(
        loss=loss_sum / len(t),
        accuracy=accuracy(t, pred),
        macro_f1=macro_f1(t, pred, n_classes),
        confusion=confusion_matrix(t, pred, n_classes),
        y_true=t,
        y_pred=pred,
        probs=p,
    )


@dataclass
class _RunState:
    """Mutable bookkeeping of one run; what a checkpoint stores besides tensors."""

    next_epoch: int = 0
    global_step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_accuracy: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    finished: bool = False
    stopped_early: bool = False
    best_weights: dict[str, Tensor] | None = None

    def to_json(self) -> dict[str, Any]:
        out = dict(vars(self))
        del out["best_weights"]
        return out


def _count(batches: Iterable[Batch]) -> int:
    return len(batches) if isinstance(batches, Sized) else sum(1 for _ in batches)


def _sized(batches: Iterable[Batch]) -> Sized:
    return batches if isinstance(batches, Sized) else list(batches)


def _train_epoch(model, batches, epoch, opts, cfg, state, total_steps, class_weights, progress) -> tuple[float, float]:
    """One pass over ``batches``; returns (mean train loss per example, last lr)."""
    model.train()
    device = _device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    steps = len(batches)
    if steps == 0:
        raise DataError(f"train_batches({epoch}) gave no batches; expected at least one")
    loss_sum, seen, start, lr = 0.0, 0, time.perf_counter(), 0.0
    for step, batch in enumerate(batches):
        batch = batch.to(device)
        labels = _labels(batch, f"train_batches({epoch}) batch {step}")
        set_lr(opts, lr_factor(state.global_step, total_steps, cfg.schedule, cfg.warmup_steps))
        lr = opts[0].param_groups[0]["lr"]
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        logits = _forward(model, batch)  # (B, C)
        if class_weights is not None and class_weights.numel() != logits.shape[1]:
            raise ConfigError(
                f"TrainConfig.class_weights: expected {logits.shape[1]} weights (one per class), "
                f"got {class_weights.numel()}"
            )
        loss = _loss(logits, labels, class_weights)
        loss.backward()
        if cfg.clip_norm is not None:
            clip_dense_grads(params, cfg.clip_norm)
        for opt in opts:
            opt.step()
        state.global_step += 1
        loss_sum += float(loss.detach()) * len(labels)
        seen += len(labels)
        if progress is not None:
            elapsed = max(time.perf_counter() - start, 1e-9)
            progress(ProgressEvent(epoch, step, steps, state.global_step, loss_sum / seen, seen / elapsed, lr))
    return loss_sum / seen, lr


def _snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _after_epoch(model, dev_batches, cfg, state, epoch, train_loss, lr) -> tuple[dict[str, float] | None, bool]:
    """Evaluate, update best/patience bookkeeping and history; returns (dev metrics, is_best)."""
    record: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss, "lr": lr}
    dev, is_best = None, False
    if dev_batches is not None:
        first = next(iter(dev_batches), None)
        regression = first is not None and first.labels is not None and first.labels.is_floating_point()
        dev = (evaluate_regression if regression else evaluate)(model, dev_batches).metrics()
        record.update({f"dev_{k}": v for k, v in dev.items()})
        score = dev["accuracy"] if "accuracy" in dev else -dev["rmse"]  # higher is better
        is_best = state.best_accuracy is None or score > state.best_accuracy
        if is_best:
            state.best_accuracy, state.best_epoch, state.bad_epochs = score, epoch, 0
            state.best_weights = _snapshot(model)
        else:
            state.bad_epochs += 1
    state.history.append(record)
    state.next_epoch = epoch + 1
    state.stopped_early = cfg.patience is not None and dev is not None and state.bad_epochs >= cfg.patience
    state.finished = state.stopped_early or state.next_epoch >= cfg.epochs
    return dev, is_best


def _save(path: Path, model, opts, cfg: TrainConfig, state: _RunState, run_info: dict[str, Any] | None) -> None:
    tensors = {"rng/cpu": torch.get_rng_state()}
    device = _device(model)
    if device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(device)
    for name, value in (state.best_weights or {}).items():
        tensors[f"best/{name}"] = value
    extra = {"state": state.to_json(), "train_config": cfg.to_dict()}
    to_dict = getattr(getattr(model, "config", None), "to_dict", None)
    if callable(to_dict):
        extra["model_config"] = to_dict()
    if run_info is not None:
        extra["run"] = run_info
    save_checkpoint(path, model, extra, optimizers=opts, tensors=tensors)


def _check_same_run(path: Path, cfg: TrainConfig, run_info: dict[str, Any] | None) -> None:
    """ConfigError naming the first difference between this run and the checkpoint's (before
    anything is loaded: a changed vocabulary would otherwise fail as a shape mismatch, or not at all)."""
    extra = read_checkpoint_extra(path)
    if run_info is not None:
        if "run" not in extra:
            raise ConfigError(
                f"resume from {path}: the checkpoint does not record the settings and data it was made "
                f"with (an older embedlayer wrote it); expected a checkpoint that does: start again"
            )
        diff = first_difference(extra["run"], run_info)
        if diff is not None:
            raise ConfigError(
                f"resume from {path}: {describe_difference(diff)}; expected the settings and data of "
                f"the first run (only the number of epochs may change)"
            )
    # fields added after the checkpoint was written count as their defaults
    saved_cfg = {**TrainConfig().to_dict(), **dict(extra.get("train_config", {}))}
    current = cfg.to_dict()
    saved_cfg.pop("epochs", None), current.pop("epochs")  # more epochs may be asked for on resume
    diff = first_difference(saved_cfg, current)
    if diff is not None:
        named = ((f"TrainConfig.{diff[0][0]}",), diff[1], diff[2])
        raise ConfigError(
            f"resume from {path}: {describe_difference(named, then='the checkpoint was trained with')}; "
            f"expected the same settings (only epochs may change)"
        )


def _restore(path: Path, model, opts, cfg: TrainConfig, run_info: dict[str, Any] | None) -> _RunState:
    _check_same_run(path, cfg, run_info)
    ckpt = load_checkpoint(path, model, optimizers=opts)
    try:
        state = _RunState(**ckpt.extra["state"])
    except (KeyError, TypeError) as exc:
        raise FormatError(f"{ckpt.directory}: checkpoint has no valid trainer state ({exc})") from exc
    if "rng/cpu" not in ckpt.tensors:
        raise FormatError(f"{ckpt.directory}: checkpoint has no RNG state (tensor 'rng/cpu'); cannot resume exactly")
    best = {k.removeprefix("best/"): v for k, v in ckpt.tensors.items() if k.startswith("best/")}
    device = _device(model)
    state.best_weights = {k: v.to(device) for k, v in best.items()} or None
    torch.set_rng_state(ckpt.tensors["rng/cpu"])
    if device.type == "cuda" and "rng/cuda" in ckpt.tensors:
        torch.cuda.set_rng_state(ckpt.tensors["rng/cuda"], device)
    state.finished = state.stopped_early or state.next_epoch >= cfg.epochs
    return state


def fit(
    model: nn.Module,
    train_batches: Callable[[int], Iterable[Batch]],
    dev_batches: Iterable[Batch] | None,
    cfg: TrainConfig,
    *,
    progress: Progress | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    run_info: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train ``model(ids, lengths, mask) -> logits`` with cross-entropy (a batch with an
    ``inputs`` tuple: ``model(*batch.inputs)``; float labels: squared error of ``logits[:, 0]``,
    and early stopping on the lowest dev RMSE, kept as ``best_accuracy = -RMSE``).

    ``train_batches(epoch)`` gives the labelled batches of 0-based ``epoch`` (shuffle there,
    deterministically per epoch). A sized result (list, DataLoader) is consumed lazily; anything
    else is materialised into a list per epoch. ``train_batches(0)`` is also counted once up front
    to size the LR schedule (total = epochs * its length). ``dev_batches`` must be re-iterable (a
    list): it is evaluated after every epoch; early stopping (``cfg.patience``) and the choice of
    the weights left in the model at the end (best dev accuracy, earliest on ties) use it. Without
    it there is no early stopping and the last weights stay.

    ``checkpoint_dir``: after every epoch, weights, optimizer and RNG state, history and the best
    weights are saved in ``checkpoint_dir/last`` (see :mod:`embedlayer.train.checkpoint`).
    ``resume=True`` continues from there (a fresh start if there is none); its TrainConfig must
    equal ``cfg`` except ``epochs`` (ConfigError otherwise).
    ``run_info``: what else the run was made from (JSON-able: settings, digests of the data and
    the vocabulary); stored in each checkpoint, and on resume it must equal the checkpoint's
    (ConfigError naming the first difference, before anything is loaded).
    ``progress`` receives a ProgressEvent per step and an EpochEvent per epoch.
    A row-wise ``cfg.sparse_optimizer`` is bound to the tables for the run only: the model leaves
    ``fit`` with plain tables (to fit again, copy or save).
    """
    if dev_batches is not None and iter(dev_batches) is dev_batches:
        raise ConfigError("fit: dev_batches is a one-shot iterator; expected a re-iterable collection such as a list")
    opts = build_optimizers(model, cfg)
    try:
        return _train(
            model,
            opts,
            train_batches,
            dev_batches,
            cfg,
            progress,
            checkpoint_dir,
            resume,
            None if run_info is None else json.loads(json.dumps(run_info)),
        )  # tuples as JSON reads them
    finally:
        unbind_row_optimizers(opts)


def _train(
    model: nn.Module,
    opts: list[torch.optim.Optimizer],
    train_batches: Callable[[int], Iterable[Batch]],
    dev_batches: Iterable[Batch] | None,
    cfg: TrainConfig,
    progress: Progress | None,
    checkpoint_dir: str | os.PathLike[str] | None,
    resume: bool,
    run_info: dict[str, Any] | None,
) -> TrainResult:
    """The body of :func:`fit`, with the optimizers built."""
    device = _device(model)
    class_weights = None
    if cfg.class_weights is not None:
        class_weights = torch.tensor(cfg.class_weights, dtype=torch.float32, device=device)
    total_steps = cfg.epochs * _count(train_batches(0))
    path = Path(checkpoint_dir) / LAST if checkpoint_dir is not None else None
    rng_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(cfg.seed)
        state = _RunState()
        if resume and path is not None and has_checkpoint(path):
            state = _restore(path, model, opts, cfg, run_info)
        while not state.finished:
            epoch, start = state.next_epoch, time.perf_counter()
            batches = _sized(train_batches(epoch))
            train_loss, lr = _train_epoch(model, batches, epoch, opts, cfg, state, total_steps, class_weights, progress)
            dev, is_best = _after_epoch(model, dev_batches, cfg, state, epoch, train_loss, lr)
            if path is not None:
                _save(path, model, opts, cfg, state, run_info)
            if progress is not None:
                seconds = time.perf_counter() - start
                progress(
                    EpochEvent(epoch, train_loss, dev, lr, is_best, state.best_epoch, state.best_accuracy, seconds)
                )
    if state.best_weights is not None:
        model.load_state_dict(state.best_weights)
    return TrainResult(
        history=tuple(state.history),
        best_epoch=state.best_epoch,
        best_accuracy=state.best_accuracy,
        epochs_run=len(state.history),
        stopped_early=state.stopped_early,
        global_step=state.global_step,
    )
