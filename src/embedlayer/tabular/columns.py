"""One column's spec: how its text cells become embedding rows (categorical, multi-valued) or
standardised numbers (numeric). Built once from the training column, immutable, saved as JSON.

Rows of a categorical table (the same layout for single- and multi-valued columns)::

    0 padding (bags only: zero, never trained)   1 missing   2 unknown (unseen at training)
    3 rare (seen fewer than min_count times)     4 … 4+K-1 the K kept categories, by frequency
    With hash_buckets = H > 0 rows 4 … 4+H-1 are H buckets instead, and every value is hashed
    into one (FNV-1a, as fastText): a value never seen in training shares a trained row instead of
    the unknown row (the categories are still listed, to count unseen values and to export).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from embedlayer.errors import ConfigError, DataError
from embedlayer.subwords import fasttext_hash
from embedlayer.tabular.read import Table

__all__ = ["PAD", "MISSING", "UNKNOWN", "RARE", "FIRST", "ColumnSpec", "fastai_dim", "parse_numbers"]

PAD, MISSING, UNKNOWN, RARE, FIRST = 0, 1, 2, 3, 4
Kind = Literal["categorical", "multi", "numeric"]


def fastai_dim(n: int, cap: int = 600) -> int:
    """fastai's embedding size for ``n`` categories: ``min(cap, round(1.6 * n ** 0.56))``, at least 1."""
    return max(1, min(cap, round(1.6 * n**0.56)))


def parse_numbers(values: np.ndarray, table: Table, name: str) -> np.ndarray:
    """(N,) float64 of a text column, NaN where missing; DataError naming file:line and column at
    the first cell that is not a number."""
    out = np.full(len(values), np.nan)
    present = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    try:  # numpy's cast calls float() on every cell: the loop below only finds the bad one
        out[present] = values[present].astype(np.float64)
        return out
    except (ValueError, TypeError):
        pass
    for i, text in enumerate(values):
        if text is None:
            continue
        try:
            out[i] = float(text)
        except ValueError:
            raise DataError(
                f"{table.at(i)}: column {name!r} is numeric but holds {text!r}; expected a number "
                f"(or pass --categorical {name})"
            ) from None
    return out


