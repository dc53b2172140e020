"""Tables in, columns of strings out: CSV, TSV and Parquet read by pyarrow (never by hand), or
a pyarrow Table / pandas DataFrame already in memory.

Every column is read as text (``None`` where a cell is empty or a missing marker such as ``?`` or
``NA``), so a column's kind is decided once by the column spec, and a numeric column with text in
it is an error that names the file, the line and the column, not a silent NaN.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlayer.errors import ConfigError, DataError, where

__all__ = ["MISSING_MARKERS", "Table", "TableFile", "from_arrow", "from_pandas", "iter_table", "read_table"]

#: Cells read as missing (besides the empty cell): what CSV exports of common tools write.
MISSING_MARKERS: tuple[str, ...] = ("?", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")
_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Table:
    """Named columns of equal length N, each an object array of ``str`` or ``None`` (missing).

    ``source`` names the file in errors; ``first_line`` is the file line of row 0 (2 after a
    header; rows are taken to be one line each), so row ``i`` is at line ``first_line + i``.
    """

    columns: Mapping[str, np.ndarray]  # name -> (N,) object
    source: str = "data"
    first_line: int | None = 2
    first_row: int = 0  # row 0's place in the whole table (a chunk of a streamed file), for errors

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def line(self, row: int) -> int | None:
        """The file line of row ``row`` (None for Parquet or in-memory data)."""
        return None if self.first_line is None else self.first_line + row

    def at(self, row: int) -> str:
        """``file:line`` (or ``file row N``) of a row, for error messages."""
        line = self.line(row)
        return where(self.source, line) if line is not None else f"{self.source} row {self.first_row + row + 1}"

    def column(self, name: str, what: str = "column") -> np.ndarray:
        """The column ``name``; DataError naming the columns there are when it is absent."""
        if name not in self.columns:
            raise DataError(f"{self.source}: no {what} {name!r}; the columns are {', '.join(self.columns)}")
        return self.columns[name]

    def select(self, rows: np.ndarray) -> Table:
        """The rows ``rows`` (indices or a mask); line numbers are no longer contiguous, so dropped."""
        return Table({k: v[rows] for k, v in self.columns.items()}, self.source, None)

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[Sequence[object]], source: str = "data") -> Table:
        """A table from Python rows (values turned into text; None, "" and the markers are missing)."""
        cols = {n: np.array([_cell(r[i]) for r in rows], dtype=object) for i, n in enumerate(names)}
        return cls(cols, source, None)


def _cell(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return None if text == "" or text in MISSING_MARKERS else text


def detect_format(path: str | os.PathLike[str]) -> str:
    """ "csv", "tsv" or "parquet" from the extension (a ``.txt`` or none: tab if the first line has one)."""
    suffix = Path(path).suffix.lower()
    if suffix in _FORMATS:
        return _FORMATS[suffix]
    with open(path, "rb") as fh:
        head = fh.readline()
    return "tsv" if b"\t" in head else "csv"


def read_table(path: str | os.PathLike[str], *, format: str | None = None) -> Table:
    """Read a CSV/TSV file (with a header row) or a Parquet file; every column as text.

    Raises:
        DataError: the file is empty, has no data rows, or pyarrow cannot parse it (its message,
            which names the row, is kept).
        ConfigError: ``format`` is not csv, tsv or parquet.
    """
    import pyarrow as pa

    source, fmt = _check_file(path, format)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            arrow = pq.read_table(source)
            first_line = None
        else:
            arrow = _read_delimited(source, "\t" if fmt == "tsv" else ",")
            first_line = 2
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"{source}: not a readable {fmt.upper()} table ({' '.join(str(exc).split())})") from None
    if arrow.num_rows == 0:
        raise DataError(f"{source}: no data rows; expected a header row and at least one row")
    return from_arrow(arrow, source, first_line)


#: Bytes of CSV/TSV text parsed at a time when streaming (pyarrow's ReadOptions.block_size).
BLOCK_SIZE = 8 << 20
#: Rows of a Parquet file read at a time when streaming.
PARQUET_ROWS = 65536


def iter_table(
    path: str | os.PathLike[str], *, format: str | None = None, block_size: int = BLOCK_SIZE
) -> Iterator[Table]:
    """`read_table` in chunks: CSV/TSV parsed ``block_size`` bytes at a time (pyarrow's streaming
    reader), Parquet ``PARQUET_ROWS`` rows at a time, each chunk a `Table` whose lines (or rows)
    continue the chunk's before, so errors name the line of the whole file. Same errors as
    `read_table` (a parse error in a later block is raised when that block is reached)."""
    import pyarrow as pa

    if block_size < 1:
        raise ConfigError(f"--block-size {block_size}: expected a number of bytes >= 1")
    source, fmt = _check_file(path, format)
    rows = 0
    try:
        for batch in _batches(source, fmt, block_size):
            if batch.num_rows:
                first_line = None if fmt == "parquet" else 2 + rows
                yield from_arrow(pa.Table.from_batches([batch]), source, first_line, rows)
                rows += batch.num_rows
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"{source}: not a readable {fmt.upper()} table ({' '.join(str(exc).split())})") from None
    if rows == 0:
        raise DataError(f"{source}: no data rows; expected a header row and at least one row")


@dataclass(frozen=True)
class TableFile:
    """A table file read in chunks each time it is iterated (`iter_table`): what `TableSpec.build`,
    `TabularPipeline.fit`, ``evaluate`` and ``predict`` take instead of a `Table` for a file too
    big to hold as text."""

    path: str
    format: str | None = None
    block_size: int = BLOCK_SIZE

    @property
    def source(self) -> str:
        return self.path

    def __iter__(self) -> Iterator[Table]:
        return iter_table(self.path, format=self.format, block_size=self.block_size)


def _batches(source: str, fmt: str, block_size: int) -> Iterator[Any]:  # pyarrow.RecordBatch
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(source) as reader:
            yield from reader.iter_batches(batch_size=PARQUET_ROWS)
        return
    parse = pacsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
    with pacsv.open_csv(source, parse_options=parse) as reader:  # the header, to type every column as text
        names = reader.schema.names
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
    read = pacsv.ReadOptions(block_size=block_size)
    with pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert) as reader:
        yield from reader


def _check_file(path: str | os.PathLike[str], format: str | None) -> tuple[str, str]:
    """(source, format) of a table file; DataError when it is missing or empty."""
    source = os.fspath(path)
    if not Path(path).is_file():
        raise DataError(f"{source}: no such file; expected a CSV, TSV or Parquet table")
    fmt = format or detect_format(path)
    if fmt not in ("csv", "tsv", "parquet"):
        raise ConfigError(f"table format {fmt!r}: expected csv, tsv or parquet")
    if Path(path).stat().st_size == 0:
        raise DataError(f"{source}: the file is empty; expected a header row and data rows")
    return source, fmt


def from_arrow(arrow: Any, source: str = "data", first_line: int | None = None, first_row: int = 0) -> Table:
    """A `Table` from a ``pyarrow.Table``: every column cast to text, empty cells and the missing
    markers as None (what `read_table` does after parsing)."""
    import pyarrow as pa

    columns = {}
    for name, col in zip(arrow.column_names, arrow.columns):
        values = col.cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)
        values[np.isin(values, ("", *MISSING_MARKERS))] = None
        columns[str(name)] = values
    return Table(columns, source, first_line, first_row)


def from_pandas(frame: Any, source: str = "DataFrame") -> Table:
    """A `Table` from a pandas DataFrame (through pyarrow; NaN and None are missing).
    Errors name rows as ``DataFrame row N`` (1-based)."""
    import pyarrow as pa

    return from_arrow(pa.Table.from_pandas(frame, preserve_index=False), source)


def _read_delimited(source: str, delimiter: str):  # -> pyarrow.Table
    import pyarrow as pa
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(delimiter=delimiter)
    with pacsv.open_csv(source, parse_options=parse) as reader:  # the header, to type every column as text
        names = reader.schema.names
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False)
    return pacsv.read_csv(source, parse_options=parse, convert_options=convert)
