"""The data path of the fastText-style encoder (``EncoderConfig.kind == "fasttext"``) inside
:class:`~embedlayer.tasks.classification.TextClassificationPipeline`.

Texts become CSR rows once (:func:`encode_rows`: words, hashed word n-grams, char n-grams), and
training is :func:`embedlayer.models.fasttext.train_epochs` (compiled Hogwild SGD, fastText's
linear learning-rate decay). ``TrainConfig`` supplies ``epochs``, ``lr``, ``batch_size`` (1 is
fastText's per-example update) and ``seed``; the other TrainConfig settings (optimizers,
schedule, clipping, patience, checkpoints) do not apply: the learning rate falls to 0 over the
epochs asked for, and the model kept is the last one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from embedlayer.errors import ConfigError
from embedlayer.models.config import EncoderConfig
from embedlayer.models.fasttext import FastTextClassifier, train_epochs
from embedlayer.models.fasttext_ids import build_weighted_rows, gc_paused
from embedlayer.text import Example
from embedlayer.train import EpochEvent, EvalResult, TrainConfig, TrainResult

if TYPE_CHECKING:
    from embedlayer.tasks.classification import PipelineConfig, TextClassificationPipeline
    from embedlayer.vectors import Vectors

__all__ = [
    "encode_rows",
    "evaluate_examples",
    "extra_rows",
    "fit_fasttext",
    "predict_proba",
    "resolved",
    "scores",
    "split_rows",
]

#: CSR rows of texts: ids (M,) int64, offsets (N + 1,) int64, weights (M,) float32 or None.
Rows = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def extra_rows(encoder: EncoderConfig) -> int:
    """Table rows an encoder adds after the vocabulary's: the fastText buckets, else 0."""
    return encoder.ft_buckets if encoder.kind == "fasttext" else 0


def resolved(config: PipelineConfig, vectors: Vectors | None) -> PipelineConfig:
    """``config`` for the fastText encoder: ``config.subwords`` (``--subwords``/``--buckets``)
    become its char n-grams and buckets (``ft_minn``, ``ft_maxn``, ``ft_buckets``). ConfigError
    with pretrained vectors: its word and n-gram rows train from fastText's random start."""
    if vectors is not None:
        raise ConfigError("encoder 'fasttext' trains its own word and n-gram rows: expected no pretrained vectors")
    spec = config.subwords
    if spec is None:
        return config
    encoder = dataclasses.replace(config.encoder, ft_minn=spec.min_n, ft_maxn=spec.max_n, ft_buckets=spec.buckets)
    return dataclasses.replace(config, encoder=encoder, subwords=None)


def encode_rows(pipeline: TextClassificationPipeline, texts: Iterable[str]) -> Rows:
    """CSR ``(ids (M,) int64, offsets (N + 1,) int64, weights)`` of the rows of each text (first
    ``max_len`` tokens; weights (M,) float32 with ``ft_combine="word"``, else None); the
    vocabulary's padding and unknown rows are never used."""
    model = pipeline.model
    assert isinstance(model, FastTextClassifier)
    vocab = pipeline.vocab
    skip = frozenset(i for i in (vocab.pad_id, vocab.unk_id) if i is not None)
    with gc_paused():
        tokens = [pipeline.tokenizer.tokenize(text) for text in texts]
    return build_weighted_rows(tokens, vocab.stoi, model.scheme, max_len=pipeline.max_len, skip=skip)


