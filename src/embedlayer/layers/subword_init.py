"""Pretrained starts of a :class:`~embedlayer.layers.subword.SubwordEmbedding`.

* :func:`from_fasttext`: a fastText model (``.bin``, also ``embedlayer pretrain --subwords``'s
  ``model.bin``): its n-gram settings, its bucket rows as they are, and the input row of every
  vocabulary word it holds. A vocabulary word it lacks gets, with ``combine="mean"``, the mean of
  its n-gram rows as own row (so its vector is fastText's vector for that unseen word), and zero
  with ``"sum"`` (its vector is then the sum of its n-gram rows); specials are zero.
* :func:`from_vectors`: plain word vectors fill the word rows (aligned as
  :func:`~embedlayer.layers.pretrained.align_vectors` does: exact, then lowercase; missing words per
  ``missing``); the n-gram rows start at zero, and with ``combine="mean"`` each word row is scaled
  by its bag size, so every word starts with its pretrained vector exactly.

And the other way: :func:`word_vectors` gives a layer's words as :class:`SubwordVectors`, whose
queries (``most_similar``) also answer words outside the vocabulary, from their n-grams.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from embedlayer.errors import ConfigError, FormatError
from embedlayer.subwords import DEFAULT_BUCKETS
from embedlayer.vectors import FastTextVectors, Vectors
from embedlayer.vocab import Vocab

if TYPE_CHECKING:
    from embedlayer.layers.subword import SubwordEmbedding

__all__ = ["SubwordVectors", "from_fasttext", "from_vectors", "open_fasttext", "word_vectors"]


def open_fasttext(source: str | os.PathLike[str] | FastTextVectors) -> FastTextVectors:
    """``source`` as FastTextVectors: loaded already, a ``.bin`` file, or a folder holding
    ``model.bin`` (what ``embedlayer pretrain --subwords`` writes).

    Raises:
        FormatError: a folder without model.bin, a file that is not a fastText model.
        ConfigError: a model without n-gram rows (trained with maxn 0 or bucket 0).
    """
    if isinstance(source, FastTextVectors):
        vectors = source
        name = "the given FastTextVectors"
    else:
        path = Path(source)
        if path.is_dir():
            if not (path / "model.bin").is_file():
                raise FormatError(
                    f"{path}: no model.bin, so no n-gram rows (`embedlayer pretrain` writes one only with "
                    f"--subwords); expected a fastText .bin or such a folder, or use from_vectors for word rows"
                )
            path = path / "model.bin"
        vectors = FastTextVectors.load(path)
        name = str(path)
    if not (vectors.bucket > 0 and vectors.maxn > 0):
        raise ConfigError(
            f"{name} has no n-gram rows (minn {vectors.minn}, maxn {vectors.maxn}, bucket {vectors.bucket}); "
            f"expected a fastText model trained with subwords"
        )
    return vectors


def from_fasttext(
    cls: type[SubwordEmbedding],
    source: str | os.PathLike[str] | FastTextVectors,
    vocab: Vocab | Sequence[str] | None = None,
    *,
    combine: str = "mean",
    **layer_kwargs: Any,
) -> SubwordEmbedding:
    """A SubwordEmbedding of ``vocab`` (None: the model's own words, in its order) starting from a
    fastText model: with ``combine="mean"`` and ``vocab=None`` its vectors are fastText's
    ``get_word_vector`` for every word, known or not (see the module docstring).

    ``layer_kwargs``: other SubwordEmbedding settings (``padding_idx``, ``sparse``, ``freeze``, ...);
    ``min_n``, ``max_n``, ``buckets`` and ``embedding_dim`` come from the model.

    Raises:
        ConfigError: n-gram settings passed that differ from the model's, or a model without them.
        FormatError: an unreadable model (see :func:`open_fasttext`).
    """
    ft = open_fasttext(source)
    own: dict[str, Any] = {"min_n": ft.minn, "max_n": ft.maxn, "buckets": ft.bucket}
    for name, value in own.items():
        given = layer_kwargs.pop(name, value)
        if given != value:
            raise ConfigError(
                f"SubwordEmbedding.from_fasttext: {name} {given!r} differs from the model's {value} "
                f"(its n-gram rows are hashed with minn {ft.minn}, maxn {ft.maxn}, bucket {ft.bucket}); "
                f"expected the model's settings"
            )
    dim = layer_kwargs.pop("embedding_dim", ft.vector_size)
    if dim != ft.vector_size:
        raise FormatError(f"the fastText model has dimension {ft.vector_size} but embedding_dim is {dim}")
    words: Vocab | Sequence[str] = ft.index_to_key if vocab is None else vocab
    matrix = ft.input_matrix  # (nwords + bucket, D) memory-mapped
    nwords = matrix.shape[0] - ft.bucket
    layer_kwargs.setdefault("padding_idx", "vocab")
    if vocab is None:  # the model's own words: </s> as the model's fastText version treats it
        layer_kwargs.setdefault("eos_ngrams", ft.args.version == 0)
    # a placeholder weight (no random table drawn), replaced by the model's rows below
    layer = cls(words, ft.vector_size, combine=combine, **own, _weight=torch.zeros(1, 1), **layer_kwargs)
    table = np.zeros((layer.num_words + ft.bucket, ft.vector_size), dtype=np.float32)
    table[layer.num_words :] = matrix[nwords:]
    found = [(i, ft.key_to_index.get(s)) for i, s in enumerate(layer.strings) if s is not None]
    have = np.array([i for i, j in found if j is not None], dtype=np.int64)
    table[have] = matrix[np.array([j for _, j in found if j is not None], dtype=np.int64)]
    if combine == "mean" and layer.spec.word_rows:
        offsets, rows = layer.bag_offsets.numpy(), layer.bag_rows.numpy()
        for i, j in found:
            if j is None and offsets[i + 1] - offsets[i] > 1:
                table[i] = table[rows[offsets[i] + 1 : offsets[i + 1]]].mean(axis=0)
    _install(layer, torch.from_numpy(table))
    return layer


def from_vectors(
    cls: type[SubwordEmbedding],
    vectors: Vectors,
    vocab: Vocab,
    *,
    min_n: int = 3,
    max_n: int = 6,
    buckets: int = DEFAULT_BUCKETS,
    combine: str = "sum",
    missing: str = "random",
    lowercase_fallback: bool = True,
    seed: int = 0,
    **layer_kwargs: Any,
) -> SubwordEmbedding:
    """A SubwordEmbedding of ``vocab`` whose word rows start from ``vectors`` (n-gram rows zero);
    ``layer.coverage`` holds the CoverageReport (see the module docstring).

    Raises:
        ConfigError: bad n-gram settings or ``missing`` policy.
        FormatError: ``embedding_dim`` passed and not the vectors' dimension.
    """
    from embedlayer.layers.pretrained import align_vectors

    dim = layer_kwargs.pop("embedding_dim", None)
    rows, report = align_vectors(
        vectors,
        vocab,
        missing=missing,  # type: ignore[arg-type]  # checked by align_vectors
        lowercase_fallback=lowercase_fallback,
        seed=seed,
        embedding_dim=dim,
    )
    layer = cls(
        vocab,
        rows.shape[1],
        min_n=min_n,
        max_n=max_n,
        buckets=buckets,
        combine=combine,
        _weight=torch.zeros(1, 1),  # a placeholder, replaced below
        **layer_kwargs,
    )
    table = torch.zeros(layer.num_words + buckets, rows.shape[1])
    table[: layer.num_words] = rows
    _install(layer, table)
    layer.scale_word_rows()
    layer.zero_padding_row()
    layer.coverage = report
    return layer


def _install(layer: SubwordEmbedding, table: torch.Tensor) -> None:
    """Make ``table`` (num_words + buckets, D) the layer's weight, in the layer's storage dtype."""
    requires_grad = layer.weight.requires_grad
    layer.weight = torch.nn.Parameter(table.to(layer.weight.dtype).contiguous(), requires_grad=requires_grad)
    layer.num_embeddings = table.shape[0]
    layer.zero_padding_row()


class SubwordVectors(Vectors):
    """``Vectors`` of a SubwordEmbedding's vocabulary words (their bag vectors); any other string
    gets the vector of its n-grams, as :class:`~embedlayer.vectors.FastTextVectors` does (so
    ``most_similar`` and ``most_similar_batch`` answer unseen words too). Build with :func:`word_vectors`."""

    def __init__(self, words: Sequence[str], matrix: np.ndarray, layer: SubwordEmbedding) -> None:
        super().__init__(words, matrix, copy=False)
        self._layer = layer

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str)

    def __getitem__(self, word: str) -> np.ndarray:
        return self.get_vector(word)

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The (D,) vector of ``word``: its row if a vocabulary word, else its n-grams' (unit length
        when ``norm``; a word without n-grams has the zero vector)."""
        if not isinstance(word, str) or word in self.key_to_index:
            return super().get_vector(word, norm=norm)
        with torch.no_grad():
            vector = self._layer.embed_words([word])[0].numpy()
        if norm:
            length = float(np.linalg.norm(vector))
            vector = vector / length if length > 0 else vector
        vector.flags.writeable = False
        return vector


def word_vectors(layer: SubwordEmbedding) -> SubwordVectors:
    """The vectors of ``layer``'s words (specials and the padding id left out), as it computes them."""
    ids = [i for i, s in enumerate(layer.strings) if s is not None and i != layer.padding_idx]
    with torch.no_grad():
        matrix = layer(torch.tensor(ids, dtype=torch.long)).numpy()
    return SubwordVectors([layer.strings[i] or "" for i in ids], matrix, layer)
