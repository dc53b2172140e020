"""What the web explorer shows and answers: projected points, and neighbour / analogy queries.

The first ``shown`` rows of the table (the most frequent words in GloVe / word2vec order) are
projected and drawn; queries search every row of the table by cosine in the full space (never the
projection), so a neighbour may be a word that is not drawn (its ``index`` is then -1).

The same payload feeds the served page (``/api/points``) and the self-contained HTML file
(``offline.py``), which adds the unit vectors of the drawn rows so the page can answer queries
without a server.
"""

from __future__ import annotations

import base64
import bisect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embedlayer.errors import ConfigError, VocabError
from embedlayer.vectors import Vectors
from embedlayer.viz.labels import LabelSet
from embedlayer.viz.palette import NONE_COLOUR, PALETTE, colour
from embedlayer.viz.projection import Projection, project

__all__ = ["K_DEFAULT", "K_MAX", "ExplorerData", "b64_array", "build_explorer"]

FORMAT, VERSION = "embedlayer.explorer", 1
K_MAX = 100  # neighbours a query may ask for
K_DEFAULT = 10


def b64_array(array: np.ndarray, dtype: str) -> str:
    """Little-endian bytes of ``array`` as ``dtype`` ('<f4', '<i2', ...), base64 (what the page decodes)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


@dataclass(frozen=True)
class ExplorerData:
    """A table, its projected head and optional labels; answers the explorer's queries.

    Attributes:
        vectors: every row, searched by the queries.
        shown: how many leading rows are drawn (``projection`` has that many points).
        projection: the drawn rows' coordinates.
        labels: colours by label, or None.
        source: a name for the page header (the file name).
    """

    vectors: Vectors
    shown: int
    projection: Projection
    labels: LabelSet | None
    source: str
    _sorted: tuple[tuple[str, ...], tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = self.vectors.index_to_key[: self.shown]
        order = sorted(range(len(words)), key=lambda i: (words[i].casefold(), i))
        object.__setattr__(self, "_sorted", (tuple(words[i].casefold() for i in order), tuple(order)))

    # --- payloads ---------------------------------------------------------------------------------
    def points(self) -> dict[str, Any]:
        """The page's data: words, normalised coordinates (base64 float32, ``shown`` × components),
        label ids and names, projection description, limits."""
        words = list(self.vectors.index_to_key[: self.shown])
        labels = None
        if self.labels is not None:
            ids = self.labels.ids(words)
            labels = {
                "source": Path(self.labels.source).name,
                "names": list(self.labels.names),
                "colours": [colour(i) for i in range(len(self.labels.names))],
                "ids": ids.tolist(),
                "labelled": int((ids >= 0).sum()),
            }
        p = self.projection
        return {
            "format": FORMAT,
            "version": VERSION,
            "source": self.source,
            "count": len(self.vectors),
            "shown": self.shown,
            "dim": self.vectors.vector_size,
            "projection": {
                "method": p.method,
                "components": p.dim,
                "describe": p.describe(),
                "explained": list(p.explained) if p.explained is not None else None,
            },
            "words": words,
            "coords": b64_array(p.normalised(), "<f4"),
            "labels": labels,
            "colours": {"default": PALETTE[0], "none": NONE_COLOUR},
            "k_default": K_DEFAULT,
            "k_max": K_MAX,
        }

    def offline_points(self) -> dict[str, Any]:
        """``points()`` plus the unit-length rows of the drawn words (base64 float32, shown × D)
        so the page computes cosines itself."""
        payload = self.points()
        payload["vectors"] = b64_array(self.vectors.normed_matrix()[: self.shown], "<f4")
        payload["offline"] = True
        return payload

    # --- queries ----------------------------------------------------------------------------------
    def _entry(self, word: str, score: float | None = None) -> dict[str, Any]:
        row = self.vectors.key_to_index.get(word, -1)
        out: dict[str, Any] = {"word": word, "index": row if 0 <= row < self.shown else -1}
        if score is not None:
            out["score"] = round(float(score), 6)
        return out

    def unknown(self, words: list[str]) -> str | None:
        """The first of ``words`` that has no row in the table, or None."""
        index = self.vectors.key_to_index
        return next((w for w in words if w not in index), None)

    def unknown_message(self, word: str) -> str:
        """The message for a word that is not in the table, with close words when there are some."""
        hint = self.suggestions(word)
        more = f"; did you mean {', '.join(hint)}?" if hint else ""
        return f"word {word!r} is not in the vocabulary of {self.source} ({len(self.vectors):,} words){more}"

    def _check(self, words: list[str]) -> None:
        word = self.unknown(words)
        if word is not None:
            raise VocabError(self.unknown_message(word))

    def neighbours(self, word: str, k: int = K_DEFAULT) -> dict[str, Any]:
        """The ``k`` nearest words to ``word`` by cosine over the whole table, best first.

        Raises:
            VocabError: ``word`` is not in the table (the message suggests close words).
            ConfigError: ``k`` outside 1 .. K_MAX.
        """
        _check_k(k)
        self._check([word])
        found = self.vectors.most_similar(word, topn=k)
        return {"query": self._entry(word), "k": k, "neighbors": [self._entry(w, s) for w, s in found]}

    def analogy(self, a: str, b: str, c: str, k: int = K_DEFAULT) -> dict[str, Any]:
        """The ``k`` words closest to a − b + c (unit vectors, gensim's 3CosAdd; the three query
        words excluded): ``analogy("king", "man", "woman")`` answers queen first.

        Raises:
            VocabError: a query word is not in the table.  ConfigError: bad ``k``.
        """
        _check_k(k)
        self._check([a, b, c])
        found = self.vectors.most_similar(positive=[a, c], negative=[b], topn=k)
        return {
            "query": {"a": self._entry(a), "b": self._entry(b), "c": self._entry(c)},
            "formula": f"{a} − {b} + {c}",
            "k": k,
            "answers": [self._entry(w, s) for w, s in found],
        }

    def suggestions(self, word: str, limit: int = 5) -> list[str]:
        """Drawn words equal to ``word`` ignoring case, then drawn words starting with it (most
        frequent first): for the message about a word that is not in the table."""
        keys, rows = self._sorted
        folded = word.casefold()
        lo = bisect.bisect_left(keys, folded)
        hi = bisect.bisect_left(keys, folded + "\U0010ffff")
        hits = sorted(rows[i] for i in range(lo, min(hi, lo + 500)))
        exact = [r for r in hits if self.vectors.index_to_key[r].casefold() == folded]
        ranked = exact + [r for r in hits if r not in exact]
        words = self.vectors.index_to_key
        return [words[r] for r in ranked if words[r] != word][:limit]


def _check_k(k: Any) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= K_MAX:
        raise ConfigError(f"k {k!r}: expected an integer from 1 to {K_MAX}")


def build_explorer(
    vectors: Vectors,
    *,
    source: str | os.PathLike[str],
    points: int = 50_000,
    method: str = "pca",
    dim: int = 3,
    labels: LabelSet | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> ExplorerData:
    """Project the first ``points`` rows of ``vectors`` and get the table ready for queries
    (row norms computed once, so concurrent queries share them safely).

    Raises:
        ConfigError: ``points`` < 1, bad ``method`` / ``dim``.
        DataError: too few rows to project (see ``projection.project``).
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ConfigError(f"points {points!r}: expected a positive number of words to draw")
    shown = min(points, len(vectors))
    name = Path(os.fspath(source)).name or os.fspath(source)
    projection = project(vectors.matrix[:shown], dim, method, seed=seed, source=os.fspath(source), log=log)
    # cache what the queries read before any thread runs one: the row norms, and the unit rows of an
    # in-memory table (a memory-mapped one is streamed by the queries, never copied)
    vectors.norms()
    if not isinstance(vectors.matrix, np.memmap):
        vectors.normed_matrix()
    return ExplorerData(vectors=vectors, shown=shown, projection=projection, labels=labels, source=name)
