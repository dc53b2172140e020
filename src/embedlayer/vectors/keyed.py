"""The rest of gensim 4's read-only ``KeyedVectors`` API on ``Vectors``, under gensim's names and
semantics, so that porting is changing an import::

    from gensim.models import KeyedVectors   ->   from embedlayer.vectors import Vectors as KeyedVectors

Results equal gensim's on the same file (tests/vectors/test_keyed_gensim.py). Differences, on
purpose, as in ``similarity.py``: a zero vector has cosine 0 with everything (gensim: NaN); an
absent word raises ``VocabError`` (gensim: ``KeyError``; ``rank_by_centrality`` / ``doesnt_match``
drop it with a warning); an empty list raises ``ConfigError`` (gensim: ``ValueError``). Files:
``load`` reads every format, never a pickle (gensim's ``load`` unpickles); ``load_word2vec_format``
refuses ``fvocab`` (we keep no counts), encodings other than UTF-8, a ``datatype`` other than
float32 and ``limit=0`` (gensim: no limit), and a duplicate word is an error (gensim keeps the
first); ``save_word2vec_format`` writes rows in index order (gensim: by descending count when it
has counts, which a table read from a file never has) and refuses ``fvocab``.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from embedlayer.errors import ConfigError
from embedlayer.vectors import evaluation
from embedlayer.vectors.checks import UnicodeErrors
from embedlayer.vectors.io import write_vectors
from embedlayer.vectors.similarity import SimilarityMixin, unit_vector

__all__ = ["KeyedVectorsMixin"]


class KeyedVectorsMixin(SimilarityMixin):
    """gensim's remaining read-only ``KeyedVectors`` names, on top of ``SimilarityMixin``."""

    if TYPE_CHECKING:  # provided by Vectors (store.py)

        @classmethod
        def load(
            cls,
            path: str | os.PathLike[str],
            format: str | None = None,
            limit: int | None = None,
            *,
            expected_dim: int | None = None,
            unicode_errors: UnicodeErrors = "strict",
        ) -> Self: ...

    # --- attributes and lookups ------------------------------------------------------------------
    @property
    def vectors(self) -> np.ndarray:
        """gensim's name for ``matrix``: the (N, D) float32 rows, read-only."""
        return self.matrix

    def get_index(self, key: object, default: int | None = None) -> int:
        """The row of ``key``, as gensim: an int in [0, N) is taken as a row and returned as is;
        an absent key gives ``default`` when one is given.

        Raises:
            VocabError: ``key`` is absent and ``default`` is None.
        """
        row = self.key_to_index.get(key) if isinstance(key, str) else None
        if row is not None:
            return row
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < len(self):
            return int(key)
        if default is not None:
            return default
        return self._row(key)  # type: ignore[arg-type]  # raises VocabError naming the key

    def has_index_for(self, key: object) -> bool:
        """Whether ``key`` has a row of its own (``get_index`` finds it). A fastText table answers
        ``key in vectors`` for unseen words too, but not this."""
        return self.get_index(key, -1) >= 0

    def get_normed_vectors(self) -> np.ndarray:
        """gensim's name for ``normed_matrix()``: the (N, D) float32 rows scaled to unit length,
        read-only (a zero row stays zero; gensim: NaN)."""
        return self.normed_matrix()

    # --- queries ---------------------------------------------------------------------------------
    def similar_by_key(
        self, key: str, topn: int | None = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]] | np.ndarray:
        """``most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)``."""
        return self.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_word(
        self, word: str, topn: int | None = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]] | np.ndarray:
        """gensim's older name of ``similar_by_key``."""
        return self.similar_by_key(word, topn, restrict_vocab)

    @staticmethod
    def cosine_similarities(vector_1: np.ndarray, vectors_all: np.ndarray) -> np.ndarray:
        """(K,) cosines of ``vector_1`` (D,) with each row of ``vectors_all`` (K, D), computed as
        gensim does (``vectors_all @ vector_1 / (|vector_1| * |row|)``, in the inputs' dtype); 0
        where a vector is zero (gensim: NaN).

        Raises:
            ConfigError: shapes other than (D,) and (K, D).
        """
        v, m = np.asarray(vector_1), np.asarray(vectors_all)
        if v.ndim != 1 or m.ndim != 2 or m.shape[1] != v.shape[0]:
            raise ConfigError(
                f"cosine_similarities takes a (D,) vector and a (K, D) array, got shapes {v.shape} and {m.shape}"
            )
        return _cosines(v, m, np.linalg.norm(m, axis=1))

    def distances(self, word_or_vector: str | np.ndarray, other_words: Iterable[str] = ()) -> np.ndarray:
        """(K,) cosine distances ``1 - cos`` from a word or (D,) vector to each of ``other_words``, or
        to every row (K = N, the word itself included) when ``other_words`` is empty. Raw vectors,
        as gensim; a memory-mapped table is read once, never copied.

        Raises:
            VocabError: a word is not in these vectors.  ConfigError: a vector of the wrong shape.
        """
        vector = self._query_vector(word_or_vector)
        others = list(other_words)
        if not others:
            return 1 - _cosines(vector, self.matrix, self.norms())
        rows = [self._row(w) for w in others]
        return 1 - _cosines(vector, self.matrix[rows], self.norms()[rows])

    def relative_cosine_similarity(self, wa: str, wb: str, topn: int = 10) -> float:
        """Leeuwenberg et al.'s relative cosine similarity, as gensim: ``similarity(wa, wb)`` divided
        by the sum of the cosines of the ``topn`` nearest words of ``wa``.

        Raises:
            VocabError: a word is absent.  ConfigError: bad ``topn``, or ``wa`` has no neighbour.
        """
        sims = self.similar_by_word(wa, topn)
        if not len(sims):
            raise ConfigError(
                f"relative_cosine_similarity needs neighbours of {wa!r}; these vectors hold no other word"
            )
        return self.similarity(wa, wb) / sum(s for _, s in sims)

    def most_similar_to_given(self, key1: str, keys_list: Sequence[str]) -> str:
        """The key of ``keys_list`` most similar to ``key1`` (the first one among ties).

        Raises:
            ConfigError: an empty ``keys_list``.  VocabError: a word is absent.
        """
        if not len(keys_list):
            raise ConfigError(f"most_similar_to_given needs at least one key to choose from for {key1!r}, got none")
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def rank_by_centrality(self, words: Sequence[str], use_norm: bool = True) -> list[tuple[float, str]]:
        """``[(cosine, word), ...]`` with the cosine of each word's vector (unit length when
        ``use_norm``) to the unit mean of them all, most central first (ties: larger word first,
        as gensim's ``sorted(..., reverse=True)``).

        Raises:
            ConfigError: no words.  VocabError: a word is absent.
        """
        if not len(words):
            raise ConfigError("rank_by_centrality needs at least one word, got none")
        vectors = np.stack([self.get_vector(w, norm=use_norm) for w in words])  # (K, D) float32
        mean = unit_vector(vectors.astype(np.float64).mean(axis=0)).astype(np.float32)  # (D,)
        return sorted(zip((vectors @ mean).tolist(), words), reverse=True)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the words' unit vectors: the last of
        ``rank_by_centrality(words)`` (gensim's rule; ties go to the smallest word).

        Raises:
            ConfigError: no words.  VocabError: a word is absent.
        """
        return self.rank_by_centrality(words)[-1][1]

    def _query_vector(self, word_or_vector: str | np.ndarray) -> np.ndarray:
        if isinstance(word_or_vector, str):
            return self.get_vector(word_or_vector)
        vector = np.asarray(word_or_vector)
        if vector.shape != (self.vector_size,):
            raise ConfigError(f"query vector has shape {vector.shape}; expected ({self.vector_size},)")
        return vector

    # --- evaluation, returning what gensim returns -----------------------------------------------
    def evaluate_word_analogies(
        self,
        analogies: str | os.PathLike[str] | None = None,
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
        similarity_function: str = "most_similar",
    ) -> tuple[float, list[dict[str, Any]]]:
        """gensim's ``(score, sections)``: each section ``{"section": name, "correct": [(a, b, c, d),
        ...], "incorrect": [...]}``, the last ``"Total accuracy"``. See
        ``embedlayer.vectors.evaluate_word_analogies`` (counts, OOV ratio, progress) for the rules;
        ``analogies=None`` uses the file in the gensim wheel.

        Raises:
            ConfigError: ``similarity_function`` other than ``"most_similar"`` (gensim ignores it).
        """
        if similarity_function != "most_similar":
            raise ConfigError(f"similarity_function must be 'most_similar' (3CosAdd), got {similarity_function!r}")
        out = evaluation.analogy_outcomes(
            self,
            analogies,
            restrict_vocab=restrict_vocab,
            case_insensitive=case_insensitive,
            dummy4unknown=dummy4unknown,
        )
        return out.score, [{"section": name, "correct": c, "incorrect": i} for name, c, i in out.sections]

    def evaluate_word_pairs(
        self,
        pairs: str | os.PathLike[str] | None = None,
        delimiter: str = "\t",
        encoding: str = "utf8",
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> tuple[tuple[float, float | None], tuple[float, float | None], float]:
        """gensim's ``(pearson, spearman, oov_ratio)``: ``(r, p-value)`` pairs (the p-value is None
        without scipy) and the percentage of pairs with an unknown word. See
        ``embedlayer.vectors.evaluate_word_pairs``; ``pairs=None`` uses the file in the gensim wheel.
        """
        result = evaluation.evaluate_word_pairs(
            self,
            pairs,
            delimiter=delimiter,
            encoding=encoding,
            restrict_vocab=restrict_vocab,
            case_insensitive=case_insensitive,
            dummy4unknown=dummy4unknown,
        )
        return result.pearson, result.spearman, result.oov_ratio

    # --- word2vec files under gensim's names -----------------------------------------------------
    @classmethod
    def load_word2vec_format(
        cls,
        fname: str | os.PathLike[str],
        fvocab: str | os.PathLike[str] | None = None,
        binary: bool = False,
        encoding: str = "utf8",
        unicode_errors: UnicodeErrors = "strict",
        limit: int | None = None,
        datatype: Any = np.float32,
        no_header: bool = False,
    ) -> Self:
        """Read word2vec text (``"count dim"`` header), word2vec C binary (``binary=True``) or
        headerless text such as GloVe (``no_header=True``): ``cls.load`` with that format.

        Raises:
            ConfigError: ``fvocab`` given, an encoding other than UTF-8, a ``datatype`` other than
                float32, ``binary`` with ``no_header`` (gensim: NotImplementedError), a bad ``limit``.
            FormatError: the file does not follow the format (naming file and line or byte).
        """
        if fvocab is not None:
            raise ConfigError(f"fvocab={fvocab!r}: Vectors keep no word counts; expected fvocab=None")
        _check_utf8(encoding)
        try:
            float32 = np.dtype(datatype) == np.float32
        except TypeError:
            float32 = False
        if not float32:
            raise ConfigError(f"datatype must be float32 (vectors are stored as float32), got {datatype!r}")
        if binary and no_header:
            raise ConfigError("no_header=True is for text files; word2vec binary files always have a header")
        fmt = "word2vec-binary" if binary else "glove" if no_header else "word2vec"
        return cls.load(fname, format=fmt, limit=limit, unicode_errors=unicode_errors)

    def save_word2vec_format(
        self,
        fname: str | os.PathLike[str],
        fvocab: str | os.PathLike[str] | None = None,
        binary: bool = False,
        write_header: bool = True,
        prefix: str = "",
    ) -> None:
        """Write word2vec text (the same bytes as gensim's), word2vec C binary (``binary=True``; a
        newline after each vector, as word2vec's C tool writes and both readers accept), or text
        without the header (``write_header=False``, GloVe), atomically; ``prefix`` goes before each
        word.

        Raises:
            ConfigError: ``fvocab`` given, or ``binary`` without a header (no reader takes that).
            FormatError: a word (with its prefix) that is empty or holds whitespace.
        """
        if fvocab is not None:
            raise ConfigError(f"fvocab={fvocab!r}: Vectors keep no word counts to write; expected fvocab=None")
        if binary and not write_header:
            raise ConfigError("write_header=False is for text files; word2vec binary files need their header")
        words = tuple(prefix + w for w in self.index_to_key) if prefix else self.index_to_key
        fmt = "word2vec-binary" if binary else "word2vec" if write_header else "glove"
        write_vectors(words, self.matrix, fname, fmt)


def _cosines(vector: np.ndarray, rows: np.ndarray, row_norms: np.ndarray) -> np.ndarray:
    """(K,) ``rows @ vector / (|vector| * row_norms)``, 0 where the denominator is 0."""
    dots = rows @ vector  # (K,)
    denominators = row_norms * np.linalg.norm(vector)
    return np.divide(dots, denominators, out=np.zeros_like(dots), where=denominators > 0)


def _check_utf8(encoding: str) -> None:
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except (LookupError, TypeError):
        utf8 = False
    if not utf8:
        raise ConfigError(f"encoding must be UTF-8 (the formats' words are UTF-8), got {encoding!r}")
