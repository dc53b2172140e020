"""Vectors: a fixed set of words and their float32 rows, with cosine neighbours, read from and
written to every vectors format.

The names follow gensim's ``KeyedVectors`` (``index_to_key``, ``key_to_index``, ``vectors["king"]``,
``"king" in vectors``, ``most_similar``, ``load_word2vec_format``, ...) so users feel at home,
without its aliases or pickle format. A ``Vectors`` is immutable: the matrix is stored read-only,
which is what makes caching the row norms for ``most_similar`` safe. The queries live in
``similarity.py`` and ``keyed.py``.

Files: ``Vectors.load`` / ``Vectors.save`` are the one way in and out, thin over the dispatch in
``io.py``; the format modules below it return words and a matrix, and only this module turns them
into ``Vectors`` (so nothing in ``vectors/`` imports back into here). ``load_vectors`` is
``Vectors.load``.

A table opened from the native format (``native.py``) is memory-mapped and its words are read only
when a word lookup first needs them, so opening costs the same for 1,000 or 10,000,000 rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Self

import numpy as np

from embedlayer.errors import ConfigError, FormatError, VocabError, where
from embedlayer.subwords import subword_ids
from embedlayer.vectors.checks import (
    Table,
    UnicodeErrors,
    build_index,
    check_matrix_shape,
    first_non_finite_row,
)
from embedlayer.vectors.fasttext_bin import FastTextArgs, FastTextModel, mean_rows
from embedlayer.vectors.io import read_vectors, write_vectors
from embedlayer.vectors.keyed import KeyedVectorsMixin
from embedlayer.vectors.native import NativeTable
from embedlayer.vectors.similarity import unit_vector

__all__ = ["Vectors", "FastTextVectors", "load_vectors"]


class Vectors(KeyedVectorsMixin):
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
        check_matrix_shape(array)
        if array.shape[0] != len(words):
            raise FormatError(
                f"vectors matrix has {array.shape[0]} rows but {len(words)} words were given; expected one row per word"
            )
        index = build_index(words)
        row = first_non_finite_row(array)
        if row is not None:
            raise FormatError(
                f"vector of word {words[row]!r} (row {row}) has a NaN or infinite value; expected finite numbers"
            )
        if array.flags.writeable:
            array.flags.writeable = False
        self._init(array, words, index, None, None)

    @classmethod
    def with_lazy_words(cls, matrix: np.ndarray, load_words: Callable[[], Sequence[str]], *, source: str) -> Self:
        """Vectors whose words are read by ``load_words()`` on the first lookup that needs them.

        For loaders of large tables (the native format): ``matrix`` is used as is (it must already
        be a read-only float32 (N, D) array, typically ``np.load(..., mmap_mode="r")``) and its
        values are not scanned, so this is O(1) in N. ``load_words`` must return exactly N words;
        its result is checked (count, type, duplicates) when first loaded, errors naming ``source``.
        """
        array = np.asarray(matrix)
        if array.dtype != np.float32:
            raise FormatError(f"{source}: matrix dtype is {array.dtype}; expected float32")
        check_matrix_shape(array)
        if array.flags.writeable:
            array = array.view()
            array.flags.writeable = False
        self = cls.__new__(cls)
        self._init(array, None, None, load_words, source)
        return self

    @classmethod
    def _from_table(cls, table: Table) -> Self:
        """From a reader's already checked words, index and matrix (no second pass over them)."""
        matrix = table.matrix
        if matrix.flags.writeable:
            matrix.flags.writeable = False  # the reader's own array
        self = cls.__new__(cls)
        self._init(matrix, table.words, table.index, None, None)
        return self

    def _init(
        self,
        matrix: np.ndarray,
        words: tuple[str, ...] | None,
        index: Mapping[str, int] | None,
        load_words: Callable[[], Sequence[str]] | None,
        source: str | None,
    ) -> None:
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
                raise FormatError(
                    f"{self._source}: {len(words)} words for {len(self)} matrix rows; expected one word per row"
                )
            self._words, self._load_words = words, None  # the loader (and what it holds) can go
        return self._words

    @property
    def key_to_index(self) -> Mapping[str, int]:
        """word -> row, read-only (built on first use for a lazily opened table)."""
        if self._index is None:
            self._index = build_index(self.index_to_key, source=self._source)
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
                norms[start : start + step] = np.linalg.norm(self._matrix[start : start + step], axis=1)
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
    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        format: str | None = None,
        limit: int | None = None,
        *,
        expected_dim: int | None = None,
        unicode_errors: UnicodeErrors = "strict",
    ) -> Self:
        """Read vectors in any of ``embedlayer.vectors.FORMATS``, the format detected from the
        content when ``format`` is None (``detect_vectors_format``). ``load_vectors`` is this.

        Args:
            path: a file, or a directory for the native format (memory-mapped, opened in O(1)).
            format: one of ``FORMATS`` or None.
            limit: read only the first ``limit`` words.
            expected_dim: if given, the vectors' dimension must equal it.
            unicode_errors: words that are not valid UTF-8: ``"strict"`` raises, ``"replace"`` puts
                U+FFFD, ``"ignore"`` drops the bad bytes, ``"backslashreplace"`` writes them as
                ``\\x97`` (what gensim does for fastText .bin words, and never makes two words equal).

        Returns:
            An instance of ``cls``: a ``FastTextVectors`` for ``fasttext-bin`` (vectors for unseen
            words too); ``FastTextVectors.load`` reads only that format.

        Raises:
            ConfigError: unknown ``format``, bad ``limit``/``expected_dim``/``unicode_errors``; a
                fastText model read by a subclass of ``Vectors`` that cannot hold one.
            FormatError: the file does not follow its format, naming the file, the line or byte
                offset, and what was expected.
        """
        if issubclass(cls, FastTextVectors):
            if format not in (None, "fasttext-bin"):
                raise ConfigError(
                    f"{cls.__name__}.load reads format 'fasttext-bin', got format={format!r}; "
                    f"use Vectors.load for other formats"
                )
            format = "fasttext-bin"
        loaded = read_vectors(path, format, limit, expected_dim=expected_dim, unicode_errors=unicode_errors)
        if isinstance(loaded, NativeTable):
            return cls.with_lazy_words(loaded.matrix, lambda: loaded.words, source=loaded.source)
        if isinstance(loaded, Table):
            return cls._from_table(loaded)
        target = cls if issubclass(cls, FastTextVectors) else FastTextVectors
        if not issubclass(target, cls):
            raise ConfigError(
                f"{where(path)}: a fastText model, which {cls.__name__}.load cannot return; "
                f"use Vectors.load or FastTextVectors.load"
            )
        return target._from_model(loaded)  # type: ignore[return-value]  # checked: target is a subclass of cls

    def save(self, path: str | os.PathLike[str], format: str = "glove", *, precision: int | None = None) -> None:
        """Write the vectors atomically in one of ``embedlayer.vectors.WRITABLE_FORMATS``:
        ``"native"`` (a directory, see ``native.py``), ``"glove"`` (text, no header),
        ``"word2vec"`` / ``"fasttext-vec"`` (text, header ``"N D"``), ``"word2vec-binary"``.
        ``precision`` applies to the text formats: None writes the shortest decimal that reads
        back to the same float32 (exact round trip), an int that many significant digits.
        A ``FastTextVectors`` writes its words' vectors (``fasttext-bin`` is read-only).

        Raises:
            ConfigError: unknown or read-only ``format``, bad ``precision``.
            FormatError: a word that the format cannot hold (e.g. whitespace in text formats).
        """
        write_vectors(self.index_to_key, self.matrix, path, format, precision=precision)

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


