"""The learned rows of a table model's columns (``tabular train``, ``recommend train``), drawn as
PCA scatters labelled by category; `embedlayer.viz.runplots.plot_run` writes them for a folder."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ColumnRows", "column_file_names", "column_rows", "plot_column"]


@dataclass(frozen=True)
class ColumnRows:
    """One column's learned rows to draw: ``labels[i]`` names row ``matrix[i]``, most frequent
    category first (a binned numeric column: its bins in order)."""

    column: str
    labels: tuple[str, ...]
    matrix: np.ndarray  # (K, D) float32


def column_rows(
    folder: str | os.PathLike[str], columns: Sequence[str] | None = None
) -> tuple[list[ColumnRows], list[str]]:
    """The learned rows of a table model folder's columns, and a line per column left out.

    Without ``columns``: every categorical and multi-valued column with at least 3 categories and
    rows at least 2 wide (numeric columns' bin tables left out). ``columns`` names the columns to
    draw, binned numeric columns included.

    Raises:
        ModelError: the folder cannot be loaded.
        ConfigError: a named column is not an input of the model, or has no table.
    """
    from embedlayer.errors import ConfigError
    from embedlayer.tabular.columns import FIRST
    from embedlayer.tabular.pipeline import TabularPipeline

    pipeline = TabularPipeline.load(folder)
    spec = pipeline.spec
    with_table = [c.name for c in spec.columns if c.has_table]
    if columns is not None:
        lacking = [c for c in columns if c not in {col.name for col in spec.columns}]
        if lacking:
            raise ConfigError(
                f"--columns {','.join(lacking)}: not a column of the model in {folder}; "
                f"expected some of {', '.join(with_table)}"
            )
        flat = [c for c in columns if not spec.column(c).has_table]
        if flat:
            raise ConfigError(
                f"--columns {','.join(flat)}: numeric without bins, so no embedding table to draw; "
                f"expected some of {', '.join(with_table)}"
            )
    out: list[ColumnRows] = []
    skipped: list[str] = []
    for col in spec.columns:
        if columns is None:
            if col.kind == "numeric":
                continue
            if len(col.categories) < 3 or col.embedding_dim < 2:
                skipped.append(
                    f"column {col.name}: {len(col.categories)} categories, {col.embedding_dim}-d rows "
                    f"(too few to project; name it in --columns to try)"
                )
                continue
        elif col.name not in columns:
            continue
        if col.kind == "numeric":
            index = [c.name for c in spec.tables].index(col.name)
            table = pipeline.model.column_vectors(index).numpy()
            edges = [f"{e:g}" for e in col.bins]
            labels = [f"< {edges[0]}", *(f"{a}–{b}" for a, b in zip(edges, edges[1:])), f"≥ {edges[-1]}"]
            matrix = table[FIRST : FIRST + len(labels)]
        else:
            categories, matrix = pipeline.column_vectors(col.name)
            labels = list(categories)
        out.append(ColumnRows(col.name, tuple(labels), np.ascontiguousarray(matrix, dtype=np.float32)))
    if columns is not None:  # in the order asked
        order = {c: i for i, c in enumerate(columns)}
        out.sort(key=lambda r: order[r.column])
    return out, skipped


def plot_column(
    rows: ColumnRows,
    projection: Any,
    path: str | os.PathLike[str],
    *,
    source: str,
    max_labels: int = 100,
    size: tuple[float, float] | None = None,
    dpi: int = 150,
) -> Any:
    """A scatter of ``projection`` (of ``rows.matrix``) labelled by category: the ``max_labels``
    most frequent ones, all of them drawn when that is every category, else where they fit.
    Returns `viz.plot.ScatterResult`."""
    from embedlayer.viz.plot import plot_scatter

    n = len(rows.labels)
    label = np.zeros(n, bool)
    label[:max_labels] = True
    variance = "" if projection.explained is None else f", {sum(projection.explained):.0%} of variance"
    shown = "" if max_labels >= n else f" · labels: the {max_labels} most frequent, where they fit"
    return plot_scatter(
        projection,
        list(rows.labels),
        path,
        title=f"PCA of column {rows.column} ({n} rows) of {source}: {rows.matrix.shape[1]}-d → 2-d{variance}{shown}",
        label=label,
        required=max_labels >= n,
        size=size,
        dpi=dpi,
    )


def column_file_names(columns: Sequence[str]) -> list[str]:
    """``<column>.png`` for each column, made a safe file name, distinct and never the curves'."""
    taken = {"learning_curves.png"}
    names = []
    for column in columns:
        stem = re.sub(r"[^\w.-]+", "_", column).strip("._") or "column"
        name, k = f"{stem}.png", 2
        while name in taken:
            name, k = f"{stem}-{k}.png", k + 1
        taken.add(name)
        names.append(name)
    return names
