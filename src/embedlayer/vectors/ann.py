"""Approximate nearest neighbours for large tables: an HNSW graph over the unit rows.

Exact search (``Vectors.most_similar_batch``) costs N·D per query; an HNSW index answers in
roughly log N steps after a build of a few seconds per 100k rows, at the price of sometimes missing
a true neighbour. ``recall_at_k`` measures that price against exact search on your own queries.

Backends are optional extras, imported only here: ``faiss-cpu`` (``pip install faiss-cpu``) or
``hnswlib``. Scores are cosines, like ``most_similar``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from embedlayer.errors import ConfigError
from embedlayer.vectors.store import Vectors

__all__ = ["ApproxIndex", "recall_at_k", "available_backends"]

Backend = Literal["auto", "faiss", "hnswlib"]


def available_backends() -> list[str]:
    """The approximate-search libraries importable here, in order of preference."""
    found = []
    for name in ("faiss", "hnswlib"):
        try:
            __import__(name)
            found.append(name)
        except ImportError:
            pass
    return found


class ApproxIndex:
    """An HNSW index over the unit-normalised rows of ``vectors`` (inner product = cosine).

    Args:
        backend: ``"faiss"``, ``"hnswlib"`` or ``"auto"`` (the first installed).
        m: graph degree (more: better recall, more memory).
        ef_construction: build-time beam width.  ef_search: query-time beam width (recall vs speed).
        restrict_vocab: index only the first N rows.
        seed: for hnswlib's level assignment (faiss's HNSW build is deterministic single-threaded).

    Raises:
        ConfigError: no backend installed, an unknown backend, or a bad parameter.
    """

    def __init__(
        self,
        vectors: Vectors,
        *,
        backend: Backend = "auto",
        m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        restrict_vocab: int | None = None,
        seed: int = 0,
    ) -> None:
        for name, value in (("m", m), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        backends = available_backends()
        if backend == "auto":
            if not backends:
                raise ConfigError("approximate search needs faiss or hnswlib: pip install faiss-cpu (or hnswlib)")
            backend = backends[0]  # type: ignore[assignment]
        if backend not in ("faiss", "hnswlib"):
            raise ConfigError(f"backend must be 'auto', 'faiss' or 'hnswlib', got {backend!r}")
        if backend not in backends:
            package = "faiss-cpu" if backend == "faiss" else backend
            raise ConfigError(f"backend {backend!r} is not installed: pip install {package}")
        self.vectors = vectors
        self.backend = backend
        self.size = vectors._limit(restrict_vocab)
        unit = np.ascontiguousarray(vectors.matrix[: self.size] / vectors.norms()[: self.size, None], dtype=np.float32)
        if backend == "faiss":
            import faiss

            index: Any = faiss.IndexHNSWFlat(vectors.vector_size, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.add(unit)
            index.hnsw.efSearch = ef_search
        else:
            import hnswlib

            index = hnswlib.Index(space="ip", dim=vectors.vector_size)
            index.init_index(max_elements=self.size, ef_construction=ef_construction, M=m, random_seed=seed)
            index.add_items(unit, np.arange(self.size))
            index.set_ef(ef_search)
        self._index = index

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), each (B, k); rows -1 where fewer were found."""
        k = min(k, self.size)
        if self.backend == "faiss":
            scores, rows = self._index.search(queries, k)
            return scores, rows
        rows, dist = self._index.knn_query(queries, k=k)
        return 1.0 - dist, rows.astype(np.int64)  # hnswlib's "ip" distance is 1 - dot

    def most_similar_batch(self, words: Sequence[str], topn: int = 10) -> list[list[tuple[str, float]]]:
        """Approximate ``Vectors.most_similar_batch``: each word's ``topn`` neighbours, itself excluded.

        Raises:
            ConfigError: bad ``topn``.  VocabError: a word is not in the vectors.
        """
        if isinstance(topn, bool) or not isinstance(topn, int) or topn < 1:
            raise ConfigError(f"topn must be a positive int, got {topn!r}")
        rows = [self.vectors._row(w) for w in words]
        if not rows:
            return []
        queries = np.ascontiguousarray(self.vectors.matrix[rows] / self.vectors.norms()[rows, None], dtype=np.float32)
        scores, found = self._search(queries, topn + 1)
        keys = self.vectors.index_to_key
        out = []
        for row, s, f in zip(rows, scores.tolist(), found.tolist()):
            out.append([(keys[r], float(v)) for r, v in zip(f, s) if r >= 0 and r != row][:topn])
        return out

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """Approximate ``Vectors.most_similar(word, topn=topn)``."""
        return self.most_similar_batch([word], topn)[0]


def recall_at_k(index: ApproxIndex, words: Sequence[str], k: int = 10) -> float:
    """Mean fraction of the exact top-``k`` neighbours (over the same rows) that ``index`` returns."""
    exact = index.vectors.most_similar_batch(words, topn=k, restrict_vocab=index.size)
    approx = index.most_similar_batch(words, topn=k)
    hits = [len({w for w, _ in e} & {w for w, _ in a}) / max(1, len(e)) for e, a in zip(exact, approx)]
    return float(np.mean(hits)) if hits else 0.0