@dataclass(frozen=True, kw_only=True)
class ColumnSpec:
    """How one input column is encoded; ``build`` makes it from the training column."""

    name: str
    kind: Kind
    # categorical / multi: the kept categories, in row order from FIRST (most frequent first)
    categories: tuple[str, ...] = ()
    # categorical / multi: categories seen fewer than min_count times (they share the rare row)
    rare: tuple[str, ...] = ()
    # categorical / multi: hash every value into this many rows (0: a row per category, unseen
    # values to the unknown row)
    hash_buckets: int = 0
    # categorical / multi: width of the column's embedding rows
    embedding_dim: int = 0
    # multi: the separator of the values in a cell (None: any run of whitespace)
    separator: str | None = None
    # numeric: training mean and standard deviation (after imputation), and the imputed median
    mean: float = 0.0
    std: float = 1.0
    median: float = 0.0
    # numeric: the training column had missing cells, so the model gets a 0/1 missing column too
    missing_indicator: bool = False
    # numeric: inner edges of quantile bins; the bin of a value is also looked up in a table (so
    # the model sees thresholds and heavy tails, not only a standardised number). () : no table
    bins: tuple[float, ...] = ()

    # ------------------------------------------------------------------ building
    @classmethod
    def categorical(
        cls,
        name: str,
        values: np.ndarray,
        *,
        multi: bool = False,
        separator: str | None = None,
        min_count: int = 1,
        hash_buckets: int = 0,
        embedding_dim: int | None = None,
        max_dim: int = 600,
    ) -> ColumnSpec:
        """A categorical (or, with ``multi``, multi-valued) column from its training cells."""
        counts: Counter[str] = Counter()
        for cell in values:
            if cell is not None:
                counts.update(_split(cell, separator) if multi else (cell,))
        return cls.from_counts(
            name,
            counts,
            multi=multi,
            separator=separator,
            min_count=min_count,
            hash_buckets=hash_buckets,
            embedding_dim=embedding_dim,
            max_dim=max_dim,
        )

    @classmethod
    def from_counts(
        cls,
        name: str,
        counts: Mapping[str, int],
        *,
        multi: bool = False,
        separator: str | None = None,
        min_count: int = 1,
        hash_buckets: int = 0,
        embedding_dim: int | None = None,
        max_dim: int = 600,
    ) -> ColumnSpec:
        """`categorical` from the counts of the column's values (of the split values for ``multi``)."""
        if min_count < 1:
            raise ConfigError(f"--min-count {min_count}: expected an integer >= 1")
        if hash_buckets < 0:
            raise ConfigError(f"--hash-buckets {name}={hash_buckets}: expected an integer >= 0")
        kept = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
        rare = sorted(c for c, n in counts.items() if n < min_count)
        n = (hash_buckets or len(kept)) + 1  # rows a value can take, and the missing row
        dim = embedding_dim if embedding_dim is not None else fastai_dim(n, max_dim)
        if dim < 1:
            raise ConfigError(f"--embedding-dim {name}={dim}: expected an integer >= 1")
        kind: Kind = "multi" if multi else "categorical"
        return cls(
            name=name,
            kind=kind,
            categories=tuple(kept),
            rare=tuple(rare),
            hash_buckets=hash_buckets,
            embedding_dim=dim,
            separator=separator if multi else None,
        )

    @classmethod
    def numeric(
        cls, name: str, numbers: np.ndarray, *, bins: int = 0, embedding_dim: int | None = None, max_dim: int = 600
    ) -> ColumnSpec:
        """A numeric column from its parsed training values (NaN = missing); with ``bins`` > 1,
        also a bin per value when there are at most ``bins`` distinct ones, else ``bins``
        quantile bins (fewer when values repeat), each with a row of an embedding table."""
        present = numbers[~np.isnan(numbers)]
        if present.size == 0:
            raise DataError(f"column {name!r} has no numbers in the training data; expected some (or --ignore {name})")
        if bins < 0:
            raise ConfigError(f"--bins {bins}: expected an integer >= 0")
        edges: tuple[float, ...] = ()
        if bins > 1:
            distinct = np.unique(present)
            if len(distinct) <= bins:  # few values (capital gains, ages): one bin each
                edges = tuple(float(x) for x in distinct[1:])
            else:  # quantile bins; repeated values may merge some
                edges = tuple(float(x) for x in np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])))
        dim = 0
        if edges:
            dim = embedding_dim if embedding_dim is not None else fastai_dim(len(edges) + 2, max_dim)
        median = float(np.median(present))
        filled = np.where(np.isnan(numbers), median, numbers)
        std = float(filled.std())
        return cls(
            name=name,
            kind="numeric",
            mean=float(filled.mean()),
            std=std if std > 0 and math.isfinite(std) else 1.0,
            median=median,
            missing_indicator=bool(present.size < numbers.size),
            bins=edges,
            embedding_dim=dim,
        )

    # ------------------------------------------------------------------ encoding
    @property
    def num_rows(self) -> int:
        """Rows of the column's embedding table (reserved rows, categories or bins, hash buckets)."""
        if self.kind == "numeric":
            return FIRST + len(self.bins) + 1 if self.bins else 0
        return FIRST + (self.hash_buckets or len(self.categories))

    @property
    def has_table(self) -> bool:
        """The column is looked up in an embedding table (categorical, multi, or numeric with bins)."""
        return self.kind != "numeric" or bool(self.bins)

    def encode_bins(self, numbers: np.ndarray) -> np.ndarray:
        """(N,) int64 bin rows of parsed numbers (the missing row for NaN)."""
        rows = FIRST + np.searchsorted(np.asarray(self.bins), np.nan_to_num(numbers), side="right")
        return np.where(np.isnan(numbers), MISSING, rows).astype(np.int64)

    @property
    def width(self) -> int:
        """Numeric features this column gives the model (numeric: the value, and the missing flag)."""
        return 1 + int(self.missing_indicator) if self.kind == "numeric" else 0

    def row_of(self) -> dict[str, int]:
        """``{category: row}`` of the training categories: kept ones their row, rare ones the rare
        row (hashed columns: the row their hash gives, for both)."""
        if self.hash_buckets:
            return {c: self._bucket(c) for c in (*self.categories, *self.rare)}
        return {**{c: RARE for c in self.rare}, **{c: FIRST + i for i, c in enumerate(self.categories)}}

    def _bucket(self, value: str) -> int:
        return FIRST + fasttext_hash(value) % self.hash_buckets

    def encode_one(self, value: str, rows: Mapping[str, int]) -> tuple[int, bool]:
        """(row, unseen) of one value: unseen values go to a hash bucket or the unknown row."""
        row = rows.get(value)
        if row is not None:
            return row, False
        return (self._bucket(value) if self.hash_buckets else UNKNOWN), True

    def encode(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Categorical: (N,) int64 rows and the number of unseen values. Multi: (N, L) int64 rows
        padded with PAD (L = most values in a cell, at least 1; an empty or missing cell is the
        missing row) and the number of unseen values."""
        rows, unseen = self.row_of(), 0
        if self.kind == "categorical":
            out = np.empty(len(values), dtype=np.int64)
            for i, cell in enumerate(values):
                if cell is None:
                    out[i] = MISSING
                else:
                    out[i], new = self.encode_one(cell, rows)
                    unseen += new
            return out, unseen
        cells: list[list[int]] = []
        for cell in values:
            ids = [MISSING]
            if cell is not None and _split(cell, self.separator):
                pairs = [self.encode_one(x, rows) for x in _split(cell, self.separator)]
                ids = [row for row, _ in pairs]
                unseen += sum(new for _, new in pairs)
            cells.append(ids)
        bags = np.zeros((len(values), max(len(c) for c in cells) if cells else 1), dtype=np.int64)
        for i, ids in enumerate(cells):
            bags[i, : len(ids)] = ids
        return bags, unseen

    def encode_numeric(self, numbers: np.ndarray) -> np.ndarray:
        """(N, width) float32: the standardised value (median where missing) and the missing flag."""
        missing = np.isnan(numbers)
        value = (np.where(missing, self.median, numbers) - self.mean) / self.std
        cols = [value, missing.astype(np.float64)] if self.missing_indicator else [value]
        return np.stack(cols, axis=1).astype(np.float32)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["categories"], out["rare"], out["bins"] = list(self.categories), list(self.rare), list(self.bins)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        """Inverse of `to_dict`; ConfigError on unknown keys or a bad kind."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown or data.get("kind") not in ("categorical", "multi", "numeric"):
            raise ConfigError(
                f"column spec {dict(data).get('name')!r}: unknown keys {unknown} or kind {data.get('kind')!r}"
            )
        return cls(
            **{
                **data,
                "categories": tuple(data.get("categories", ())),
                "rare": tuple(data.get("rare", ())),
                "bins": tuple(data.get("bins", ())),
            }
        )


def _split(cell: str, separator: str | None) -> list[str]:
    return [x for x in (cell.split(separator) if separator else cell.split()) if x]
