"""Ratings → a factorisation model of users and items (and their side columns).

`Recommender` is a `TabularPipeline` whose target is the rating and whose first two columns are
the user and the item: biased matrix factorisation ("mf", the default) reads only those two; a
factorisation machine ("fm") reads every column, side columns of the users and items tables
joined in by key. It adds what a recommender needs besides: k folds, the items each user rated
(so ``top`` recommends unseen ones), and the item table to score every item for a user.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedlayer.errors import ConfigError, DataError
from embedlayer.tabular.columns import parse_numbers
from embedlayer.tabular.pipeline import ModelSettings, TabularPipeline
from embedlayer.tabular.read import Table
from embedlayer.tabular.spec import SpecOptions
from embedlayer.train import TrainConfig, TrainResult

__all__ = ["Ratings", "Recommender", "fold_ids", "join_side", "prepare_ratings"]

ATTACHMENT = "recommend.json"
MF = ModelSettings(kind="mf")  # the default model: biased matrix factorisation


@dataclass(frozen=True, kw_only=True)
class Ratings:
    """Which columns of a ratings table hold the user, the item and the rating."""

    user: str = "user_id"
    item: str = "item_id"
    rating: str = "rating"


def prepare_ratings(table: Table, cols: Ratings) -> tuple[Table, int]:
    """(ratings with only the last of each duplicate (user, item) pair, pairs dropped).

    Raises DataError for a missing column, a missing user/item, or a rating that is not a number
    (naming file:line)."""
    user, item = table.column(cols.user, "user column"), table.column(cols.item, "item column")
    parse_numbers(table.column(cols.rating, "rating column"), table, cols.rating)
    for name, values in ((cols.user, user), (cols.item, item)):
        empty = np.flatnonzero(values == None)  # noqa: E711 - object arrays compare by element
        if empty.size:
            raise DataError(f"{table.at(int(empty[0]))}: {name} is missing; expected an id in every row")
    last: dict[tuple[str, str], int] = {}
    for i, pair in enumerate(zip(user.tolist(), item.tolist())):
        last[pair] = i
    keep = np.array(sorted(last.values()), dtype=np.int64)
    dropped = len(table) - len(keep)
    return (
        table if dropped == 0 else Table({k: v[keep] for k, v in table.columns.items()}, table.source, None)
    ), dropped


def join_side(ratings: Table, side: Table, key: str) -> Table:
    """``ratings`` with the columns of ``side`` (a users or items table) joined on ``key``; a key the
    side table lacks gives missing cells. Column names clashing with the ratings' get the side
    file's stem as a prefix."""
    keys = side.column(key, "key column")
    index = {k: i for i, k in enumerate(keys.tolist())}
    rows = np.array([index.get(k, -1) for k in ratings.column(key).tolist()], dtype=np.int64)
    columns = dict(ratings.columns)
    stem = Path(side.source).stem
    for name, values in side.columns.items():
        if name == key:
            continue
        joined = values[np.maximum(rows, 0)].copy()  # (N,) object
        joined[rows < 0] = None
        columns[f"{stem}.{name}" if name in columns else name] = joined
    return Table(columns, ratings.source, ratings.first_line)


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """(n,) int64 fold of each row: a seeded permutation dealt round-robin (sizes differ by <= 1)."""
    if folds < 2 or folds > n:
        raise ConfigError(f"--folds {folds}: expected an integer from 2 to the number of ratings ({n})")
    out = np.empty(n, dtype=np.int64)
    out[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return out


class Recommender:
    """A rating model of (user, item[, side columns]) with the data ``top`` needs."""

    def __init__(
        self, pipeline: TabularPipeline, cols: Ratings, items: Table, users: Table, seen: dict[str, list[str]]
    ) -> None:
        self.pipeline = pipeline
        self.cols = cols
        self.items = items  # one row per item: the item column and the item side columns read
        self.users = users  # one row per user: the user column and the user side columns read
        self.seen = seen  # user -> items rated in training

    @classmethod
    def build(
        cls,
        ratings: Table,
        cols: Ratings,
        *,
        user_columns: Sequence[str] = (),
        item_columns: Sequence[str] = (),
        options: SpecOptions | None = None,
        settings: ModelSettings = MF,
    ) -> Recommender:
        """Spec and untrained model from the (joined) training ratings. MF reads the user and the
        item only; FM also the side columns ``user_columns`` and ``item_columns`` of ``ratings``."""
        fm = settings.kind == "fm"
        user_side, item_side = (tuple(user_columns), tuple(item_columns)) if fm else ((), ())
        keep = [cols.user, cols.item, *user_side, *item_side]
        for name in keep:
            ratings.column(name)
        table = Table({n: ratings.columns[n] for n in (*keep, cols.rating)}, ratings.source, ratings.first_line)
        base = options or SpecOptions(target=cols.rating)
        read = set(keep)  # settings of side columns an MF model does not read are left out
        spec_options = replace(
            base,
            target=cols.rating,
            task="regression",
            categorical=(cols.user, cols.item, *(n for n in base.categorical if n in read)),
            numeric=tuple(n for n in base.numeric if n in read),
            ignore=(),
            multi={k: v for k, v in base.multi.items() if k in read},
            hash_buckets={k: v for k, v in base.hash_buckets.items() if k in read or k == "*"},
            embedding_dims={k: v for k, v in base.embedding_dims.items() if k in read},
        )
        pipeline = TabularPipeline.build(table, spec_options, settings)
        items = _first_rows(ratings, cols.item, (cols.item, *item_side))
        users = _first_rows(ratings, cols.user, (cols.user, *user_side))
        return cls(pipeline, cols, items, users, _seen(ratings, cols))

    def fit(self, train: Table, dev: Table | None, config: TrainConfig, **kwargs: Any) -> TrainResult:
        """`TabularPipeline.fit` (squared error, early stopping on dev RMSE)."""
        return self.pipeline.fit(train, dev, config, **kwargs)

    def evaluate(self, table: Table) -> dict[str, Any]:
        """RMSE and MAE in rating units, and per column the values training never saw."""
        return self.pipeline.evaluate(table)

    @torch.no_grad()
    def top(self, user: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` items with the highest predicted rating that ``user`` has not rated, best first.
        A user training never saw gets the unknown row (the items' popularity and biases)."""
        if k < 1:
            raise ConfigError(f"--k {k}: expected an integer >= 1")
        seen = set(self.seen.get(user, ()))
        items = self.items.select(np.array([i not in seen for i in self.items.column(self.cols.item)], dtype=bool))
        cols = dict(items.columns)
        known = np.flatnonzero(self.users.column(self.cols.user) == user)
        for name, values in self.users.columns.items():  # the user's side columns (missing if unknown)
            cols[name] = np.array([values[known[0]] if known.size else None] * len(items), dtype=object)
        cols[self.cols.user] = np.array([user] * len(items), dtype=object)
        table = Table(cols, "items", None)
        scores = self.pipeline.predict(Table(cols, "items", None))
        best = np.argsort(-scores, kind="stable")[:k]
        ids = table.column(self.cols.item)
        return [(str(ids[i]), float(scores[i])) for i in best]

    # ------------------------------------------------------------------ files
    def save(self, directory: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
        """The pipeline's folder plus recommend.json (columns, item table, items seen per user)."""
        attachment = {
            "columns": self.cols.__dict__,
            "items": {k: v.tolist() for k, v in self.items.columns.items()},
            "users": {k: v.tolist() for k, v in self.users.columns.items()},
            "seen": self.seen,
        }
        return self.pipeline.save(
            directory, extra={"task": "recommend", **(extra or {})}, attachments={ATTACHMENT: attachment}
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Recommender:
        """Read a folder written by `save`; ModelError for a tabular model without recommend.json."""
        import json

        from embedlayer.errors import ModelError

        pipeline = TabularPipeline.load(directory)
        path = Path(directory) / ATTACHMENT
        if pipeline.config.get("task") != "recommend" or not path.is_file():
            raise ModelError(
                f"{directory}: a model of `tabular train`, not of `recommend train`; expected a recommender folder"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        items, users = (
            Table({k: np.array(v, dtype=object) for k, v in data[part].items()}, part, None)
            for part in ("items", "users")
        )
        return cls(pipeline, Ratings(**data["columns"]), items, users, data["seen"])


def _first_rows(ratings: Table, key: str, names: Sequence[str]) -> Table:
    """One row per distinct ``key`` (its first rating) with the columns ``names``."""
    _, first = np.unique(ratings.column(key).astype(str), return_index=True)
    rows = np.sort(first)
    return Table({n: ratings.columns[n][rows] for n in names}, key, None)


def _seen(ratings: Table, cols: Ratings) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for user, item in zip(ratings.column(cols.user).tolist(), ratings.column(cols.item).tolist()):
        seen.setdefault(user, []).append(item)
    return seen
