"""Text classification end to end: texts → tokens → ids → embedding layer → encoder → labels.

`TextClassificationPipeline` bundles everything a trained classifier needs to read new text
(tokenizer, vocabulary, label names, maximum length) with the model, and saves it as a folder:

    model.safetensors   the weights (no pickle)
    vocab.json          the vocabulary (see `Vocab.save`)
    tokenizer.json      a subword tokenizer's (bpe, wordpiece, unigram, --tokenizer-file), when it has one;
                        hashtag_words.txt, the social tokenizer's word list, when it has one
    config.json         format version, model config, tokenizer config, labels, max_len, and the
                        size and SHA-256 of the files above

The folder is saved as one unit: config.json is removed first and written last, and loading
checks the other files against it, so a save killed between files, or a file copied in from
another model, is an error ("interrupted save", "does not match"), never a silently mixed model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedlayer.batching import Batch, BucketBatchSampler, pad_batch
from embedlayer.errors import ConfigError, DataError, ModelError, where
from embedlayer.layers import CoverageReport, Embedding
from embedlayer.layers.options import MISSING_POLICIES, MissingPolicy
from embedlayer.layers.subword import SubwordEmbedding
from embedlayer.models import ClassifierConfig, EncoderConfig, TextClassifier, build_classifier
from embedlayer.models.fasttext import FastTextClassifier
from embedlayer.models.fasttext_ids import gc_paused
from embedlayer.subwords import SubwordSpec
from embedlayer.tasks import fasttext, subword, text_tokenizer
from embedlayer.tasks.model_folder import (
    FORMAT,
    FORMAT_VERSION,
    UNIT,
    build_for_state,
    check_files,
    check_labels,
    finish_unit,
    read_config,
    start_unit,
)
from embedlayer.text import Example, Tokenizer
from embedlayer.train import EvalResult, TrainConfig, TrainResult, evaluate, fit
from embedlayer.vectors import Vectors
from embedlayer.vocab import Vocab


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """How raw text becomes ids and which model reads them (everything but the training loop)."""

    tokenizer: str = "word"  # word | char | byte | whitespace | social, or bpe | wordpiece | unigram (trained)
    lowercase: bool = True  # word/char/whitespace/social tokenizers: fold case; trained ones: lowercase first
    tokenizer_vocab: int | None = None  # entries of a trained bpe/wordpiece/unigram tokenizer (None: 16,000)
    tokenizer_file: str | None = None  # a Hugging Face tokenizer.json to read with (tokenizer left at "word")
    min_count: int = 1  # drop training tokens seen fewer times (they map to <unk>)
    max_vocab: int | None = None  # keep only the most frequent tokens (specials not counted)
    max_len: int = 128  # truncate longer texts (tokens); batches pad to their longest text
    embedding_dim: int = 100  # ignored when pretrained vectors are given (their dimension wins)
    encoder: EncoderConfig = EncoderConfig()
    dropout: float = 0.5  # before the output layer
    embedding_dropout: float | None = None  # on the token vectors (None: same as dropout)
    freeze: bool = False  # keep pretrained rows fixed
    static_channel: bool = False  # with vectors: also a frozen copy of them, concatenated (Kim 2014)
    missing: MissingPolicy = "random"  # vocabulary words the vectors lack: random | zero | mean
    # Also add the N first (most frequent) words of the vectors to the vocabulary, so words the
    # training data never showed still get their pretrained row at prediction time instead of
    # <unk>. 0: the vocabulary is the training data's only. Costs N x D weights in the model.
    vectors_vocab: int = 0
    sparse: bool = True  # sparse embedding gradients (only rows in the batch move)
    # Subword token vectors: each word's row plus its hashed character n-grams (fastText's), so
    # words unseen in training get vectors at prediction time (embedlayer.tasks.subword). None: off.
    subwords: SubwordSpec | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        """Check every field when built (before any data is read): ConfigError naming it."""

        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"PipelineConfig.{name}: expected {expected}, got {getattr(self, name)!r}")

        text_tokenizer.check_settings(self.tokenizer, self.tokenizer_vocab, self.tokenizer_file)
        for name, least in (("min_count", 1), ("max_len", 1), ("embedding_dim", 1), ("vectors_vocab", 0)):
            if not _is_int(getattr(self, name)) or getattr(self, name) < least:
                raise bad(name, f"an integer >= {least}")
        if self.max_vocab is not None and (not _is_int(self.max_vocab) or self.max_vocab < 1):
            raise bad("max_vocab", "None or an integer >= 1")
        for name in ("dropout", "embedding_dropout"):
            value = getattr(self, name)
            if (value is not None or name == "dropout") and not (_is_number(value) and 0.0 <= value < 1.0):
                raise bad(name, "a probability in [0, 1)" + (" or None" if name == "embedding_dropout" else ""))
        for name in ("lowercase", "freeze", "static_channel", "sparse"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "True or False")
        if self.missing not in MISSING_POLICIES:
            raise bad("missing", "one of " + ", ".join(map(repr, MISSING_POLICIES)))
        if not isinstance(self.encoder, EncoderConfig):
            raise bad("encoder", "an EncoderConfig")
        if self.subwords is not None and not isinstance(self.subwords, SubwordSpec):
            raise bad("subwords", "None or a SubwordSpec")
        if self.subwords is not None and self.static_channel:
            raise bad("static_channel", "False with subwords (the static channel is a table of words only)")
        if not _is_int(self.seed):
            raise bad("seed", "an integer")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the encoder nested), as a checkpoint records it."""
        out = dataclasses.asdict(self)
        out["encoder"] = self.encoder.to_dict()
        if self.subwords is None:
            del out["subwords"]  # a word-only run's record stays as it was before subwords
        return out

    def make_tokenizer(self, texts: Iterable[str] = ()) -> Tokenizer:
        """The tokenizer of these settings; a bpe/wordpiece/unigram one is trained on ``texts``."""
        return text_tokenizer.build_tokenizer(self, texts)


