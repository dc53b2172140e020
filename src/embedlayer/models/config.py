"""Typed, immutable configs for encoders and text classifiers.

A config is validated once, when it is built (``__post_init__``), and then only read. Every
validation failure raises :class:`~embedlayer.errors.ConfigError` naming the field, the bad value
and what was expected. ``to_dict`` gives plain JSON-able values; ``from_dict`` is its inverse and
validates unknown or missing keys as well.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from embedlayer.errors import ConfigError
from embedlayer.subwords import SubwordSpec

__all__ = [
    "BAG_POOLINGS",
    "ENCODER_KINDS",
    "POSITIONS",
    "RNN_CELLS",
    "RNN_POOLINGS",
    "ClassifierConfig",
    "EncoderConfig",
]

EncoderKind = Literal["bag", "cnn", "rnn", "transformer", "fasttext"]
BagPooling = Literal["mean", "max"]
RnnCell = Literal["gru", "lstm"]
RnnPooling = Literal["last", "max", "mean"]
Positions = Literal["learned", "sinusoidal"]
FtCombine = Literal["row", "word"]
#: The choices of each field, for validation and for the CLI (one source for both).
ENCODER_KINDS: tuple[str, ...] = get_args(EncoderKind)
BAG_POOLINGS: tuple[str, ...] = get_args(BagPooling)
RNN_CELLS: tuple[str, ...] = get_args(RnnCell)
RNN_POOLINGS: tuple[str, ...] = get_args(RnnPooling)
POSITIONS: tuple[str, ...] = get_args(Positions)
FT_COMBINES: tuple[str, ...] = get_args(FtCombine)


def _fail(owner: str, name: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"{owner}.{name}: expected {expected}, got {value!r}")


def _check_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(owner, name, value, f"an integer >= {minimum}")


def _check_bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _fail(owner, name, value, "True or False")


def _check_choice(owner: str, name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _fail(owner, name, value, "one of " + ", ".join(repr(c) for c in choices))


def _check_prob(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise _fail(owner, name, value, "a probability in [0, 1)")


def _check_keys(cls: type, data: Mapping[str, Any]) -> None:
    """Raise ConfigError on keys ``cls`` does not have or required keys that are missing."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{cls.__name__}.from_dict: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{cls.__name__}: unknown key(s) {', '.join(map(repr, unknown))}; expected some of {', '.join(fields)}"
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{cls.__name__}: missing required key(s) {', '.join(map(repr, missing))}")


