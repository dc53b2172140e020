"""A text classifier with subword token vectors (``PipelineConfig.subwords``): its token table and
how its texts become ids.

* :func:`subword_table`: the pipeline's SubwordEmbedding: from a fastText model's rows when the
  vectors are one with n-grams (its n-gram settings are then the spec's: ConfigError when the spec
  asks for others), word rows from plain word vectors, else None (``build_classifier`` draws it);
* :func:`encode_texts`: token ids where a word outside the vocabulary (unseen in training, or
  below ``min_count``) gets an id of its own whose bag is its n-grams
  (:meth:`~embedlayer.layers.subword.SubwordEmbedding.word_ids`), instead of ``<unk>``;
* :func:`token_vectors`: a trained model's word vectors, for ``embedlayer vectors neighbors MODEL``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from embedlayer.errors import ConfigError
from embedlayer.layers.subword import SubwordEmbedding
from embedlayer.subwords import SubwordSpec
from embedlayer.vectors import FastTextVectors, Vectors
from embedlayer.vocab import Vocab

if TYPE_CHECKING:
    from embedlayer.tasks.classification import PipelineConfig, TextClassificationPipeline

__all__ = ["encode_texts", "subword_table", "token_vectors", "vectors_spec"]


def vectors_spec(spec: SubwordSpec, vectors: Vectors | None) -> SubwordSpec:
    """``spec`` as the vectors require it: a fastText model with n-grams fixes min_n, max_n and
    buckets (its rows are hashed that way). ConfigError names both when ``spec`` differs."""
    if not isinstance(vectors, FastTextVectors) or not (vectors.bucket > 0 and vectors.maxn > 0):
        return spec
    theirs = (vectors.minn, vectors.maxn, vectors.bucket)
    if (spec.min_n, spec.max_n, spec.buckets) != theirs:
        raise ConfigError(
            f"PipelineConfig.subwords: n-grams {spec.min_n}-{spec.max_n} in {spec.buckets:,} buckets differ "
            f"from the fastText vectors' {theirs[0]}-{theirs[1]} in {theirs[2]:,} buckets; expected theirs "
            f"(their n-gram rows are hashed that way)"
        )
    return spec


def subword_table(config: PipelineConfig, vocab: Vocab, vectors: Vectors | None) -> SubwordEmbedding | None:
    """The token table of a pipeline with ``config.subwords`` (see the module docstring)."""
    spec = config.subwords
    assert spec is not None
    if vectors is None:
        return None
    spec = vectors_spec(spec, vectors)
    settings = {"word_rows": spec.word_rows, "freeze": config.freeze, "sparse": config.sparse}
    if isinstance(vectors, FastTextVectors) and vectors.bucket > 0 and vectors.maxn > 0:
        return SubwordEmbedding.from_fasttext(vectors, vocab, combine=spec.combine, **settings)
    return SubwordEmbedding.from_vectors(
        vectors,
        vocab,
        min_n=spec.min_n,
        max_n=spec.max_n,
        buckets=spec.buckets,
        combine=spec.combine,
        missing=config.missing,
        seed=config.seed,
        **settings,
    )


def table_spec(layer: SubwordEmbedding | None, spec: SubwordSpec) -> SubwordSpec:
    """The spec the model config records: the layer's (a fastText model's settings) or ``spec``."""
    return spec if layer is None else dataclasses.replace(layer.spec)


def encode_texts(pipeline: TextClassificationPipeline, texts: Iterable[str]) -> list[list[int]]:
    """Token ids of each text, truncated to ``max_len``: vocabulary ids, and for any other word the
    id of its n-gram bag in the model's SubwordEmbedding (which keeps it)."""
    layer = pipeline.model.embedding
    if not isinstance(layer, SubwordEmbedding):
        raise ConfigError(f"encode_texts: the model's token table is a {type(layer).__name__}, not a SubwordEmbedding")
    tokenize, n = pipeline.tokenizer.tokenize, pipeline.max_len
    tokens = [tokenize(text)[:n] for text in texts]
    distinct = list(dict.fromkeys(t for text in tokens for t in text))
    ids = dict(zip(distinct, layer.word_ids(distinct)))  # one extension of the id space for all texts
    return [[ids[t] for t in text] for text in tokens]


def token_vectors(pipeline: TextClassificationPipeline) -> Vectors:
    """The token vectors of a trained classifier's vocabulary words (specials left out): with
    subwords, :class:`~embedlayer.layers.subword_init.SubwordVectors` (other words answered from
    their n-grams); else the rows of its embedding table (other words are not in it).

    Raises:
        ConfigError: a model without a token table of its own (e.g. the fastText encoder's).
    """
    from embedlayer.layers import Embedding
    from embedlayer.layers.subword_init import word_vectors

    layer = getattr(pipeline.model, "embedding", None)
    if isinstance(layer, SubwordEmbedding):
        return word_vectors(layer)
    if not isinstance(layer, Embedding):
        raise ConfigError(
            f"the model ({type(pipeline.model).__name__}) has no token embedding table; expected a classifier "
            f"trained with --encoder bag, cnn, rnn or transformer"
        )
    vocab = pipeline.vocab
    specials = set(vocab.specials) | {t for t in (vocab.pad_token, vocab.unk_token) if t is not None}
    ids = [i for i, w in enumerate(vocab.itos) if w not in specials]
    matrix = layer.weight.detach()[ids].float().numpy()
    return Vectors([vocab.itos[i] for i in ids], matrix)