class TextClassificationPipeline:
    """A trained (or trainable) text classifier with the tokenizer and vocabulary it reads with.

    Build one with `TextClassificationPipeline.build` (from training examples) or `load` (from a
    saved folder); `fit` trains it, `predict`/`predict_proba`/`evaluate` use it.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        vocab: Vocab,
        labels: Sequence[str],
        model: TextClassifier | FastTextClassifier,
        *,
        max_len: int,
        coverage: CoverageReport | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.labels = tuple(labels)
        self.label_to_index = {label: i for i, label in enumerate(self.labels)}
        self.model = model
        self.max_len = max_len
        self.coverage = coverage
        self.config: PipelineConfig | None = None  # set by `build`; a loaded pipeline has none

    # ---------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        train: Sequence[Example],
        config: PipelineConfig = PipelineConfig(),
        *,
        vectors: Vectors | None = None,
        tokenizer: Tokenizer | None = None,
    ) -> TextClassificationPipeline:
        """Vocabulary, labels and an untrained model from the training examples.

        Labels are sorted (so ids do not depend on file order). With ``vectors`` the embedding
        rows start from them (see `Embedding.from_vectors`) and ``config.embedding_dim`` is
        replaced by the vectors' dimension. ``tokenizer`` replaces the one of ``config.tokenizer``
        (e.g. a ``SocialTokenizer`` with a word list); a bpe/wordpiece/unigram one is trained here.
        Raises DataError when there are no examples or fewer than two labels.
        """
        if not train:
            raise DataError("no training examples: expected at least one labelled text")
        labels = sorted({ex.label for ex in train if ex.label is not None})
        if len(labels) < 2:
            raise DataError(f"training data has {len(labels)} distinct label(s) {labels}: expected at least 2")
        if config.encoder.kind == "fasttext":  # char n-grams in its own table, not a SubwordEmbedding
            config = fasttext.resolved(config, vectors)
        if (config.freeze or config.static_channel) and vectors is None:
            what = "freeze=True" if config.freeze else "static_channel=True"
            raise ConfigError(f"{what} needs pretrained vectors: a frozen random table never learns")
        if tokenizer is None:
            tokenizer = config.make_tokenizer(ex.text for ex in train)
        with gc_paused():  # counting allocates per token; the collector would walk every object each time
            vocab = Vocab.build(
                (tokenizer.tokenize(ex.text) for ex in train),
                min_count=config.min_count,
                max_size=config.max_vocab,
            )
        if config.vectors_vocab and vectors is not None:
            vocab = vocab.extend(vectors.index_to_key[: config.vectors_vocab])
        generator = torch.Generator().manual_seed(config.seed)
        embedding: Embedding | None = None
        dim = config.embedding_dim
        subwords = config.subwords
        if subwords is not None:  # a SubwordEmbedding (from the vectors, or drawn by build_classifier)
            embedding = subword.subword_table(config, vocab, vectors)
            subwords = subword.table_spec(embedding, subwords)
            dim = dim if vectors is None else vectors.vector_size
        elif vectors is not None:
            embedding = Embedding.from_vectors(
                vectors, vocab, missing=config.missing, freeze=config.freeze, seed=config.seed, sparse=config.sparse
            )
            dim = vectors.vector_size
        model_config = ClassifierConfig(
            num_embeddings=vocab.num_embeddings + fasttext.extra_rows(config.encoder),
            embedding_dim=dim,
            padding_idx=vocab.pad_id,
            num_classes=len(labels),
            encoder=config.encoder,
            dropout=config.dropout,
            embedding_dropout=config.embedding_dropout,
            sparse_embedding=config.sparse,
            static_channel=config.static_channel,
            subwords=subwords,
        )
        model = build_classifier(model_config, embedding=embedding, generator=generator, words=vocab)
        pipeline = cls(
            tokenizer, vocab, labels, model, max_len=config.max_len, coverage=getattr(embedding, "coverage", None)
        )
        pipeline.config = config
        return pipeline

    # ---------------------------------------------------------------- data → batches
    def encode(self, texts: Iterable[str]) -> list[list[int]]:
        """Token ids of each text, truncated to ``max_len`` (fastText encoder: its rows)."""
        if isinstance(self.model, FastTextClassifier):
            return fasttext.split_rows(*fasttext.encode_rows(self, texts)[:2])
        if isinstance(self.model.embedding, SubwordEmbedding):  # unseen words: their n-gram bags
            return subword.encode_texts(self, texts)
        tokenize, encode, n = self.tokenizer.tokenize, self.vocab.encode, self.max_len
        return [encode(tokenize(text)[:n]) for text in texts]

    def label_ids(self, examples: Sequence[Example], source: str = "data") -> list[int]:
        """Label index of each example; DataError for a label the model was not trained on."""
        out = []
        for ex in examples:
            index = self.label_to_index.get(ex.label) if ex.label is not None else None
            if index is None:
                raise DataError(
                    f"{where(source, ex.line)}: label {ex.label!r} was not seen in training; "
                    f"expected one of {list(self.labels)}"
                )
            out.append(index)
        return out

    def batches(
        self,
        ids: Sequence[Sequence[int]],
        labels: Sequence[int] | None,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        epoch: int = 0,
    ) -> Iterator[Batch]:
        """Padded batches; similar lengths are grouped (shuffled per epoch when ``shuffle``)."""
        sampler = BucketBatchSampler([len(x) for x in ids], batch_size, shuffle=shuffle, seed=seed)
        sampler.set_epoch(epoch)
        pad = self.vocab.pad_id if self.vocab.pad_id is not None else 0
        for index in sampler:
            yield pad_batch(
                [ids[i] for i in index], pad_id=pad, labels=None if labels is None else [labels[i] for i in index]
            )

    # ---------------------------------------------------------------- training and use
    def fit(
        self,
        train: Sequence[Example],
        dev: Sequence[Example] | None,
        config: TrainConfig = TrainConfig(),
        *,
        progress: Callable[[Any], None] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        sources: tuple[str, str] = ("train", "dev"),
        run_info: dict[str, Any] | None = None,
    ) -> TrainResult:
        """Train on ``train``, early-stopping on ``dev`` accuracy when given (best epoch restored).

        Checkpoints record ``run_info`` (what the caller made the run from: options, digests of
        the data files), then this pipeline's config, a digest of its vocabulary and its labels;
        ``resume`` refuses a checkpoint whose record differs, naming the first difference."""
        if isinstance(self.model, FastTextClassifier):  # compiled Hogwild SGD, no checkpoints
            return fasttext.fit_fasttext(self, train, dev, config, progress=progress, sources=sources)
        train_ids, train_y = self.encode(ex.text for ex in train), self.label_ids(train, sources[0])
        dev_batches = None
        if dev:
            dev_ids, dev_y = self.encode(ex.text for ex in dev), self.label_ids(dev, sources[1])
            dev_batches = list(self.batches(dev_ids, dev_y, max(config.batch_size, 256)))

        def train_batches(epoch: int) -> Iterable[Batch]:
            return self.batches(train_ids, train_y, config.batch_size, shuffle=True, seed=config.seed, epoch=epoch)

        record = {
            **(run_info or {}),
            "pipeline": self.config.to_dict() if self.config is not None else None,
            "tokenizer": self.tokenizer.config(),
            "vocabulary": self.vocab_digest(),
            "labels": list(self.labels),
        }
        return fit(
            self.model,
            train_batches,
            dev_batches,
            config,
            progress=progress,
            checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir),
            resume=resume,
            run_info=record,
        )

    def vocab_digest(self) -> str:
        """SHA-256 of the vocabulary (tokens, counts, specials, OOV policy): which row is which word."""
        text = json.dumps(self.vocab.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def evaluate(self, examples: Sequence[Example], *, source: str = "data", batch_size: int = 256) -> EvalResult:
        """Loss, accuracy, macro-F1 and confusion matrix on labelled examples."""
        if not examples:
            raise DataError(f"{source}: no examples to evaluate")
        if isinstance(self.model, FastTextClassifier):  # one pooled lookup, with its row weights
            return fasttext.evaluate_examples(self, examples, source)
        ids, y = self.encode(ex.text for ex in examples), self.label_ids(examples, source)
        return evaluate(self.model, self.batches(ids, y, batch_size))

    @torch.no_grad()
    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        """Class probabilities, shape (N, C), rows in the order of ``texts``."""
        self.model.eval()
        if isinstance(self.model, FastTextClassifier):
            return fasttext.predict_proba(self, texts)
        ids = self.encode(texts)
        out = np.zeros((len(ids), len(self.labels)), dtype=np.float32)
        pad = self.vocab.pad_id if self.vocab.pad_id is not None else 0
        for start in range(0, len(ids), batch_size):
            batch = pad_batch(ids[start : start + batch_size], pad_id=pad)
            logits = self.model(batch.ids, batch.lengths, batch.mask)  # (B, C)
            out[start : start + batch_size] = torch.softmax(logits, dim=-1).numpy()
        return out

    def predict(self, texts: Sequence[str], *, batch_size: int = 256) -> list[tuple[str, float]]:
        """The most probable label of each text with its probability."""
        probs = self.predict_proba(texts, batch_size=batch_size)
        return [(self.labels[int(i)], float(p[i])) for p, i in zip(probs, probs.argmax(axis=1))]

    # ---------------------------------------------------------------- files
    def save(self, directory: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
        """Write the pipeline to ``directory`` (created if needed) as one unit: config.json goes
        first and comes back last, recording the size and hash of the weights and the vocabulary
        (each file is written atomically; other files in the folder are left alone)."""
        out = start_unit(directory, self.model)
        self.vocab.save(out / "vocab.json")
        config = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": self.model.config.to_dict(),
            "tokenizer": self.tokenizer.config(),
            "labels": list(self.labels),
            "max_len": self.max_len,
            **(extra or {}),
        }
        side = text_tokenizer.save(self.tokenizer, out)  # tokenizer.json, a word list: in the unit
        return finish_unit(out, config, UNIT + side)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TextClassificationPipeline:
        """Read a folder written by `save`; ModelError when its parts disagree."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(directory)
        if not folder.is_dir():
            raise ModelError(f"{folder}: not a model directory (expected config.json, vocab.json, model.safetensors)")
        for name in ("config.json", *UNIT):
            if not (folder / name).is_file():
                raise ModelError(
                    f"{folder}: {name} is missing; expected a folder written by `classify train` "
                    f"(a save that was interrupted leaves no config.json)"
                )
        config = read_config(folder / "config.json")
        side = text_tokenizer.side_files(config["tokenizer"], folder / "config.json")
        for name in side:
            if not (folder / name).is_file():
                raise ModelError(f"{folder}: {name} is missing; config.json's tokenizer reads it")
        check_files(folder, config, UNIT + side)
        vocab = Vocab.load(folder / "vocab.json")
        try:
            model_config = ClassifierConfig.from_dict(config["model"])
            tokenizer = text_tokenizer.load(config["tokenizer"], folder)
        except ConfigError as exc:
            raise ModelError(f"{folder / 'config.json'}: {exc}") from exc
        check_labels(config, model_config.num_classes, folder / "config.json")
        if vocab.num_embeddings + fasttext.extra_rows(model_config.encoder) != model_config.num_embeddings:
            raise ModelError(
                f"{folder}: vocab.json has {vocab.num_embeddings} rows but config.json expects "
                f"{model_config.num_embeddings}: the vocabulary and the model do not belong together"
            )
        try:
            state = load_file(str(folder / "model.safetensors"))
        except (SafetensorError, OSError) as exc:
            raise ModelError(f"{folder / 'model.safetensors'}: unreadable weights ({exc})") from exc
        model = build_for_state(lambda: build_classifier(model_config, words=vocab), state, folder)
        model.eval()
        return cls(tokenizer, vocab, config["labels"], model, max_len=config["max_len"])
