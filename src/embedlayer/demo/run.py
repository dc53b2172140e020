"""`embedlayer demo`: one sentiment classifier, three ways to start its embedding layer.

The same encoder is trained on the same split of real tweets with the embedding layer initialised
(1) at random, (2) from GloVe and frozen, (3) from GloVe and fine-tuned. The run folder gets the
three models, a report (markdown + JSON), the learning curves as a PNG, and the nearest neighbours
of a few sentiment words in GloVe before and after fine-tuning.

Tweets are split by the ``social`` tokenizer (URLs, @mentions, #hashtags, emoticons and emoji whole,
hashtags also split into GloVe words, elongations cut, clitics split GloVe's way; see
``embedlayer.demo.coverage``); the report gives GloVe's coverage of the training split's types and
tokens with the ``word`` tokenizer (before) and with it (after).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlayer.demo.coverage import coverage_before_after, demo_tokenizer
from embedlayer.demo.data import load_glove, tweets_path
from embedlayer.demo.report import write_report
from embedlayer.errors import ConfigError
from embedlayer.models import EncoderConfig
from embedlayer.models.config import EncoderKind
from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
from embedlayer.text import DecodeReport, Example, Tokenizer, WordTokenizer, read_examples
from embedlayer.train import TrainConfig
from embedlayer.vectors import Vectors
from embedlayer.viz.curves import neighbours_table

VARIANTS = (  # name, use GloVe, freeze
    ("random", False, False),
    ("glove-frozen", True, True),
    ("glove-finetuned", True, False),
)


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """What the demo runs; the defaults finish in a few minutes on 2 CPU cores."""

    out: Path  # run folder (created)
    encoder: EncoderKind = "cnn"  # bag | cnn | rnn | transformer — the same for all three runs
    tokenizer: str = "social"  # social (hashtag words from the vectors_vocab first GloVe words) | word
    epochs: int = 6  # at most; early stopping on dev accuracy with `patience`
    patience: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    embedding_lr: float = 3e-3  # SparseAdam on the embedding rows: pretrained rows need a push to adapt
    embedding_dropout: float = 0.2  # on the 50-d token vectors (0.5 before the head)
    vectors_vocab: int = 100_000  # GloVe runs also know the 100k most frequent GloVe words
    seed: int = 0
    dev_fraction: float = 0.1  # stratified by label
    test_fraction: float = 0.1
    limit: int | None = None  # use a random sample of N tweets (quick runs)
    words: tuple[str, ...] = ("good", "bad", "love", "hate", "great", "awful", "happy", "scary")
    min_neighbour_count: int = 10  # neighbours are searched among words seen this often in training

    def __post_init__(self) -> None:
        if self.encoder not in ("bag", "cnn", "rnn", "transformer"):
            raise ConfigError(f"encoder {self.encoder!r}: expected bag, cnn, rnn or transformer")
        if self.tokenizer not in ("social", "word"):
            raise ConfigError(f"tokenizer {self.tokenizer!r}: expected social or word")
        if (
            not 0 < self.dev_fraction < 1
            or not 0 < self.test_fraction < 1
            or self.dev_fraction + self.test_fraction >= 1
        ):
            raise ConfigError(
                f"dev_fraction {self.dev_fraction} and test_fraction {self.test_fraction}: expected each in (0, 1) "
                "with a sum below 1"
            )
        if self.limit is not None and self.limit < 30:
            raise ConfigError(f"limit {self.limit}: expected at least 30 tweets")


@dataclass
class VariantResult:
    name: str
    accuracy: float
    macro_f1: float
    train_seconds: float
    epochs: int
    best_epoch: int | None
    coverage: dict[str, Any] | None
    history: list[dict[str, Any]] = field(default_factory=list)


def split_examples(examples: Sequence[Example], dev: float, test: float, seed: int) -> tuple[list[Example], ...]:
    """Stratified train/dev/test split: each label's examples are shuffled (seeded) and cut."""
    rng = np.random.default_rng(seed)
    parts: tuple[list[Example], ...] = ([], [], [])
    by_label: dict[str | None, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, []).append(ex)
    for label in sorted(by_label, key=str):
        group = by_label[label]
        order = rng.permutation(len(group))
        n_dev, n_test = round(len(group) * dev), round(len(group) * test)
        for rank, i in enumerate(order):
            part = 1 if rank < n_dev else 2 if rank < n_dev + n_test else 0
            parts[part].append(group[i])
    return parts