def split_rows(ids: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    """The CSR rows as one list per text."""
    return [part.tolist() for part in np.split(ids, offsets[1:-1])]


def _logits(model: FastTextClassifier, rows: Rows) -> torch.Tensor:
    """(N, C) logits of the texts ``rows``."""
    ids, offsets, weights = rows
    w = None if weights is None else torch.from_numpy(weights)
    with torch.no_grad():
        return model.forward_bags(torch.from_numpy(ids), torch.from_numpy(offsets), w)


def predict_proba(pipeline: TextClassificationPipeline, texts: Iterable[str]) -> np.ndarray:
    """(N, C) float32 class probabilities of ``texts``."""
    model = pipeline.model
    assert isinstance(model, FastTextClassifier)
    model.eval()
    return torch.softmax(_logits(model, encode_rows(pipeline, texts)), dim=-1).numpy()


def evaluate_examples(pipeline: TextClassificationPipeline, examples: Sequence[Example], source: str) -> EvalResult:
    """:func:`scores` of labelled ``examples`` (their label ids checked against ``source``)."""
    model = pipeline.model
    assert isinstance(model, FastTextClassifier)
    labels = np.asarray(pipeline.label_ids(examples, source), dtype=np.int64)
    model.eval()
    return scores(model, encode_rows(pipeline, (ex.text for ex in examples)), labels)


def scores(model: FastTextClassifier, rows: Rows, labels: np.ndarray) -> EvalResult:
    """Loss, accuracy, macro-F1 and confusion of the texts ``rows`` against ``labels``."""
    from embedlayer.train.metrics import confusion_matrix, macro_f1

    with torch.no_grad():
        logits = _logits(model, rows)  # (N, C)
        y = torch.from_numpy(labels)
        loss = float(torch.nn.functional.cross_entropy(logits, y)) if len(y) else float("nan")
        probs = torch.softmax(logits, dim=-1).numpy()
    pred = probs.argmax(axis=1).astype(np.int64)
    classes = model.config.num_classes
    confusion = confusion_matrix(labels, pred, classes)
    accuracy = float((pred == labels).mean()) if len(labels) else float("nan")
    return EvalResult(loss, accuracy, macro_f1(labels, pred, classes), confusion, labels, pred, probs)


def fit_fasttext(
    pipeline: TextClassificationPipeline,
    train: Sequence[Example],
    dev: Sequence[Example] | None,
    config: TrainConfig,
    *,
    progress: Callable[[Any], None] | None = None,
    sources: tuple[str, str] = ("train", "dev"),
) -> TrainResult:
    """Train the pipeline's FastTextClassifier on ``train`` (dev accuracy reported per epoch)."""
    model = pipeline.model
    assert isinstance(model, FastTextClassifier)
    ids, offsets, weights = encode_rows(pipeline, (ex.text for ex in train))
    labels = np.asarray(pipeline.label_ids(train, sources[0]), dtype=np.int64)
    dev_data = None
    if dev:
        dev_data = (
            encode_rows(pipeline, (ex.text for ex in dev)),
            np.asarray(pipeline.label_ids(dev, sources[1]), dtype=np.int64),
        )
    history: list[dict[str, Any]] = []
    clock = [time.perf_counter()]

    def on_epoch(epoch: int, loss: float) -> None:
        lr = config.lr * (1.0 - (epoch + 1) / config.epochs)
        entry: dict[str, Any] = {"epoch": epoch, "train_loss": loss, "lr": lr}
        dev_metrics = None
        if dev_data is not None:
            dev_metrics = scores(model, *dev_data).metrics()
            entry.update({f"dev_{k}": v for k, v in dev_metrics.items()})
        history.append(entry)
        if progress is not None:
            accuracy = None if dev_metrics is None else dev_metrics["accuracy"]
            seconds = time.perf_counter() - clock[0]
            event = EpochEvent(epoch, loss, dev_metrics, lr, True, epoch, accuracy, seconds)
            progress(event)
        clock[0] = time.perf_counter()

    model.train()
    train_epochs(
        model,
        ids,
        offsets,
        labels,
        epochs=config.epochs,
        lr=config.lr,
        batch_size=config.batch_size,
        seed=config.seed,
        on_epoch=on_epoch,
        weights=weights,
    )
    model.eval()
    last = history[-1] if history else {}
    best = last.get("dev_accuracy")
    n = len(offsets) - 1
    return TrainResult(
        tuple(history),
        config.epochs - 1 if dev_data is not None else None,
        best,
        config.epochs,
        False,
        config.epochs * -(-n // config.batch_size),
    )
