"""Vectors: a fixed set of words and their float32 rows, with cosine neighbours.

The names follow gensim's ``KeyedVectors`` (``index_to_key``, ``key_to_index``, ``vectors["king"]``,
``"king" in vectors``, ``most_similar``, ``similarity``) so users feel at home, without its
aliases or pickle format. A ``Vectors`` is immutable: the matrix is stored read-only, which is what
makes caching the unit-normalised matrix for ``most_similar`` safe.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal

import numpy as np

from embedlayer.errors import ConfigError, FormatError, VocabError

__all__ = ["Vectors"]


class Vectors:
    """Words and their vectors: row ``i`` of ``matrix`` belongs to ``index_to_key[i]``.

    Args:
        words: the N words, unique, each a ``str``.
        matrix: array-like of shape (N, D), converted to float32; every value must be finite.
        copy: copy ``matrix`` (default). Loaders pass ``False`` for an array they own, which is
            then made read-only in place.

    Raises:
        FormatError: a duplicate or non-string word, a matrix that is not 2-D, a row count that
            differs from the number of words, or a NaN/infinite value (naming the word).
    """

    def __init__(self, words: Sequence[str], matrix: np.ndarray, *, copy: bool = True) -> None:
        words = tuple(words)
        try:
            array = np.array(matrix, dtype=np.float32, copy=True) if copy else np.asarray(matrix, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise FormatError(f"vectors matrix is not a numeric (N, D) array: {exc}") from None
        if array.ndim != 2 or array.shape[1] < 1:
            raise FormatError(f"vectors matrix must be 2-D (N, D) with D >= 1, got shape {tuple(array.shape)}")
        if array.shape[0] != len(words):
            raise FormatError(
                f"vectors matrix has {array.shape[0]} rows but {len(words)} words were given; expected one row per word"
            )
        index: dict[str, int] = {}
        for i, word in enumerate(words):
            if not isinstance(word, str):
                raise FormatError(f"vectors word {i} is {word!r} ({type(word).__name__}); expected a str")
            if word in index:
                raise FormatError(f"duplicate word {word!r} at rows {index[word]} and {i}; expected unique words")
            index[word] = i
        finite = np.isfinite(array).all(axis=1) if array.size else np.ones(len(words), dtype=bool)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise FormatError(f"vector of word {words[row]!r} (row {row}) has a NaN or infinite value; "
                              f"expected finite numbers")
        array.flags.writeable = False
        self._words = words
        self._index = MappingProxyType(index)
        self._matrix = array
        self._normed: np.ndarray | None = None

    # --- the gensim-style read API -------------------------------------------------------------
    @property
    def index_to_key(self) -> tuple[str, ...]:
        """The words in row order."""
        return self._words

    @property
    def key_to_index(self) -> Mapping[str, int]:
        """word -> row, read-only."""
        return self._index

    @property
    def vector_size(self) -> int:
        """D, the length of each vector."""
        return int(self._matrix.shape[1])

    @property
    def matrix(self) -> np.ndarray:
        """The (N, D) float32 matrix, read-only (writing raises ``ValueError``)."""
        return self._matrix

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __iter__(self):
        return iter(self._words)

    def __repr__(self) -> str:
        return f"Vectors({len(self)} words, dim {self.vector_size})"

    def __getitem__(self, word: str) -> np.ndarray:
        """The (D,) vector of ``word``, read-only. Raises VocabError if ``word`` is absent."""
        return self._matrix[self._row(word)]

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The (D,) vector of ``word``; unit length (L2) when ``norm`` (a zero vector stays zero).

        Raises:
            VocabError: ``word`` is not in these vectors.
        """
        row = self._row(word)
        return self.normed_matrix()[row] if norm else self._matrix[row]

    def normed_matrix(self) -> np.ndarray:
        """(N, D) float32 rows scaled to unit L2 length, computed once and cached; read-only.

        An all-zero row stays zero, so its cosine with anything is 0 instead of NaN.
        """
        if self._normed is None:
            norms = np.linalg.norm(self._matrix, axis=1, keepdims=True)  # (N, 1)
            normed = self._matrix / np.where(norms > 0, norms, 1.0).astype(np.float32)
            normed.flags.writeable = False
            self._normed = normed
        return self._normed

    # --- similarity ------------------------------------------------------------------------------
    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors, in [-1, 1] (0.0 when one vector is zero).

        Raises:
            VocabError: a word is not in these vectors.
        """
        a, b = self.get_vector(w1, norm=True), self.get_vector(w2, norm=True)
        return float(np.dot(a.astype(np.float64), b.astype(np.float64)))

    def most_similar(
        self, positive: str | Sequence[str], negative: Sequence[str] = (), topn: int = 10
    ) -> list[tuple[str, float]]:
        """The ``topn`` words closest by cosine to the mean of the unit-normalised ``positive``
        vectors minus the ``negative`` ones (``most_similar(["king", "woman"], ["man"])`` is the
        analogy query), best first, excluding the query words themselves.

        Returns:
            ``[(word, cosine), ...]``, at most ``topn`` items, in decreasing cosine, ties by row.

        Raises:
            ConfigError: no query word, or ``topn`` is not a positive int.
            VocabError: a query word is not in these vectors.
        """
        pos = [positive] if isinstance(positive, str) else list(positive)
        neg = [negative] if isinstance(negative, str) else list(negative)
        if not pos and not neg:
            raise ConfigError("most_similar needs at least one positive or negative word, got none")
        if isinstance(topn, bool) or not isinstance(topn, int) or topn < 1:
            raise ConfigError(f"topn must be a positive int, got {topn!r}")
        normed = self.normed_matrix()
        rows = [self._row(w) for w in pos] + [self._row(w) for w in neg]
        weights = np.array([1.0] * len(pos) + [-1.0] * len(neg))
        query = (weights[:, None] * normed[rows].astype(np.float64)).mean(axis=0)  # (D,)
        length = np.linalg.norm(query)
        if length > 0:
            query /= length
        scores = (normed @ query.astype(np.float32)).astype(np.float64)  # (N,) cosines
        scores[rows] = -np.inf  # never return a query word
        return self._top(scores, min(topn, len(self) - len(set(rows))))

    def _top(self, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k best rows of ``scores``, best first; ties broken by lower row."""
        if k <= 0:
            return []
        candidates = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        order = sorted(candidates.tolist(), key=lambda r: (-scores[r], r))[:k]
        return [(self._words[r], float(scores[r])) for r in order]

    def _row(self, word: str) -> int:
        try:
            return self._index[word]
        except (KeyError, TypeError):
            raise VocabError(f"word {word!r} is not in these vectors ({len(self)} words)") from None

    # --- files -----------------------------------------------------------------------------------
    def save(
        self,
        path: str | os.PathLike[str],
        format: Literal["glove", "word2vec"] = "glove",
        *,
        precision: int | None = None,
    ) -> None:
        """Write the vectors as GloVe text (no header) or word2vec text (header ``"N D"``),
        atomically. ``precision=None`` writes the shortest decimal that reads back to the same
        float32 (exact round trip); an int writes that many significant digits.

        Raises:
            ConfigError: unknown ``format`` or bad ``precision``.
            FormatError: a word that text formats cannot hold (empty or containing whitespace).
        """
        from embedlayer.vectors.text_format import save_text  # local: text_format imports this module

        save_text(self, path, format=format, precision=precision)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Sequence[float]]]) -> Vectors:
        """Build from ``(word, vector)`` pairs, e.g. ``Vectors.from_pairs({"a": [1, 0]}.items())``."""
        items = list(pairs)
        words = [w for w, _ in items]
        if not items:
            raise FormatError("no (word, vector) pairs given; expected at least one to know the dimension")
        try:
            matrix = np.array([v for _, v in items], dtype=np.float32)
        except ValueError as exc:
            raise FormatError(f"vectors of different lengths or non-numeric values: {exc}") from None
        return cls(words, matrix, copy=False)
