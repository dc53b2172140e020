"""A column's learned entity embeddings as `Vectors`, keyed by category (or by a readable name
taken from another table), so the vectors tools (neighbours, plots, the explorer) work on them."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from embedlayer.errors import DataError
from embedlayer.tabular.pipeline import TabularPipeline
from embedlayer.tabular.read import Table
from embedlayer.vectors import Vectors

__all__ = ["column_vectors", "entity_names"]


def column_vectors(
    pipeline: TabularPipeline, column: str, *, names: Mapping[str, str] | None = None, text_keys: bool = False
) -> Vectors:
    """The learned rows of ``column`` (one per category kept in training) as Vectors.

    ``names``: category -> display name (categories without one keep their own); a name two
    categories share gets `` #category`` appended. ``text_keys``: whitespace in keys becomes
    ``_`` (the word2vec/GloVe text formats separate fields by spaces)."""
    categories, matrix = pipeline.column_vectors(column)  # (K, D)
    keys, seen = [], set()
    for category in categories:
        key = (names or {}).get(category, category)
        if text_keys:
            key = re.sub(r"\s+", "_", key.strip()) or "_"
        if key in seen:
            key = f"{key}_#{category}" if text_keys else f"{key} #{category}"
        seen.add(key)
        keys.append(key)
    return Vectors(keys, np.asarray(matrix, dtype=np.float32))


def entity_names(table: Table, key: str, template: str) -> dict[str, str]:
    """``{key value: template filled from the row}``, e.g. ``"{movie_title} ({release_year})"``.

    Raises DataError naming the column when the template names one the table lacks."""
    fields = re.findall(r"{([^{}]+)}", template)
    columns = {f: table.column(f, "column (in --name-template)") for f in fields}
    ids = table.column(key, "key column")
    out = {}
    for i, k in enumerate(ids):
        if k is None:
            continue
        values = {f: ("" if columns[f][i] is None else columns[f][i]) for f in fields}
        try:
            out[k] = template.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise DataError(
                f"--name-template {template!r}: {exc}; expected {{COLUMN}} fields of {table.source}"
            ) from None
    return out