@dataclass(frozen=True, kw_only=True)
class EncoderConfig:
    """What turns the (B, T, D) token vectors into one (B, out_dim) vector per text."""

    # Which encoder: "bag" (masked mean/max of the vectors: fast, order-blind, a strong baseline),
    # "cnn" (Kim-2014 n-gram filters), "rnn" (GRU/LSTM) or "transformer" (self-attention).
    kind: EncoderKind = "cnn"
    # Bag only: "mean" averages the real tokens; "max" takes the per-dimension maximum.
    pooling: BagPooling = "mean"
    # CNN only: filter widths in tokens (3-5-grams as in Kim 2014) and filters per width; the
    # output has len(cnn_widths) * cnn_channels features.
    cnn_widths: tuple[int, ...] = (3, 4, 5)
    cnn_channels: int = 100
    # RNN only: LSTM by default (GRU is cheaper and usually as good on short texts); hidden units
    # per direction; stacked layers; bidirectional doubles the output size.
    rnn_cell: RnnCell = "lstm"
    rnn_hidden: int = 128
    rnn_layers: int = 1
    bidirectional: bool = True
    # RNN only: how the per-step outputs become one vector. "max" over valid steps is the most
    # robust on classification; "last" is the final hidden state (both directions); "mean".
    rnn_pooling: RnnPooling = "max"
    # Transformer only: blocks, attention heads (must divide the embedding dimension D), the
    # feed-forward width (None: 4 * D as in the original paper), the longest sequence the
    # positional table covers, and "learned" positions or fixed "sinusoidal" ones.
    tf_layers: int = 2
    tf_heads: int = 2
    tf_ff: int | None = None
    max_positions: int = 512
    tf_positions: Positions = "learned"
    # fastText only (kind "fasttext": the mean of word, word n-gram and char n-gram rows, then the
    # head; see embedlayer.models.fasttext): word n-grams up to this length (2: bigrams, 1: words
    # only), hash buckets after the word rows shared by word and char n-grams, and char n-grams
    # ft_minn..ft_maxn (ft_maxn 0: none); ft_eos: every text ends with fastText's "</s>" token.
    # ft_combine: "row" (fastText) makes every row one term of the text's mean; "word" first
    # averages a word's own row with its char n-gram rows, so each word (and word n-gram) is one term.
    ft_word_ngrams: int = 2
    ft_buckets: int = 2_000_000
    ft_minn: int = 0
    ft_maxn: int = 0
    ft_eos: bool = True
    ft_combine: FtCombine = "row"
    # Dropout *inside* the encoder: between stacked RNN layers (only when rnn_layers > 1) and in
    # the transformer blocks. Bag and CNN have no internal dropout; the classifier adds its own
    # dropout before and after the encoder (ClassifierConfig.dropout).
    dropout: float = 0.5

    def __post_init__(self) -> None:
        own = "EncoderConfig"
        _check_choice(own, "kind", self.kind, ENCODER_KINDS)
        _check_choice(own, "pooling", self.pooling, BAG_POOLINGS)
        widths = self.cnn_widths
        if isinstance(widths, list):  # from JSON
            widths = tuple(widths)
            object.__setattr__(self, "cnn_widths", widths)
        if (
            not isinstance(widths, tuple)
            or not widths
            or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths)
        ):
            raise _fail(own, "cnn_widths", self.cnn_widths, "a non-empty tuple of integers >= 1")
        _check_int(own, "cnn_channels", self.cnn_channels, 1)
        _check_choice(own, "rnn_cell", self.rnn_cell, RNN_CELLS)
        _check_int(own, "rnn_hidden", self.rnn_hidden, 1)
        _check_int(own, "rnn_layers", self.rnn_layers, 1)
        _check_bool(own, "bidirectional", self.bidirectional)
        _check_choice(own, "rnn_pooling", self.rnn_pooling, RNN_POOLINGS)
        _check_int(own, "tf_layers", self.tf_layers, 1)
        _check_int(own, "tf_heads", self.tf_heads, 1)
        if self.tf_ff is not None:
            _check_int(own, "tf_ff", self.tf_ff, 1)
        _check_int(own, "max_positions", self.max_positions, 1)
        _check_choice(own, "tf_positions", self.tf_positions, POSITIONS)
        _check_prob(own, "dropout", self.dropout)
        _check_int(own, "ft_word_ngrams", self.ft_word_ngrams, 1)
        _check_int(own, "ft_buckets", self.ft_buckets, 0)
        _check_int(own, "ft_minn", self.ft_minn, 0)
        _check_int(own, "ft_maxn", self.ft_maxn, 0)
        _check_bool(own, "ft_eos", self.ft_eos)
        _check_choice(own, "ft_combine", self.ft_combine, FT_COMBINES)
        if self.ft_maxn and not 1 <= self.ft_minn <= self.ft_maxn:
            raise _fail(own, "ft_minn", self.ft_minn, f"an integer in [1, ft_maxn={self.ft_maxn}]")
        if self.kind == "fasttext" and self.ft_buckets == 0 and (self.ft_word_ngrams > 1 or self.ft_maxn):
            raise _fail(own, "ft_buckets", self.ft_buckets, "an integer >= 1 with word or char n-grams")

    def check_input_dim(self, input_dim: int) -> None:
        """Validate what depends on the embedding dimension D; ConfigError names both values."""
        _check_int("EncoderConfig", "input_dim", input_dim, 1)
        if self.kind == "transformer" and input_dim % self.tf_heads:
            raise ConfigError(
                f"EncoderConfig.tf_heads: expected a divisor of the embedding dimension {input_dim}, "
                f"got {self.tf_heads!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists); ``from_dict`` inverts it."""
        out = dataclasses.asdict(self)
        out["cnn_widths"] = list(self.cnn_widths)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EncoderConfig:
        """Build from ``to_dict`` output. Raises ConfigError on unknown keys or bad values."""
        _check_keys(cls, data)
        return cls(**dict(data))


@dataclass(frozen=True, kw_only=True)
class ClassifierConfig:
    """A text classifier: embedding table -> dropout -> encoder -> dropout -> linear head."""

    # Rows of the embedding table: Vocab.num_embeddings (tokens plus hash buckets).
    num_embeddings: int
    # Width D of each token vector; 100 matches the common GloVe size and trains fast on CPU.
    embedding_dim: int = 100
    # Row that padding ids use; kept at zero and never updated. None: no padding row.
    padding_idx: int | None = 0
    # Number of labels (>= 2); the head outputs one logit per class.
    num_classes: int
    # The encoder between the embeddings and the head.
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    # Dropout on the encoder output, before the head (Kim 2014 uses 0.5).
    dropout: float = 0.5
    # A second, frozen copy of the (pretrained) table beside the trained one, concatenated into
    # 2·D-wide token vectors (Kim 2014, "multichannel"): rows the training never reaches keep
    # features consistent with the rows it tuned. Only meaningful with pretrained vectors.
    static_channel: bool = False
    # Dropout on the token vectors; None: the same as `dropout`. Low-dimensional pretrained
    # vectors (GloVe 50d) usually want less than the head does.
    embedding_dropout: float | None = None
    # Renormalise looked-up rows whose norm exceeds this (None: off).
    embedding_max_norm: float | None = None
    # Sparse embedding gradients: only the rows in a batch get a gradient, and the trainer uses
    # SparseAdam for them (fast for large vocabularies; see embedlayer.train.optim).
    sparse_embedding: bool = False
    # Subword token vectors (embedlayer.layers.subword.SubwordEmbedding): each word's own row plus
    # its hashed character n-grams, so words unseen in training get vectors. The table then has
    # num_embeddings + subwords.buckets rows. None: one row per word.
    subwords: SubwordSpec | None = None

    def __post_init__(self) -> None:
        own = "ClassifierConfig"
        if isinstance(self.subwords, Mapping):  # from JSON
            object.__setattr__(self, "subwords", SubwordSpec.from_dict(self.subwords))
        if self.subwords is not None and not isinstance(self.subwords, SubwordSpec):
            raise _fail(own, "subwords", self.subwords, "None or a SubwordSpec")
        if self.subwords is not None and (self.static_channel or self.embedding_max_norm is not None):
            what = "static_channel" if self.static_channel else "embedding_max_norm"
            raise _fail(own, what, getattr(self, what), "no static channel and no max norm with subwords")
        _check_int(own, "num_embeddings", self.num_embeddings, 1)
        _check_int(own, "embedding_dim", self.embedding_dim, 1)
        if self.padding_idx is not None and (
            isinstance(self.padding_idx, bool)
            or not isinstance(self.padding_idx, int)
            or not 0 <= self.padding_idx < self.num_embeddings
        ):
            raise _fail(own, "padding_idx", self.padding_idx, f"None or an id in [0, {self.num_embeddings})")
        _check_int(own, "num_classes", self.num_classes, 2)
        if isinstance(self.encoder, Mapping):  # from JSON
            object.__setattr__(self, "encoder", EncoderConfig.from_dict(self.encoder))
        if not isinstance(self.encoder, EncoderConfig):
            raise _fail(own, "encoder", self.encoder, "an EncoderConfig")
        _check_bool(own, "static_channel", self.static_channel)
        self.encoder.check_input_dim(self.token_dim)
        _check_prob(own, "dropout", self.dropout)
        if self.embedding_dropout is not None:
            _check_prob(own, "embedding_dropout", self.embedding_dropout)
        mn = self.embedding_max_norm
        if mn is not None and (isinstance(mn, bool) or not isinstance(mn, (int, float)) or not mn > 0):
            raise _fail(own, "embedding_max_norm", mn, "None or a number > 0")
        _check_bool(own, "sparse_embedding", self.sparse_embedding)

    @property
    def token_dim(self) -> int:
        """Width of the token vectors the encoder reads: D, or 2·D with the static channel."""
        return self.embedding_dim * (2 if self.static_channel else 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict with the encoder nested; ``from_dict`` inverts it."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["encoder"] = self.encoder.to_dict()
        if self.subwords is None:
            del out["subwords"]  # a word-only model's config stays as it was before subwords
        else:
            out["subwords"] = self.subwords.to_dict()
        return out

    @property
    def table_rows(self) -> int:
        """Rows of the token table: ``num_embeddings``, plus the n-gram buckets with subwords."""
        return self.num_embeddings + (self.subwords.buckets if self.subwords is not None else 0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassifierConfig:
        """Build from ``to_dict`` output. Raises ConfigError on unknown/missing keys or bad values."""
        _check_keys(cls, data)
        return cls(**dict(data))
