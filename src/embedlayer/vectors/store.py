"""Vectors: a fixed set of words and their float32 rows, with cosine neighbours.

The names follow gensim's ``KeyedVectors`` (``index_to_key``, ``key_to_index``, ``vectors["king"]``,
``"king" in vectors``, ``most_similar``, ``similarity``, ...) so users feel at home, without its
aliases or pickle format. A ``Vectors`` is immutable: the matrix is stored read-only, which is what
makes caching the row norms for ``most_similar`` safe. The queries live in ``similarity.py``.

A table opened from the native format (``native.py``) is memory-mapped and its words are read only
when a word lookup first needs them, so opening costs the same for 1,000 or 10,000,000 rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Literal

import numpy as np

from embedlayer.errors import ConfigError, FormatError, VocabError
from embedlayer.vectors.similarity import SimilarityMixin

__all__ = ["Vectors", "UnicodeErrors", "first_non_finite_row"]

#: How readers decode words that are not valid UTF-8, as in gensim: "strict" raises FormatError.
UnicodeErrors = Literal["strict", "replace", "ignore", "backslashreplace"]


class Vectors(SimilarityMixin):
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
        _check_shape(array)
        if array.shape[0] != len(words):
            raise FormatError(
                f"vectors matrix has {array.shape[0]} rows but {len(words)} words were given; expected one row per word"
            )
        index = _build_index(words, source=None)
        row = first_non_finite_row(array)
        if row is not None:
            raise FormatError(f"vector of word {words[row]!r} (row {row}) has a NaN or infinite value; "
                              f"expected finite numbers")
        if array.flags.writeable:
            array.flags.writeable = False
        self._init(array, words, index, None, None)

    @classmethod
    def with_lazy_words(
        cls, matrix: np.ndarray, load_words: Callable[[], Sequence[str]], *, source: str
    ) -> Vectors:
        """Vectors whose words are read by ``load_words()`` on the first lookup that needs them.

        For loaders of large tables (the native format): ``matrix`` is used as is (it must already
        be a read-only float32 (N, D) array, typically ``np.load(..., mmap_mode="r")``) and its
        values are not scanned, so this is O(1) in N. ``load_words`` must return exactly N words;
        its result is checked (count, type, duplicates) when first loaded, errors naming ``source``.
        """
        array = np.asarray(matrix)
        if array.dtype != np.float32:
            raise FormatError(f"{source}: matrix dtype is {array.dtype}; expected float32")
        _check_shape(array)
        if array.flags.writeable:
            array = array.view()
            array.flags.writeable = False
        self = cls.__new__(cls)
        self._init(array, None, None, load_words, source)
        return self

    def _init(self, matrix, words, index, load_words, source) -> None:
        self._matrix: np.ndarray = matrix
        self._words: tuple[str, ...] | None = words
        self._index: Mapping[str, int] | None = index
        self._load_words: Callable[[], Sequence[str]] | None = load_words
        self._source: str | None = source
        self._norms: np.ndarray | None = None
        self._normed: np.ndarray | None = None

    # --- the gensim-style read API -------------------------------------------------------------
    @property
    def index_to_key(self) -> tuple[str, ...]:
        """The words in row order (read from disk on first use for a lazily opened table)."""
        if self._words is None:
            assert self._load_words is not None
            words = tuple(self._load_words())
            if len(words) != len(self):
                raise FormatError(f"{self._source}: {len(words)} words for {len(self)} matrix rows; "
                                  f"expected one word per row")
            self._words = words
        return self._words

    @property
    def key_to_index(self) -> Mapping[str, int]:
        """word -> row, read-only (built on first use for a lazily opened table)."""
        if self._index is None:
            self._index = _build_index(self.index_to_key, source=self._source)
        return self._index

    @property
    def vector_size(self) -> int:
        """D, the length of each vector."""
        return int(self._matrix.shape[1])

    @property
    def matrix(self) -> np.ndarray:
        """The (N, D) float32 matrix, read-only (writing raises ``ValueError``); may be memory-mapped."""
        return self._matrix

    @property
    def words_loaded(self) -> bool:
        """Whether the words are in memory (always, except for a lazily opened table before its first lookup)."""
        return self._words is not None

    def __len__(self) -> int:
        return int(self._matrix.shape[0])

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __iter__(self) -> Iterator[str]:
        return iter(self.index_to_key)

    def __repr__(self) -> str:
        return f"Vectors({len(self)} words, dim {self.vector_size})"

    def __getitem__(self, word: str) -> np.ndarray:
        """The (D,) vector of ``word``, read-only. Raises VocabError if ``word`` is absent."""
        return self._matrix[self._row(word)]

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The (D,) vector of ``word``; unit length (L2) when ``norm`` (a zero vector stays zero,
        where gensim returns NaN). Read-only.

        Raises:
            VocabError: ``word`` is not in these vectors.
        """
        row = self._row(word)
        if not norm:
            return self._matrix[row]
        out = self._matrix[row] / self.norms()[row]  # safe norms: a zero row stays zero
        out.flags.writeable = False
        return out

    def norms(self) -> np.ndarray:
        """(N,) float32 L2 norms of the rows, computed once (in chunks, so a memory-mapped table is
        streamed) and cached; read-only. A zero row's norm is reported as 1.0 so that dividing by
        it keeps the row zero (its cosine with anything is 0 instead of gensim's NaN)."""
        if self._norms is None:
            n = len(self)
            norms = np.empty(n, dtype=np.float32)
            step = max(1, (1 << 22) // max(1, self.vector_size))  # ~16 MB of rows at a time
            for start in range(0, n, step):
                norms[start:start + step] = np.linalg.norm(self._matrix[start:start + step], axis=1)
            norms[norms == 0] = 1.0
            norms.flags.writeable = False
            self._norms = norms
        return self._norms

    def normed_matrix(self) -> np.ndarray:
        """(N, D) float32 rows scaled to unit L2 length, computed once and cached; read-only.

        An all-zero row stays zero. This is a full in-memory copy: the queries do not need it (they
        divide by ``norms()`` chunk by chunk), so a memory-mapped table is never copied by them.
        """
        if self._normed is None:
            normed = self._matrix / self.norms()[:, None]  # (N, D)
            normed.flags.writeable = False
            self._normed = normed
        return self._normed

    def _row(self, word: str) -> int:
        try:
            return self.key_to_index[word]
        except (KeyError, TypeError):
            raise VocabError(f"word {word!r} is not in these vectors ({len(self)} words)") from None

    # --- files -----------------------------------------------------------------------------------
    def save(
        self,
        path: str | os.PathLike[str],
        format: str = "glove",
        *,
        precision: int | None = None,
    ) -> None:
        """Write the vectors atomically: ``"native"`` (a directory, see ``native.py``), or GloVe text
        (no header) / word2vec text (header ``"N D"``) where ``precision=None`` writes the shortest
        decimal that reads back to the same float32 (exact round trip) and an int writes that many
        significant digits. Other formats go through ``embedlayer.vectors.io.save_vectors``.

        Raises:
            ConfigError: unknown ``format`` or bad ``precision``.
            FormatError: a word that the format cannot hold (e.g. whitespace in text formats).
        """
        if format == "native":
            from embedlayer.vectors.native import save_native

            save_native(self, path)
        elif format in ("glove", "word2vec"):
            from embedlayer.vectors.text_format import save_text  # local: text_format imports this module

            save_text(self, path, format=format, precision=precision)  # type: ignore[arg-type]
        else:
            try:
                from embedlayer.vectors.io import save_vectors
            except ImportError:  # only the text formats and native are built in
                raise ConfigError(f"vectors format must be 'native', 'glove' or 'word2vec', got {format!r}") from None
            save_vectors(self, path, format)

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


def first_non_finite_row(matrix: np.ndarray, step: int = 1 << 16) -> int | None:
    """The first row holding a NaN or infinity, or None; checked in blocks of ``step`` rows so the
    check needs no (N, D) boolean temporary (which would raise a loader's peak memory)."""
    for lo in range(0, len(matrix), step):
        finite = np.isfinite(matrix[lo: lo + step]).all(axis=1)
        if not finite.all():
            return lo + int(np.flatnonzero(~finite)[0])
    return None


def _check_shape(array: np.ndarray) -> None:
    if array.ndim != 2 or array.shape[1] < 1:
        raise FormatError(f"vectors matrix must be 2-D (N, D) with D >= 1, got shape {tuple(array.shape)}")


def _build_index(words: Sequence[str], *, source: str | None) -> Mapping[str, int]:
    """word -> row; raises FormatError on a non-str or duplicate word (naming ``source`` when given)."""
    prefix = f"{source}: " if source else ""
    index: dict[str, int] = {}
    for i, word in enumerate(words):
        if not isinstance(word, str):
            raise FormatError(f"{prefix}vectors word {i} is {word!r} ({type(word).__name__}); expected a str")
        if index.setdefault(word, i) != i:
            raise FormatError(f"{prefix}duplicate word {word!r} at rows {index[word]} and {i}; expected unique words")
    return MappingProxyType(index)
