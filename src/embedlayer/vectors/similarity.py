"""Cosine queries on ``Vectors``, with gensim ``KeyedVectors`` semantics and exact search.

Scores are computed the way gensim does, ``(matrix @ query) / norms`` in float32, but over row
chunks (a memory-mapped table is streamed, never copied) and, for many queries at once, as one
BLAS matrix product per chunk (``most_similar_batch``). Results equal gensim's: same words, scores
to ~1e-7. Differences, on purpose:

- a zero row has cosine 0 with everything (gensim: NaN);
- exact ties are broken by lower row (gensim's order among ties is whatever its partial sort gives);
- a word that is absent raises ``VocabError`` (gensim: ``KeyError``, and ``doesnt_match`` /
  ``n_similarity`` silently drop it); ``topn`` below 1 raises ``ConfigError`` (gensim: ``[]``);
- ``most_similar_cosmul`` honours ``restrict_vocab`` (gensim accepts and ignores it).
"""

from __future__ import annotations

import mmap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlayer.errors import ConfigError

__all__ = ["SimilarityMixin", "Term", "unit_vector"]

#: A query term: a word, a (D,) vector, or either paired with a weight (gensim's tuple form).
Term = str | np.ndarray | tuple[str | np.ndarray, float]

_CHUNK_ELEMENTS = 1 << 22  # scores computed per block: ~16 MB of float32


