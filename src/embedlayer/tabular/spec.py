"""The table spec: every input column's `ColumnSpec`, the target and the task, built once from
the training table (`TableSpec.build`), immutable, saved as JSON; `encode` turns any table with
the same columns into tensors-to-be, counting per column the values training never saw."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from embedlayer.errors import ConfigError, DataError
from embedlayer.tabular.accumulate import ColumnStats
from embedlayer.tabular.columns import ColumnSpec, parse_numbers
from embedlayer.tabular.read import Table

__all__ = ["Encoded", "SpecOptions", "TableSpec", "TASKS"]

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")


@dataclass(frozen=True, kw_only=True)
class SpecOptions:
    """How to read the columns of the training table (the CLI's column flags)."""

    target: str  # the column to predict
    categorical: tuple[str, ...] = ()  # force these columns categorical
    numeric: tuple[str, ...] = ()  # force these columns numeric
    ignore: tuple[str, ...] = ()  # leave these columns out
    multi: Mapping[str, str | None] = field(default_factory=dict)  # multi-valued columns -> separator (None: spaces)
    min_count: int = 1  # categories seen fewer times share the column's rare row
    # column -> rows that values training never saw are hashed into ("*": every categorical column)
    hash_buckets: Mapping[str, int] = field(default_factory=dict)
    embedding_dims: Mapping[str, int] = field(default_factory=dict)  # column -> embedding width (else fastai's rule)
    max_embedding_dim: int = 600  # the cap of fastai's rule
    max_int_categories: int = 20  # an integer column with at most this many distinct values is categorical
    # numeric columns also get an embedding of their bin: one per value when there are at most
    # this many distinct values, else this many quantile bins (0: no bins, the number only)
    bins: int = 128
    task: Task | None = None  # None: regression for a numeric target with many values, else by label count


@dataclass(frozen=True)
class Encoded:
    """A table as the model reads it (N rows)."""

    categorical: np.ndarray  # (N, C) int64 rows of `TableSpec.tables` (categorical columns, numeric bins)
    bags: tuple[np.ndarray, ...]  # per multi-valued column: (N, L) int64 rows, PAD-padded
    numeric: np.ndarray  # (N, F) float32 standardised numbers and missing flags
    target: np.ndarray | None  # (N,) int64 class ids or float32 values; None without the target
    unseen: dict[str, int]  # column -> values never seen in training (they used unknown/hash rows)

    def __len__(self) -> int:
        return len(self.categorical)

    def select(self, rows: np.ndarray) -> Encoded:
        """The rows ``rows`` (indices or a mask); ``unseen`` is kept as it was."""
        y = None if self.target is None else self.target[rows]
        return Encoded(self.categorical[rows], tuple(b[rows] for b in self.bags), self.numeric[rows], y, self.unseen)

    @staticmethod
    def concat(parts: Sequence[Encoded]) -> Encoded:
        """The rows of ``parts`` one after another, ids as int32 (4 bytes, not 8: the arrays a
        streamed file is held as; batches widen them); bags padded to the widest; unseen summed."""
        if not parts:
            raise DataError("no rows to encode; expected at least one")
        bags = []
        for j in range(len(parts[0].bags)):
            width = max(p.bags[j].shape[1] for p in parts)
            bags.append(np.concatenate([np.pad(p.bags[j], ((0, 0), (0, width - p.bags[j].shape[1]))) for p in parts]))
        targets = [p.target for p in parts]
        unseen: dict[str, int] = {}
        for p in parts:
            for k, v in p.unseen.items():
                unseen[k] = unseen.get(k, 0) + v
        return Encoded(
            np.concatenate([p.categorical for p in parts]).astype(np.int32),
            tuple(b.astype(np.int32) for b in bags),
            np.concatenate([p.numeric for p in parts]),
            None if any(t is None for t in targets) else np.concatenate(targets),  # type: ignore[arg-type]
            unseen,
        )


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    """Input columns, target and task of a model. Build with `build`, keep with `to_dict`."""

    columns: tuple[ColumnSpec, ...]
    target: str
    task: Task
    labels: tuple[str, ...] = ()  # classification: class names, sorted (class id = position)
    target_mean: float = 0.0  # regression: the model predicts (y - mean) / std
    target_std: float = 1.0

    @property
    def categorical(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.kind == "categorical")

    @property
    def tables(self) -> tuple[ColumnSpec, ...]:
        """The single-valued columns with an embedding table (categorical, binned numeric), in the
        order of ``Encoded.categorical``'s columns."""
        return tuple(c for c in self.columns if c.has_table and c.kind != "multi")

    @property
    def multi(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.kind == "multi")

    @property
    def numeric(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.kind == "numeric")

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise ConfigError(
            f"column {name!r} is not an input of the model; its columns are {[c.name for c in self.columns]}"
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, table: Table | Iterable[Table], options: SpecOptions) -> TableSpec:
        """Detect and build every column's spec from the training table, or from its chunks in
        one pass (`read.iter_table`; see `accumulate` for what is kept and why it is exact).

        Raises DataError for a missing target column, a target with one class or a numeric column
        with text; ConfigError for a named column that is not in the table or named twice."""
        chunks = [table] if isinstance(table, Table) else table
        stats: list[ColumnStats] = []
        target: ColumnStats | None = None
        first: Table | None = None
        for chunk in chunks:
            if first is None:
                first = chunk
                chunk.column(options.target, "target column")
                _check_names(chunk, options)
                stats = [_stats(name, options) for name in chunk.names if name != options.target]
                stats = [s for s in stats if s.name not in options.ignore]
                target = ColumnStats(options.target, "target", regression=options.task == "regression")
                if not stats:
                    raise DataError(f"{chunk.source}: no input columns besides the target {options.target!r}")
            for s in (*stats, target):
                s.add(chunk)  # type: ignore[union-attr]
        if first is None or target is None:
            raise DataError("no table chunks to build a spec from; expected at least one row")
        columns = tuple(_build_column(s, options) for s in stats)
        task, labels, mean, std = _build_target(first.source, target, options)
        return cls(columns=columns, target=options.target, task=task, labels=labels, target_mean=mean, target_std=std)

    # ------------------------------------------------------------------ encoding
    def encode(self, table: Table, *, with_target: bool = True) -> Encoded:
        """Encode ``table`` (extra columns are ignored). Raises DataError for a missing input
        column, text in a numeric column, or (``with_target``) a target value training never had."""
        unseen: dict[str, int] = {}
        cats: list[np.ndarray] = []
        bags: list[np.ndarray] = []
        nums: list[np.ndarray] = []
        for col in self.columns:
            values = table.column(col.name)
            if col.kind == "numeric":
                numbers = parse_numbers(values, table, col.name)
                nums.append(col.encode_numeric(numbers))
                if col.bins:
                    cats.append(col.encode_bins(numbers))
                continue
            rows, unseen[col.name] = col.encode(values)
            (cats if col.kind == "categorical" else bags).append(rows)
        n = len(table)
        categorical = np.stack(cats, axis=1) if cats else np.zeros((n, 0), dtype=np.int64)
        numeric = np.concatenate(nums, axis=1) if nums else np.zeros((n, 0), dtype=np.float32)
        y = self.encode_target(table) if with_target else None
        return Encoded(categorical, tuple(bags), numeric, y, unseen)

    def encode_chunks(self, chunks: Iterable[Table], *, with_target: bool = True) -> Encoded:
        """`encode` chunk by chunk (`read.iter_table`) into one compact `Encoded` (int32 ids,
        float32 numbers): what a streamed file is held as, not its text."""
        parts = []
        for chunk in chunks:
            part = self.encode(chunk, with_target=with_target)
            parts.append(Encoded.concat([part]))  # int32 at once: the chunk's int64 arrays go
        return Encoded.concat(parts)

    def encode_target(self, table: Table) -> np.ndarray:
        """(N,) int64 class ids or float32 standardised values of the target column."""
        values = table.column(self.target, "target column")
        for i, v in enumerate(values):
            if v is None:
                raise DataError(f"{table.at(i)}: the target {self.target!r} is missing; expected a value in every row")
        if self.task == "regression":
            return ((parse_numbers(values, table, self.target) - self.target_mean) / self.target_std).astype(np.float32)
        index = {label: i for i, label in enumerate(self.labels)}
        out = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            if v not in index:
                raise DataError(
                    f"{table.at(i)}: target {v!r} was not seen in training; expected one of {list(self.labels)}"
                )
            out[i] = index[v]
        return out

    @property
    def num_outputs(self) -> int:
        return 1 if self.task == "regression" else len(self.labels)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "target": self.target,
            "task": self.task,
            "labels": list(self.labels),
            "target_mean": self.target_mean,
            "target_std": self.target_std,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSpec:
        """Inverse of `to_dict`; ConfigError when a part is missing or of another kind."""
        try:
            return cls(
                columns=tuple(ColumnSpec.from_dict(c) for c in data["columns"]),
                target=str(data["target"]),
                task=data["task"],
                labels=tuple(data["labels"]),
                target_mean=float(data["target_mean"]),
                target_std=float(data["target_std"]),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"table spec: missing or bad entry ({exc})") from None


def _check_names(table: Table, options: SpecOptions) -> None:
    named = {
        "--categorical": options.categorical,
        "--numeric": options.numeric,
        "--ignore": options.ignore,
        "--multi": tuple(options.multi),
        "--hash-buckets": tuple(n for n in options.hash_buckets if n != "*"),
        "--embedding-dim": tuple(options.embedding_dims),
    }
    for flag, names in named.items():
        for name in names:
            if name not in table.columns:
                raise ConfigError(
                    f"{flag} {name}: {table.source} has no column {name!r}; the columns are {', '.join(table.names)}"
                )
    both = set(options.categorical) & set(options.numeric)
    if both:
        raise ConfigError(f"column(s) {sorted(both)} given to both --categorical and --numeric; expected one")


def _stats(name: str, options: SpecOptions) -> ColumnStats:
    if name in options.multi:
        return ColumnStats(name, "multi", options.multi[name])
    if name in options.categorical:
        return ColumnStats(name, "categorical")
    return ColumnStats(name, "numeric" if name in options.numeric else "auto")


def _build_column(stats: ColumnStats, options: SpecOptions) -> ColumnSpec:
    name = stats.name
    if stats.mode in ("multi", "categorical") or (
        stats.mode == "auto" and stats.looks_categorical(options.max_int_categories)
    ):
        return ColumnSpec.from_counts(
            name,
            stats.counts,
            multi=stats.mode == "multi",
            separator=options.multi.get(name),
            min_count=options.min_count,
            hash_buckets=options.hash_buckets.get(name, options.hash_buckets.get("*", 0)),
            embedding_dim=options.embedding_dims.get(name),
            max_dim=options.max_embedding_dim,
        )
    return ColumnSpec.numeric(
        name,
        stats.values(),
        bins=options.bins,
        embedding_dim=options.embedding_dims.get(name),
        max_dim=options.max_embedding_dim,
    )


def _build_target(source: str, stats: ColumnStats, options: SpecOptions) -> tuple[Task, tuple[str, ...], float, float]:
    """(task, labels, mean, std) of the target column."""
    distinct = sorted(stats.counts)
    task = options.task
    if task is None:
        task = (
            "regression"
            if not stats.looks_categorical(options.max_int_categories)
            else ("binary" if len(distinct) <= 2 else "multiclass")
        )
    if task == "regression":
        y = stats.values()
        std = float(y.std())
        return task, (), float(y.mean()), std if std > 0 else 1.0
    if len(distinct) < 2:
        raise DataError(
            f"{source}: the target {options.target!r} has one class ({distinct[0]!r}) in every row; "
            f"expected at least two classes to learn"
        )
    if task == "binary" and len(distinct) != 2:
        raise DataError(f"--task binary: the target {options.target!r} has {len(distinct)} classes; expected 2")
    return task, tuple(distinct), 0.0, 1.0