class FastTextVectors(Vectors):
    """``Vectors`` of a fastText model's words, which also computes vectors for unseen words.

    ``matrix`` holds the known words' vectors (as fastText's ``get_word_vector``). ``input_matrix``
    is the (nwords + bucket, D) input matrix (memory-mapped, read-only); ``minn``, ``maxn`` and
    ``bucket`` are the n-gram settings, ``args`` all stored settings, ``counts`` the word counts.
    Read one with ``FastTextVectors.load("model.bin")`` (or ``Vectors.load``, which detects it).

    ``"word" in vectors`` follows gensim's ``FastTextKeyedVectors``: True for every string when the
    model has n-grams (``bucket > 0`` and ``maxn > 0``), because a vector can always be computed;
    ``word in vectors.key_to_index`` (or ``has_index_for``) tells whether the model holds the word.
    """

    def __init__(
        self,
        words: Sequence[str],
        matrix: np.ndarray,
        *,
        input_matrix: np.ndarray,
        args: FastTextArgs,
        counts: np.ndarray,
        nwords: int,
        subwords: bool,
        labels: tuple[str, ...] = (),
    ) -> None:
        super().__init__(words, matrix, copy=False)
        self.input_matrix = input_matrix
        self.args = args
        self.counts = counts
        self.labels = labels
        self._nwords = nwords  # rows before the buckets (all the file's words, even beyond a limit)
        self._subwords = subwords

    @classmethod
    def _from_model(cls, model: FastTextModel) -> Self:
        return cls(
            model.words,
            model.matrix,
            input_matrix=model.input_matrix,
            args=model.args,
            counts=model.counts,
            nwords=model.nwords,
            subwords=model.subwords,
            labels=model.labels,
        )

    @property
    def minn(self) -> int:
        return self.args.minn

    @property
    def maxn(self) -> int:
        return self.args.maxn

    @property
    def bucket(self) -> int:
        return self.args.bucket

    def __contains__(self, word: object) -> bool:
        if self._subwords:
            return isinstance(word, str)
        return super().__contains__(word)

    def __getitem__(self, word: str) -> np.ndarray:
        return self.get_vector(word)

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The (D,) vector of ``word``: its stored vector if known, else the mean of its n-gram
        rows exactly as fastText computes it (the zero vector when it has no n-gram). Unit length
        when ``norm``.

        Raises:
            VocabError: ``word`` is unknown and the model has no subwords (or is not a str).
        """
        if word in self.key_to_index or not self._subwords or not isinstance(word, str):
            return super().get_vector(word, norm=norm)
        vector = unit_vector(self.oov_vector(word)) if norm else self.oov_vector(word)
        vector.flags.writeable = False
        return vector

    def subword_ids(self, word: str) -> np.ndarray:
        """Input-matrix rows of the n-grams of ``word`` (without the word's own row)."""
        if not self._subwords or word == "</s>":
            return np.zeros(0, dtype=np.int64)
        return subword_ids(word, self.minn, self.maxn, self.bucket, self._nwords)

    def oov_vector(self, word: str) -> np.ndarray:
        """(D,) mean of the n-gram rows of ``word``, as fastText for a word not in its dictionary."""
        if not isinstance(word, str):
            raise VocabError(f"word {word!r} is not a str")
        return mean_rows(self.input_matrix, self.subword_ids(word))


#: Read vectors in any format: the same function as ``Vectors.load`` (see there).
load_vectors = Vectors.load