def run_demo(
    config: DemoConfig,
    *,
    log: Callable[[str], None] = lambda message: None,
    progress: Callable[[str], Callable[[Any], None]] | None = None,
) -> dict[str, Any]:
    """Run the three trainings and write the run folder; returns the report as a dict.

    ``log`` receives one-line status messages; ``progress(name)`` returns the training progress
    callback for the run called ``name``.
    """
    started = time.perf_counter()
    path = tweets_path()
    decode = DecodeReport()
    examples = list(read_examples(path, text_col="text", label_col="sentiment", format="csv", report=decode))
    if config.limit is not None and config.limit < len(examples):  # the file is sorted by label: sample
        keep = np.sort(np.random.default_rng(config.seed).permutation(len(examples))[: config.limit])
        examples = [examples[i] for i in keep]
    log(
        f"tweets: {len(examples)} from {path.name} ({decode.bytes_replaced} non-UTF-8 bytes replaced on "
        f"{decode.lines_replaced} lines)"
    )
    train, dev, test = split_examples(examples, config.dev_fraction, config.test_fraction, config.seed)
    log(f"split: {len(train)} train / {len(dev)} dev / {len(test)} test, stratified, seed {config.seed}")
    t0 = time.perf_counter()
    glove = load_glove()
    log(f"GloVe 6B 50d: {len(glove)} words × {glove.vector_size} loaded in {time.perf_counter() - t0:.1f}s")
    tokenizer: Tokenizer = (
        demo_tokenizer(glove, config.vectors_vocab) if config.tokenizer == "social" else WordTokenizer()
    )
    coverage = coverage_before_after(tokenizer, [ex.text for ex in train], glove)
    for side, cov in coverage.items():
        log(
            f"GloVe coverage of the training split, {side} ({cov['tokenizer']} tokenizer): "
            f"{cov['type_coverage']:.1%} of {cov['types']} types, {cov['token_coverage']:.1%} of {cov['tokens']} tokens"
        )

    results: list[VariantResult] = []
    pipelines: dict[str, TextClassificationPipeline] = {}
    for name, use_glove, freeze in VARIANTS:
        pipeline, result = _train_variant(
            name, use_glove, freeze, glove, tokenizer, (train, dev, test), config, log, progress
        )
        pipelines[name], results = pipeline, [*results, result]
        pipeline.save(config.out / "models" / name)

    neighbours = _neighbours(config, glove, pipelines["glove-finetuned"])
    report = {
        "data": {
            "tweets": str(path),
            "examples": len(examples),
            "train": len(train),
            "dev": len(dev),
            "test": len(test),
            "labels": list(pipelines["random"].labels),
            "non_utf8_bytes_replaced": decode.bytes_replaced,
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "tokenizer": {"config": tokenizer.config(), "coverage": coverage},
        "results": [asdict(r) for r in results],
        "neighbours": neighbours,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_report(config.out, report)
    return report


def _train_variant(
    name: str,
    use_glove: bool,
    freeze: bool,
    glove: Vectors,
    tokenizer: Tokenizer,
    splits: tuple[list[Example], list[Example], list[Example]],
    config: DemoConfig,
    log: Callable[[str], None],
    progress: Callable[[str], Callable[[Any], None]] | None,
) -> tuple[TextClassificationPipeline, VariantResult]:
    pipeline_config = PipelineConfig(
        embedding_dim=glove.vector_size,
        encoder=EncoderConfig(kind=config.encoder),
        freeze=freeze,
        seed=config.seed,
        embedding_dropout=config.embedding_dropout,
        vectors_vocab=config.vectors_vocab,
    )
    train, dev, test = splits
    pipeline = TextClassificationPipeline.build(
        train, pipeline_config, vectors=glove if use_glove else None, tokenizer=tokenizer
    )
    if pipeline.coverage is not None:
        log(f"[{name}] GloVe coverage of the vocabulary: {pipeline.coverage.summary()}")
    train_config = TrainConfig(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        embedding_lr=config.embedding_lr,
        patience=config.patience,
        seed=config.seed,
    )
    t0 = time.perf_counter()
    fitted = pipeline.fit(train, dev, train_config, progress=None if progress is None else progress(name))
    seconds = time.perf_counter() - t0
    scores = pipeline.evaluate(test, source="test split")
    log(f"[{name}] test accuracy {scores.accuracy:.4f}  macro-F1 {scores.macro_f1:.4f}  ({seconds:.0f}s)")
    return pipeline, VariantResult(
        name=name,
        accuracy=round(scores.accuracy, 4),
        macro_f1=round(scores.macro_f1, 4),
        train_seconds=round(seconds, 1),
        epochs=len(fitted.history),
        best_epoch=fitted.best_epoch,
        coverage=None if pipeline.coverage is None else pipeline.coverage.to_dict(),
        history=list(fitted.history),
    )


def _neighbours(config: DemoConfig, glove: Vectors, tuned: TextClassificationPipeline) -> dict[str, Any]:
    """Nearest neighbours of the sentiment words among frequent training words, before (GloVe rows)
    and after fine-tuning (the tuned embedding rows) — the same candidate words on both sides."""
    vocab = tuned.vocab
    specials = set(vocab.specials)
    candidates = [
        t
        for t, c in zip(vocab.itos, vocab.counts)
        if c >= config.min_neighbour_count and t.isalpha() and t not in specials and t in glove
    ]
    if not candidates:
        return {}
    rows = [vocab.stoi[t] for t in candidates]
    tuned_matrix = tuned.model.embedding.weight.detach().numpy()[rows]
    before = Vectors(candidates, np.stack([glove[t] for t in candidates]))
    after = Vectors(candidates, tuned_matrix)
    return neighbours_table([w for w in config.words if w in before], before, after)
