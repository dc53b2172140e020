"""TextClassifier: embedding -> dropout -> encoder -> dropout -> linear head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.layers.embedding import Embedding
from embedlayer.layers.subword import SubwordEmbedding
from embedlayer.models.config import ClassifierConfig
from embedlayer.models.encoders import build_encoder
from embedlayer.models.fasttext import FastTextClassifier
from embedlayer.vocab import Vocab

__all__ = ["TextClassifier", "build_classifier"]


class TextClassifier(nn.Module):
    """Logits for padded token ids. Build it with :func:`build_classifier`.

    Attributes: ``config`` (the ClassifierConfig), ``embedding`` (an embedlayer Embedding),
    ``encoder`` (see :mod:`embedlayer.models.encoders`), ``head`` (``nn.Linear(out_dim, C)``).
    """

    def __init__(
        self, config: ClassifierConfig, embedding: Embedding, encoder: nn.Module, static: Embedding | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.embedding = embedding
        self.static_embedding = static  # frozen second channel (config.static_channel), else None
        emb_p = config.dropout if config.embedding_dropout is None else config.embedding_dropout
        self.embedding_dropout = nn.Dropout(emb_p)
        self.encoder = encoder
        self.encoder_dropout = nn.Dropout(config.dropout)
        # out_dim is a plain int attribute of every encoder, which nn.Module's typing cannot see
        self.head = nn.Linear(encoder.out_dim, config.num_classes)  # type: ignore[arg-type]

    def forward(self, ids: Tensor, lengths: Tensor, mask: Tensor | None = None) -> Tensor:
        """ids (B, T) int64, lengths (B,) int64, mask (B, T) bool True on tokens (None: built
        from ``lengths``) -> logits (B, C). Raises IdOutOfRangeError for ids outside the table."""
        if mask is None:
            mask = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        x = self.embedding(ids)  # (B, T, D)
        if self.static_embedding is not None:
            x = torch.cat([x, self.static_embedding(ids)], dim=-1)  # (B, T, 2D)
        h = self.encoder(self.embedding_dropout(x), mask, lengths)  # (B, out_dim)
        return self.head(self.encoder_dropout(h))  # (B, C)


def _fasttext(cfg: ClassifierConfig, embedding: Embedding | None, seed: int) -> FastTextClassifier:
    """The fastText-style model (encoder kind "fasttext"): its own table of words and buckets."""
    if embedding is not None or cfg.static_channel:
        raise ConfigError(
            "build_classifier: encoder kind 'fasttext' trains its own table of word and n-gram rows; "
            "expected no pretrained embedding and no static channel"
        )
    return FastTextClassifier(cfg, seed=seed)


def _derive_seed(generator: torch.Generator | None, seed: int) -> int:
    if generator is None:
        return seed
    return int(torch.randint(0, 2**62, (1,), generator=generator))


def _subword_embedding(cfg: ClassifierConfig, words: Vocab | Sequence[str] | None, seed: int) -> SubwordEmbedding:
    """The random token table of a config with ``subwords``: a SubwordEmbedding of ``words``."""
    spec = cfg.subwords
    if spec is None or words is None:
        raise ConfigError("build_classifier: a config with subwords needs the vocabulary: pass words=vocab")
    layer = SubwordEmbedding(
        words,
        cfg.embedding_dim,
        min_n=spec.min_n,
        max_n=spec.max_n,
        buckets=spec.buckets,
        combine=spec.combine,
        word_rows=spec.word_rows,
        padding_idx=cfg.padding_idx,
        sparse=cfg.sparse_embedding,
        generator=torch.Generator().manual_seed(seed),
    )
    if layer.num_words != cfg.num_embeddings:
        raise ConfigError(
            f"build_classifier: words has {layer.num_words} ids, expected num_embeddings {cfg.num_embeddings}"
        )
    return layer


def build_classifier(
    cfg: ClassifierConfig,
    *,
    embedding: Embedding | None = None,
    generator: torch.Generator | None = None,
    seed: int = 0,
    words: Vocab | Sequence[str] | None = None,
) -> TextClassifier | FastTextClassifier:
    """A TextClassifier for ``cfg`` whose weights depend only on ``cfg`` and the seed.

    The seed is ``seed``, or one number drawn from ``generator`` when it is given. The embedding
    table is initialised from its own ``torch.Generator``; the encoder and head (torch modules
    that initialise from the global RNG) are built inside ``torch.random.fork_rng`` seeded with
    it, so the caller's global RNG state is left as it was. Not thread-safe with other code that
    uses the global RNG at the same moment.

    With ``cfg.encoder.kind == "fasttext"`` the model is a
    :class:`~embedlayer.models.fasttext.FastTextClassifier` (mean of word and n-gram rows, then the
    head) and ``embedding`` must be None.

    ``embedding``: use this table (e.g. ``Embedding.from_vectors``) instead of a random one; its
    shape must be (cfg.num_embeddings, cfg.embedding_dim), else ConfigError. With
    ``cfg.static_channel`` the frozen second channel starts as a copy of it.

    With ``cfg.subwords`` the token table is a :class:`~embedlayer.layers.subword.SubwordEmbedding`
    of ``words`` (the vocabulary, needed then) with (cfg.table_rows, D) rows, or ``embedding`` if
    it is one of that shape.
    """
    if not isinstance(cfg, ClassifierConfig):
        raise TypeError(f"build_classifier: expected a ClassifierConfig, got {type(cfg).__name__}")
    seed = _derive_seed(generator, seed)
    if cfg.encoder.kind == "fasttext":
        return _fasttext(cfg, embedding, seed)
    if embedding is None and cfg.subwords is not None:
        embedding = _subword_embedding(cfg, words, seed)
    elif embedding is None:
        embedding = Embedding(
            cfg.num_embeddings,
            cfg.embedding_dim,
            padding_idx=cfg.padding_idx,
            max_norm=cfg.embedding_max_norm,
            sparse=cfg.sparse_embedding,
            generator=torch.Generator().manual_seed(seed),
        )
    else:
        shape = tuple(embedding.weight.shape)
        if shape != (cfg.table_rows, cfg.embedding_dim):
            raise ConfigError(
                f"build_classifier: embedding has shape {shape}, expected "
                f"(num_embeddings, embedding_dim) = ({cfg.table_rows}, {cfg.embedding_dim}) from the config"
            )
        if (cfg.subwords is not None) != isinstance(embedding, SubwordEmbedding):
            raise ConfigError(
                f"build_classifier: embedding is a {type(embedding).__name__}; expected a SubwordEmbedding "
                f"exactly when the config has subwords ({cfg.subwords})"
            )
    static = None
    if cfg.static_channel:
        static = Embedding(
            cfg.num_embeddings, cfg.embedding_dim, padding_idx=cfg.padding_idx, freeze=True, generator=torch.Generator()
        )  # its values are replaced just below
        static.weight.data.copy_(embedding.weight.detach())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)  # a stream distinct from the embedding's
        encoder = build_encoder(cfg.encoder, cfg.token_dim)
        return TextClassifier(cfg, embedding, encoder, static)