class SimilarityMixin:
    """The query methods of ``Vectors``, which provides what is declared below."""

    if TYPE_CHECKING:  # provided by Vectors (store.py)

        @property
        def matrix(self) -> np.ndarray: ...
        @property
        def index_to_key(self) -> tuple[str, ...]: ...
        @property
        def key_to_index(self) -> Mapping[str, int]: ...
        @property
        def vector_size(self) -> int: ...
        def norms(self) -> np.ndarray: ...
        def normed_matrix(self) -> np.ndarray: ...
        def get_vector(self, word: str, norm: bool = False) -> np.ndarray: ...
        def _row(self, word: str) -> int: ...
        def __len__(self) -> int: ...
        def __contains__(self, word: object) -> bool: ...

    # --- building a query ------------------------------------------------------------------------
    def get_mean_vector(
        self,
        keys: Sequence[str | np.ndarray],
        weights: Sequence[float] | np.ndarray | None = None,
        pre_normalize: bool = True,
        post_normalize: bool = False,
        ignore_missing: bool = True,
    ) -> np.ndarray:
        """Weighted mean (divided by the sum of |weights|) of the keys' vectors, as gensim.

        Words are unit-normalised first when ``pre_normalize``; arrays are used as given. The
        result is unit length when ``post_normalize``. Returns a (D,) float32 array.

        Raises:
            ConfigError: no keys, weights of another length, or an array of the wrong shape.
            VocabError: a missing word when ``ignore_missing`` is False.
        """
        if len(keys) == 0:
            raise ConfigError("get_mean_vector needs at least one key, got none")
        w = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(keys),):
            raise ConfigError(f"weights must have one value per key ({len(keys)}), got shape {w.shape}")
        total = np.zeros(self.vector_size, dtype=np.float64)
        total_weight = 0.0
        for key, weight in zip(keys, w):
            if isinstance(key, str) and key not in self and ignore_missing:
                continue
            total += weight * self._term_vector(key, normalize=pre_normalize)
            total_weight += abs(weight)
        if total_weight > 0:
            total /= total_weight
        if post_normalize:
            total = unit_vector(total)
        return total.astype(np.float32)

    def _term_vector(self, key: str | np.ndarray, *, normalize: bool) -> np.ndarray:
        """(D,) float64: a word's vector (unit when ``normalize``) or a given array (as is)."""
        if isinstance(key, str):
            return self.get_vector(key, norm=normalize).astype(np.float64)
        if isinstance(key, np.ndarray):
            if key.shape != (self.vector_size,):
                raise ConfigError(f"query vector has shape {key.shape}; expected ({self.vector_size},)")
            return key.astype(np.float64)
        raise ConfigError(f"query term {key!r} is neither a word (str) nor a vector (numpy array)")

    def _parse_terms(self, positive: Any, negative: Any) -> tuple[list, np.ndarray, list[int]]:
        """gensim's argument forms -> (keys, weights, rows of the query words)."""
        pos, neg = _as_list(positive), _as_list(negative)
        keys, weights = [], []
        for items, default in ((pos, 1.0), (neg, -1.0)):
            for item in items:
                if isinstance(item, tuple):  # (key, weight): the weight replaces the default, as in gensim
                    if len(item) != 2:
                        raise ConfigError(f"a weighted query term must be (key, weight), got {item!r}")
                    keys.append(item[0])
                    weights.append(float(item[1]))
                else:
                    keys.append(item)
                    weights.append(default)
        if not keys:
            raise ConfigError("most_similar needs at least one positive or negative word, got none")
        for k in keys:
            if isinstance(k, str) and k not in self:
                self._row(k)  # raises VocabError naming the word
        return keys, np.array(weights), self._known_rows(keys)

    def _known_rows(self, keys: Sequence[Any]) -> list[int]:
        """Rows of the query words that have one (a fastText table also answers for unseen words)."""
        index = self.key_to_index
        return [index[k] for k in keys if isinstance(k, str) and k in index]

    # --- exact neighbours ----------------------------------------------------------------------
    def most_similar(
        self,
        positive: Term | Sequence[Term] | None = None,
        negative: Term | Sequence[Term] | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """The ``topn`` words closest by cosine to the mean of the unit-normalised ``positive``
        vectors minus the ``negative`` ones (``most_similar(["king", "woman"], ["man"])`` is the
        analogy query), best first, excluding the query words themselves. Terms may be words,
        (D,) arrays (used as given) or ``(term, weight)`` pairs, as in gensim.

        Args:
            restrict_vocab: search only the first N rows (usually the N most frequent words).
            topn: how many; ``None`` returns the (N,) float32 cosines of all searched rows instead.

        Returns:
            ``[(word, cosine), ...]``, at most ``topn`` items, in decreasing cosine, ties by row.

        Raises:
            ConfigError: no query term, a bad ``topn`` / ``restrict_vocab`` or query vector.
            VocabError: a query word is not in these vectors.
        """
        keys, weights, rows = self._parse_terms(positive, negative)
        limit = self._limit(restrict_vocab)
        _check_topn(topn, allow_none=True)
        query = self.get_mean_vector(keys, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
        scores = self._scores(query[None, :], limit)[0]  # (R,)
        if topn is None:
            scores.flags.writeable = False
            return scores
        scores[[r for r in rows if r < limit]] = -np.inf  # never return a query word
        return self._results(scores, topn)

    def similar_by_vector(
        self, vector: np.ndarray, topn: int | None = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]] | np.ndarray:
        """The ``topn`` words closest by cosine to ``vector`` (D,), best first (``topn=None``: the
        cosines of all searched rows, as ``most_similar``)."""
        return self.most_similar(positive=[np.asarray(vector)], topn=topn, restrict_vocab=restrict_vocab)

    def most_similar_batch(
        self, words: Sequence[str], topn: int = 10, restrict_vocab: int | None = None
    ) -> list[list[tuple[str, float]]]:
        """``[most_similar(w, topn=topn, restrict_vocab=restrict_vocab) for w in words]``, computed as
        one BLAS product per block of rows for all queries at once, with a partial sort per block.

        A word without a row of its own is answered too when the table computes its vector (a
        fastText table's unseen word, from its n-grams), as ``most_similar`` does.

        Raises:
            ConfigError: bad ``topn`` or ``restrict_vocab``.
            VocabError: a word is not in these vectors (checked before any work).
        """
        _check_topn(topn)
        limit = self._limit(restrict_vocab)
        rows, computed = self._query_rows(words)
        if rows.size == 0:
            return []
        norms = self.norms()
        known = np.maximum(rows, 0)
        queries = self.matrix[known] / norms[known][:, None]  # (B, D) unit rows, float32
        for i in computed:  # words without a row whose vector the table computes (fastText n-grams)
            queries[i] = self.get_vector(words[i], norm=True)
        k = min(topn, limit)
        out: list[list[tuple[str, float]]] = []
        qblock = 512
        for q0 in range(0, len(rows), qblock):
            best_s, best_i = self._batch_topk(queries[q0 : q0 + qblock], rows[q0 : q0 + qblock, None], limit, k)
            for s, i in zip(best_s, best_i):
                out.append([(self.index_to_key[r], float(v)) for r, v in zip(i.tolist(), s.tolist()) if v != -np.inf])
        return out

    def _query_rows(self, words: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """(B,) rows of the query words, -1 for a word that has no row but whose vector the table
        can compute (``word in self``: a fastText table with n-grams), and the positions of those.

        Raises:
            VocabError: a word that is neither in the table nor computable.
        """
        index = self.key_to_index
        rows = np.empty(len(words), dtype=np.int64)
        computed: list[int] = []
        for i, word in enumerate(words):
            try:
                rows[i] = index[word]
            except (KeyError, TypeError):
                if not (isinstance(word, str) and word in self):
                    self._row(word)  # raises VocabError naming the word
                rows[i] = -1  # never inside a block of rows, so nothing is excluded for it
                computed.append(i)
        return rows, computed

    def _batch_topk(
        self, queries: np.ndarray, exclude: np.ndarray, limit: int, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (scores, rows) of each unit query (B, D) over rows [0, limit), best first, ties by
        lower row; ``exclude`` (B, E) holds rows each query must not return (-inf scores). torch does
        the product and the partial sort (``topk`` is several times faster than numpy's row-wise
        ``argpartition``); blocks of rows are unit-normalised on the fly."""
        import torch

        b = len(queries)
        norms = self.norms()
        step = max(k, _CHUNK_ELEMENTS // max(b, 1))
        q = torch.from_numpy(np.ascontiguousarray(queries))  # (B, D)
        exclude_t = torch.from_numpy(np.asarray(exclude, dtype=np.int64))  # (B, E)
        best_s = torch.empty((b, 0), dtype=torch.float32)
        best_i = torch.empty((b, 0), dtype=torch.int64)
        for start in range(0, limit, step):
            stop = min(start + step, limit)
            block = torch.from_numpy(self.matrix[start:stop] / norms[start:stop, None])  # (C, D) unit rows
            scores = q @ block.T  # (B, C)
            for column in exclude_t.T:  # (B,)
                inside = torch.nonzero((column >= start) & (column < stop)).flatten()
                scores[inside, column[inside] - start] = -torch.inf
            vals, idx = torch.topk(scores, min(k, stop - start), dim=1)
            best_s, best_i = torch.cat([best_s, vals], 1), torch.cat([best_i, idx + start], 1)
            if best_s.shape[1] >= 4 * k:
                vals, keep = torch.topk(best_s, k, dim=1)
                best_s, best_i = vals, torch.gather(best_i, 1, keep)
        s, i = best_s.numpy(), best_i.numpy()
        order = np.lexsort((i, -s), axis=1)[:, :k]  # decreasing score, ties by lower row
        return np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)

    def most_similar_cosmul(
        self,
        positive: Term | Sequence[Term] | None = None,
        negative: Term | Sequence[Term] | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Levy & Goldberg's 3CosMul, as gensim: rank by prod((1 + cos(w, p)) / 2) over positive
        terms divided by (prod((1 + cos(w, n)) / 2) over negative terms + 1e-6). Words are
        unit-normalised, arrays used as given. ``topn=None`` returns all scores.

        Raises:
            ConfigError: no positive term, bad ``topn`` / ``restrict_vocab``.
            VocabError: a query word is not in these vectors.
        """
        pos, neg = _as_list(positive), _as_list(negative)
        if not pos:
            raise ConfigError("most_similar_cosmul needs at least one positive word, got none")
        _check_topn(topn, allow_none=True)
        limit = self._limit(restrict_vocab)
        rows = self._known_rows(pos + neg)
        terms = np.stack([self._term_vector(t, normalize=True) for t in pos + neg]).astype(np.float32)  # (T, D)
        sims = (1 + self._scores(terms, limit)) / 2  # (T, R)
        scores = np.prod(sims[: len(pos)], axis=0) / (np.prod(sims[len(pos) :], axis=0) + np.float32(1e-6))
        if topn is None:
            return scores
        scores[[r for r in rows if r < limit]] = -np.inf
        return self._results(scores, topn)

    # --- pairs and sets of words -----------------------------------------------------------------
    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors, in [-1, 1] (0.0 when one vector is zero).

        Raises:
            VocabError: a word is not in these vectors.
        """
        a, b = self.get_vector(w1, norm=True), self.get_vector(w2, norm=True)
        return float(np.dot(a.astype(np.float64), b.astype(np.float64)))

    def distance(self, w1: str, w2: str) -> float:
        """Cosine distance, ``1 - similarity(w1, w2)``."""
        return 1.0 - self.similarity(w1, w2)

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the means of the (raw, not normalised) vectors of two sets of words.

        Raises:
            ConfigError: an empty set.  VocabError: a word is not in these vectors.
        """
        if not len(ws1) or not len(ws2):
            raise ConfigError("n_similarity needs two non-empty lists of words")
        m1, m2 = (self.get_mean_vector(ws, pre_normalize=False, ignore_missing=False) for ws in (ws1, ws2))
        return float(np.dot(unit_vector(m1.astype(np.float64)), unit_vector(m2.astype(np.float64))))

    def closer_than(self, w1: str, w2: str) -> list[str]:
        """Words (in row order, ``w1`` excluded) whose cosine to ``w1`` is greater than ``w2``'s."""
        r1, r2 = self._row(w1), self._row(w2)
        dists = 1 - self._scores(self.get_vector(w1, norm=True)[None, :], len(self))[0]  # (N,)
        return [self.index_to_key[r] for r in np.flatnonzero(dists < dists[r2]).tolist() if r != r1]

    def words_closer_than(self, w1: str, w2: str) -> list[str]:
        """Alias of ``closer_than`` (the older gensim name)."""
        return self.closer_than(w1, w2)

    def rank(self, w1: str, w2: str) -> int:
        """1 + the number of words closer to ``w1`` than ``w2`` is."""
        return len(self.closer_than(w1, w2)) + 1

    # --- helpers ---------------------------------------------------------------------------------
    def _limit(self, restrict_vocab: int | None) -> int:
        if restrict_vocab is None:
            return len(self)
        if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, (int, np.integer)) or restrict_vocab < 1:
            raise ConfigError(f"restrict_vocab must be a positive int or None, got {restrict_vocab!r}")
        return min(int(restrict_vocab), len(self))

    def _scores(self, queries: np.ndarray, limit: int) -> np.ndarray:
        """(T, R) float32 cosines of unit ``queries`` with the first R rows.

        In memory: one BLAS product with the cached unit rows (as gensim does). Memory-mapped
        tables are never copied: their rows are read and divided by their norms block by block.
        """
        if not is_mapped(self.matrix):
            return queries @ self.normed_matrix()[:limit].T
        out = np.empty((len(queries), limit), dtype=np.float32)
        norms = self.norms()
        step = max(1, _CHUNK_ELEMENTS // max(self.vector_size, 1))
        for start in range(0, limit, step):
            stop = min(start + step, limit)
            out[:, start:stop] = (self.matrix[start:stop] @ queries.T).T / norms[start:stop]
        return out

    def _results(self, scores: np.ndarray, topn: int) -> list[tuple[str, float]]:
        """The ``topn`` best rows of ``scores`` (R,) best first, ties by lower row, -inf dropped."""
        import torch

        k = min(topn, len(scores))
        if k < len(scores):
            threshold = torch.topk(torch.from_numpy(scores), k).values[-1].item()
            candidates = np.flatnonzero(scores >= threshold)  # every tie at the boundary
        else:
            candidates = np.arange(len(scores))
        order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
        return [(self.index_to_key[r], float(scores[r])) for r in order.tolist() if scores[r] != -np.inf]


def is_mapped(array: np.ndarray) -> bool:
    """True when ``array`` views a memory-mapped file (also through plain ``ndarray`` views of it)."""
    base: Any = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def _as_list(terms: Any) -> list:
    if terms is None:
        return []
    if isinstance(terms, (str, np.ndarray)):
        return [terms]
    return list(terms)


def _check_topn(topn: Any, *, allow_none: bool = False) -> None:
    if topn is None and allow_none:
        return
    if isinstance(topn, bool) or not isinstance(topn, (int, np.integer)) or topn < 1:
        raise ConfigError(f"topn must be a positive int, got {topn!r}")


def unit_vector(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to unit L2 length; a zero vector is returned as is."""
    length = np.linalg.norm(vector)
    return vector / length if length > 0 else vector
