"""The first pass of a table spec: what is kept of each column while the table's chunks go by,
so a file bigger than memory needs no more than its columns' statistics.

Per column, over every chunk:

* categorical and multi-valued columns (and columns whose kind is still to be detected): the
  count of every value — memory grows with the distinct values, not the rows (pass ``--numeric``
  for a continuous column with millions of distinct values: it then keeps no counts);
* numeric columns (and detected ones while every cell is a number): the parsed values as float64,
  8 bytes a row, NaN where missing. Mean, standard deviation, median and quantile bins are then
  computed by the same numpy calls on the same array as for a table read whole, so they are
  **exact** and equal bit for bit however the file is cut into chunks (no sketch, no sample).

`TableSpec.build` reads a table in memory as one chunk through the same code.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import numpy as np

from embedlayer.errors import DataError
from embedlayer.tabular.columns import _split, parse_numbers
from embedlayer.tabular.read import Table

__all__ = ["ColumnStats"]

Mode = Literal["categorical", "multi", "numeric", "auto", "target"]
_BOOLEANS = {"true", "false", "yes", "no", "t", "f", "y", "n"}


class ColumnStats:
    """Counts and numbers of one column over the chunks given to `add`."""

    def __init__(self, name: str, mode: Mode, separator: str | None = None, *, regression: bool = False) -> None:
        self.name, self.mode, self.separator = name, mode, separator
        self.regression = regression  # target: text in it is an error naming its line
        self.counts: Counter[str] = Counter()
        self.numbers: list[np.ndarray] = []
        self.text = False  # auto / target: a cell that is not a number was seen (numbers dropped)

    def add(self, table: Table) -> None:
        """Take in one chunk; DataError naming file:line for text in a numeric column or a
        missing target."""
        values = table.columns[self.name]
        if self.mode == "numeric":
            self.numbers.append(parse_numbers(values, table, self.name))
            return
        if self.mode == "target":
            for i, v in enumerate(values):
                if v is None:
                    raise DataError(
                        f"{table.at(i)}: the target {self.name!r} is missing; expected a value in every row"
                    )
            if self.regression:
                self.counts.update(values)
                self.numbers.append(parse_numbers(values, table, self.name))
                return
        present = values[np.fromiter((v is not None for v in values), dtype=bool, count=len(values))]
        if self.mode == "multi":
            for cell in present:
                self.counts.update(_split(cell, self.separator))
            return
        self.counts.update(present)
        if self.mode != "categorical" and not self.text:
            try:
                self.numbers.append(present.astype(np.float64) if self.mode == "target" else _floats(values))
            except (ValueError, TypeError):
                self.text, self.numbers = True, []

    def values(self) -> np.ndarray:
        """(N,) float64 of every chunk's numbers (NaN where missing)."""
        return np.concatenate(self.numbers) if self.numbers else np.zeros(0)

    def looks_categorical(self, max_int_categories: int) -> bool:
        """Strings and booleans are categorical; integers with few distinct values too (the rule
        of a column read whole)."""
        if not self.counts or {v.lower() for v in self.counts} <= _BOOLEANS or self.text:
            return True
        numbers = self.values()
        numbers = numbers[~np.isnan(numbers)]
        return bool(np.all(numbers == np.round(numbers)) and len(self.counts) <= max_int_categories)


def _floats(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    present = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    out[present] = values[present].astype(np.float64)
    return out
