"""PretrainConfig: every setting of a word-vector training run, validated once when built."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from embedlayer.errors import ConfigError

__all__ = ["PRETRAIN_MODELS", "PretrainConfig", "parse_subwords"]

PretrainModel = Literal["skipgram", "cbow"]
PRETRAIN_MODELS: tuple[str, ...] = get_args(PretrainModel)


def _bad(name: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"PretrainConfig.{name}: expected {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int)


def _is_num(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True)
class PretrainConfig:
    """Settings of skip-gram / CBOW training with negative sampling (defaults as word2vec's).

    Field comments say what each one does; ``ConfigError`` names the field and the bad value.
    """

    # "skipgram": a word predicts the words around it; "cbow": the mean of the words around a
    # position predicts the word there.
    model: PretrainModel = "skipgram"
    # Width of each vector.
    dim: int = 100
    # Largest distance between a word and a context word. Each position draws its own window
    # uniformly from 1..window ("dynamic window"), so near words count more, as in word2vec.
    window: int = 5
    # Noise words per positive example, drawn from the unigram distribution raised to 0.75.
    negative: int = 5
    # Words seen fewer times in the corpus are dropped before training.
    min_count: int = 5
    # Keep at most this many words (the most frequent); None: no limit.
    max_vocab: int | None = None
    # Down-sampling threshold of frequent words (word2vec's formula); 0 turns it off.
    sample: float = 1e-3
    # Passes over the corpus.
    epochs: int = 5
    # Starting learning rate (None: 0.025 for skip-gram and 0.05 for CBOW, word2vec's defaults;
    # 0.03 for skip-gram with subwords); it falls linearly to min_lr over the whole run.
    lr: float | None = None
    min_lr: float = 1e-4
    # Worker threads (Hogwild: lock-free updates of shared rows). One thread and a fixed seed give
    # bit-identical vectors run after run.
    threads: int = 1
    # Character n-gram lengths (fastText subwords) as (min, max); None: words only.
    subwords: tuple[int, int] | None = None
    # Hash buckets for the character n-grams (fastText's default 2,000,000).
    buckets: int = 2_000_000
    # Lines longer than this many words are cut into pieces of this size (a window never spans
    # two pieces), so a corpus with no line breaks at all still trains.
    max_sentence_length: int = 10_000
    # Lowercase every token before counting (off: tokens are taken as they are).
    lowercase: bool = False
    # Seeds the initial vectors, the noise draws, the windows and the down-sampling.
    seed: int = 1

    def __post_init__(self) -> None:
        if self.model not in PRETRAIN_MODELS:
            raise _bad("model", self.model, "'skipgram' or 'cbow'")
        for name in ("dim", "window", "epochs", "threads", "max_sentence_length"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise _bad(name, value, "an int >= 1")
        for name in ("negative", "min_count", "seed"):
            value = getattr(self, name)
            if not _is_int(value) or value < (1 if name == "negative" else 0):
                raise _bad(name, value, "an int >= 1" if name == "negative" else "an int >= 0")
        if self.max_vocab is not None and (not _is_int(self.max_vocab) or self.max_vocab < 1):
            raise _bad("max_vocab", self.max_vocab, "an int >= 1 or None")
        if not _is_num(self.sample) or self.sample < 0:
            raise _bad("sample", self.sample, "a number >= 0")
        if self.lr is not None and (not _is_num(self.lr) or self.lr <= 0):
            raise _bad("lr", self.lr, "a number > 0 or None")
        if not _is_num(self.min_lr) or self.min_lr < 0 or self.min_lr > self.start_lr:
            raise _bad("min_lr", self.min_lr, f"a number in [0, lr = {self.start_lr}]")
        if not isinstance(self.lowercase, bool):
            raise _bad("lowercase", self.lowercase, "True or False")
        if self.subwords is not None:
            object.__setattr__(self, "subwords", _check_subwords(self.subwords))
            if not _is_int(self.buckets) or self.buckets < 1:
                raise _bad("buckets", self.buckets, "an int >= 1 with subwords")

    @property
    def start_lr(self) -> float:
        """The learning rate at the first word (``lr``, or the model's default)."""
        if self.lr is not None:
            return float(self.lr)
        if self.model == "cbow":
            return 0.05
        # Skip-gram: word2vec's 0.025; with subwords 0.03, between it and fastText's 0.05 (on
        # english8.txt, 3 seeds: 0.025 left WS-353 0.02-0.03 below fastText's, 0.05 analogies 0.02
        # below; 0.03 is at or above fastText on analogies, WS-353 and SimLex within their spread)
        return 0.03 if self.subwords else 0.025

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``from_dict`` reads it back)."""
        out = dataclasses.asdict(self)
        out["subwords"] = list(self.subwords) if self.subwords else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PretrainConfig:
        """Inverse of ``to_dict``; unknown keys raise ConfigError naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"PretrainConfig: unknown settings {unknown}; expected some of {sorted(names)}")
        values = dict(data)
        if values.get("subwords") is not None:
            values["subwords"] = tuple(values["subwords"])
        return cls(**values)


def _check_subwords(value: Any) -> tuple[int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_int(v) for v in value):
        raise _bad("subwords", value, "(min, max) n-gram lengths as two ints, or None")
    low, high = value
    if low < 1 or high < low:
        raise _bad("subwords", tuple(value), "1 <= min <= max (e.g. (3, 6))")
    return int(low), int(high)


def parse_subwords(text: str) -> tuple[int, int]:
    """``"3-6"`` -> ``(3, 6)``; ConfigError for anything else (names the text)."""
    parts = text.split("-")
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = int(parts[0]), int(parts[1])
    except ValueError:
        raise ConfigError(f"--subwords: expected MIN-MAX n-gram lengths such as 3-6, got {text!r}") from None
    if low < 1 or high < low:
        raise ConfigError(f"--subwords: expected 1 <= MIN <= MAX, got {text!r}")
    return low, high
