"""Align pretrained ``Vectors`` to a ``Vocab``: one row per vocabulary id, and a coverage report.

Row by row (id order):

* the padding row (``vocab.pad_id``) is zero;
* the other specials (``<unk>`` and any extra specials) and the hash-bucket rows
  (``len(itos) <= id < num_embeddings``) are never looked up: pretrained files have no agreed
  spelling for them, so they are initialised like missing words (below);
* a regular token is looked up exactly, then (``lowercase_fallback``) as ``token.lower()`` when
  that differs; a token found neither way is *missing*.

Missing rows (``missing=``):

* ``"random"`` (default): N(0, s²) where s is the standard deviation of all values of the found
  rows, so new rows have the scale of the pretrained ones; drawn in id order from
  ``torch.Generator().manual_seed(seed)``;
* ``"zero"``: zeros;
* ``"mean"``: the mean of the found rows.

When no row is found the statistics come from the whole vectors table (or N(0, 1) / zeros for an
empty table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from embedlayer.errors import ConfigError, FormatError
from embedlayer.layers.options import MISSING_POLICIES, MissingPolicy
from embedlayer.vectors.store import Vectors

if TYPE_CHECKING:
    from embedlayer.vocab import Vocab

__all__ = ["MISSING_POLICIES", "CoverageReport", "align_vectors"]

_EXAMPLES = 10


@dataclass(frozen=True)
class CoverageReport:
    """How much of a vocabulary pretrained vectors cover (specials and buckets excluded).

    Attributes:
        total: regular vocabulary tokens (``itos`` minus specials).
        exact: tokens found as they are.
        lowercase: tokens found only as ``token.lower()``.
        missing: tokens found neither way (``total == exact + lowercase + missing``).
        missing_examples: up to 10 missing tokens, most frequent first (ties in vocab order).
        token_coverage: the fraction of token *occurrences* (``vocab.counts``) whose token was
            found; 0.0 when the counts sum to 0.
    """

    total: int
    exact: int
    lowercase: int
    missing: int
    missing_examples: tuple[str, ...]
    token_coverage: float

    @property
    def found(self) -> int:
        """Tokens found exactly or by lowercase."""
        return self.exact + self.lowercase

    @property
    def type_coverage(self) -> float:
        """The fraction of regular vocabulary tokens found (0.0 for an empty vocabulary)."""
        return self.found / self.total if self.total else 0.0

    def summary(self) -> str:
        """One line for humans, e.g.
        ``"9,120 of 10,000 vocabulary words found (91.2%: 9,000 exact, 120 lowercase), 880 missing;
        98.1% of token occurrences covered; most frequent missing: foo, bar"``."""
        text = (
            f"{self.found:,} of {self.total:,} vocabulary words found ({self.type_coverage:.1%}: "
            f"{self.exact:,} exact, {self.lowercase:,} lowercase), {self.missing:,} missing; "
            f"{self.token_coverage:.1%} of token occurrences covered"
        )
        if self.missing_examples:
            text += "; most frequent missing: " + ", ".join(self.missing_examples[:5])
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the fields."""
        return {
            "total": self.total,
            "exact": self.exact,
            "lowercase": self.lowercase,
            "missing": self.missing,
            "missing_examples": list(self.missing_examples),
            "type_coverage": self.type_coverage,
            "token_coverage": self.token_coverage,
        }


def align_vectors(
    vectors: Vectors,
    vocab: Vocab,
    *,
    missing: MissingPolicy = "random",
    lowercase_fallback: bool = True,
    seed: int = 0,
    embedding_dim: int | None = None,
) -> tuple[Tensor, CoverageReport]:
    """Build a (vocab.num_embeddings, D) float32 table from ``vectors`` (see the module docstring).

    Only ``vocab.itos``, ``counts``, ``num_embeddings``, ``pad_id``, ``unk_id`` and (if present)
    ``specials`` are read, so any object with those works.

    Raises:
        ConfigError: unknown ``missing`` policy or a non-int ``seed``.
        FormatError: ``embedding_dim`` given and not the vectors' dimension (naming both).
    """
    if missing not in MISSING_POLICIES:
        raise ConfigError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    dim = vectors.vector_size
    if embedding_dim is not None and embedding_dim != dim:
        raise FormatError(
            f"the vectors have dimension {dim} but embedding_dim is {embedding_dim}; "
            f"expected them to be equal (or leave embedding_dim out)"
        )
    itos: Sequence[str] = vocab.itos
    counts: Sequence[int] = vocab.counts
    num_rows = int(vocab.num_embeddings)
    special = _special_ids(vocab)
    key_to_index = vectors.key_to_index

    # The report describes the words the data showed (count > 0); words added with count 0 (e.g.
    # `Vocab.extend` with the vectors' own words) are aligned but not counted, unless no word has
    # a count at all (a vocabulary made from a plain word list).
    reported = any(counts[i] > 0 for i in range(len(itos)) if i not in special)
    found_ids: list[int] = []
    found_rows: list[int] = []
    exact = lowercase = 0
    missing_regular: list[int] = []
    for i, token in enumerate(itos):
        if i in special:
            continue
        counted = counts[i] > 0 or not reported
        row, by_lowercase = key_to_index.get(token), False
        if row is None and lowercase_fallback and (lower := token.lower()) != token:
            row, by_lowercase = key_to_index.get(lower), True
        if row is None:
            if counted:
                missing_regular.append(i)
            continue
        if counted:
            lowercase += by_lowercase
            exact += not by_lowercase
        found_ids.append(i)
        found_rows.append(row)

    weight = torch.zeros(num_rows, dim, dtype=torch.float32)  # (V, D)
    found_matrix = vectors.matrix[found_rows]  # (F, D), a copy
    if found_ids:
        weight[found_ids] = torch.from_numpy(found_matrix)
    fill_ids = sorted(set(range(num_rows)) - set(found_ids) - {vocab.pad_id})
    _fill_missing(weight, fill_ids, found_matrix if found_ids else vectors.matrix, missing, seed)

    regular_total = sum(1 for i in range(len(itos)) if i not in special and (counts[i] > 0 or not reported))
    report = CoverageReport(
        total=regular_total,
        exact=exact,
        lowercase=lowercase,
        missing=len(missing_regular),
        missing_examples=tuple(itos[i] for i in sorted(missing_regular, key=lambda i: (-counts[i], i))[:_EXAMPLES]),
        token_coverage=_token_coverage(counts, found_ids, special, len(itos)),
    )
    return weight, report


def _special_ids(vocab: Any) -> set[int]:
    """Ids of the pad, unk and extra special tokens (never looked up, excluded from the report)."""
    ids = {i for i in (vocab.pad_id, vocab.unk_id) if i is not None}
    specials = set(getattr(vocab, "specials", ()) or ())
    ids.update(i for i, token in enumerate(vocab.itos) if token in specials)
    return ids


def _fill_missing(weight: Tensor, ids: list[int], source: np.ndarray, missing: str, seed: int) -> None:
    """Write the rows ``ids`` of ``weight`` per the ``missing`` policy, from ``source``'s statistics."""
    if not ids or missing == "zero":
        return
    dim = weight.shape[1]
    if missing == "mean":
        mean = source.mean(axis=0, dtype=np.float64) if len(source) else np.zeros(dim)  # (D,)
        weight[ids] = torch.from_numpy(mean.astype(np.float32)).expand(len(ids), dim)
        return
    std = float(source.std(dtype=np.float64)) if source.size else 1.0
    generator = torch.Generator().manual_seed(seed)
    weight[ids] = torch.randn(len(ids), dim, generator=generator) * std  # (M, D)


def _token_coverage(counts: Sequence[int], found_ids: list[int], special: set[int], n: int) -> float:
    total = sum(counts[i] for i in range(n) if i not in special)
    return sum(counts[i] for i in found_ids) / total if total else 0.0
