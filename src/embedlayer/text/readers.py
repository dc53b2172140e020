"""Streaming readers for labeled text files: TSV, CSV, JSON lines and plain text.

Files are read line by line in binary and decoded per line, never loaded whole. Line numbers
are 1-based physical lines of the file (a CSV record with a quoted newline is reported at the
line it starts on). Bytes that are not valid UTF-8 are replaced by U+FFFD and counted in a
``DecodeReport`` (the default, ``errors="replace"``) or raise ``DataError`` naming
``file:line`` and the byte (``errors="strict"``). A UTF-8 byte order mark at the start of a file
is removed. Completely empty lines are skipped in every format (a trailing blank line is common);
a line whose text is only whitespace counts as empty text.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from embedlayer._io import check_regular_file
from embedlayer.errors import ConfigError, DataError, where

__all__ = [
    "TABLE_FORMATS",
    "Example",
    "DecodeReport",
    "read_lines",
    "read_examples",
    "detect_table_format",
    "detect_format",
]

Format = Literal["tsv", "csv", "jsonl", "txt"]
#: The data file formats the readers take (the CLI's ``--format`` choices).
TABLE_FORMATS: tuple[str, ...] = get_args(Format)
_EXTENSIONS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}
_MAX_FIRST_LINES = 5


@dataclass(frozen=True)
class Example:
    """One labeled text: ``label`` is None for unlabeled data; ``line`` is 1-based."""

    text: str
    label: str | None
    line: int


@dataclass
class DecodeReport:
    """Counts of invalid UTF-8 replaced while reading (mutable: filled as lines stream by).

    ``bytes_replaced`` counts the invalid bytes; ``first_lines`` keeps the first five line
    numbers that had any.
    """

    lines_replaced: int = 0
    bytes_replaced: int = 0
    first_lines: list[int] = field(default_factory=list)

    def record(self, line: int, nbytes: int) -> None:
        """Note that ``nbytes`` invalid bytes were replaced on ``line``."""
        self.lines_replaced += 1
        self.bytes_replaced += nbytes
        if len(self.first_lines) < _MAX_FIRST_LINES:
            self.first_lines.append(line)

    def summary(self, path: str | os.PathLike[str] | None = None) -> str:
        """One line for a log: ``"3 lines had 5 invalid UTF-8 bytes (replaced), first at lines 2, 9, 40"``."""
        prefix = f"{os.fspath(path)}: " if path is not None else ""
        if not self.lines_replaced:
            return f"{prefix}no invalid UTF-8 bytes"
        firsts = ", ".join(map(str, self.first_lines))
        return (
            f"{prefix}{self.lines_replaced} lines had {self.bytes_replaced} invalid UTF-8 bytes "
            f"(replaced by U+FFFD), first at lines {firsts}"
        )


def _decode(raw: bytes, path: Path, lineno: int, errors: str, report: DecodeReport | None) -> str:
    """Decode one line; same output as ``raw.decode("utf-8", "replace")`` but counted."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as first:
        if errors == "strict":
            bad = raw[first.start]
            raise DataError(
                f"{where(path, lineno)}: invalid UTF-8 byte 0x{bad:02x} at byte {first.start + 1} of the line "
                f"(expected UTF-8 text; re-encode the file, or have bad bytes replaced)"
            ) from None
    parts: list[str] = []
    nbad = 0
    pos = 0
    while True:  # same resynchronisation as the codec's "replace" handler: resume at exc.end
        try:
            parts.append(raw[pos:].decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            parts.append(raw[pos : pos + exc.start].decode("utf-8"))
            parts.append("\ufffd")
            nbad += exc.end - exc.start
            pos += exc.end
    if report is not None:
        report.record(lineno, nbad)
    return "".join(parts)


def _check_errors(errors: str) -> None:
    if errors not in ("replace", "strict"):
        raise ConfigError(f"errors must be 'replace' or 'strict', got {errors!r}")


def _check_file(path: str | os.PathLike[str]) -> Path:
    """``path`` when it is a regular file; DataError naming it when it is missing, a folder, or a
    pipe or device (which would block the reader or never end)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: file not found (expected an existing data file)")
    return check_regular_file(p, expected="a data file")


def _open(path: str | os.PathLike[str]):
    p = _check_file(path)
    try:
        return p, open(p, "rb")
    except OSError as exc:
        raise DataError(f"{p}: cannot open ({exc.strerror})") from None


def _iter_lines(
    path: str | os.PathLike[str], errors: str, report: DecodeReport | None, keepends: bool
) -> Iterator[tuple[int, str]]:
    p, fh = _open(path)
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            text = _decode(raw, p, lineno, errors, report)
            if lineno == 1 and text.startswith("\ufeff"):
                text = text[1:]
            if not keepends:
                text = text.rstrip("\r\n")
            yield lineno, text


def read_lines(
    path: str | os.PathLike[str],
    *,
    errors: Literal["replace", "strict"] = "replace",
    report: DecodeReport | None = None,
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line, 1-based, newline (``\\n``/``\\r\\n``) removed.

    Streams the file. Raises ``DataError`` when the file is missing, or, with
    ``errors="strict"``, on the first invalid UTF-8 byte (naming ``file:line`` and the byte).
    """
    _check_errors(errors)
    return _iter_lines(path, errors, report, keepends=False)


def detect_table_format(path: str | os.PathLike[str]) -> Format:
    """Guess which of ``TABLE_FORMATS`` a data file is: from the extension (.tsv .csv .jsonl
    .ndjson .txt), else from content.

    The content sniff looks at the first non-empty line: ``{`` -> jsonl, a tab -> tsv; then at
    the first 20 CSV records: all with the same number (>= 2) of fields -> csv, otherwise txt
    (prose with a comma or two varies from line to line). A heuristic: pass ``format=`` for
    files with other extensions when it matters.
    """
    p = Path(path)
    ext = _EXTENSIONS.get(p.suffix.lower())
    if ext is not None:
        return ext  # type: ignore[return-value]
    lines = (text for _, text in _iter_lines(p, "replace", None, keepends=True))
    first = next((text for text in lines if text.strip()), None)
    if first is None:
        return "txt"
    if first.lstrip().startswith("{"):
        return "jsonl"
    if "\t" in first:
        return "tsv"
    widths = set()
    try:
        for i, row in enumerate(csv.reader(_prepend(first, lines))):
            if row:
                widths.add(len(row))
            if i >= 20 or len(widths) > 1:
                break
    except csv.Error:
        return "txt"
    return "csv" if len(widths) == 1 and min(widths) >= 2 else "txt"


#: The older name of ``detect_table_format``, kept working.
detect_format = detect_table_format


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


Column = str | int


def _check_col(name: str, col: object, *, optional: bool) -> None:
    if col is None and optional:
        return
    if isinstance(col, bool) or not isinstance(col, (str, int)) or (isinstance(col, int) and col < 0) or col == "":
        raise ConfigError(f"{name} must be a column name or a 0-based index >= 0, got {col!r}")


def read_examples(
    path: str | os.PathLike[str],
    *,
    text_col: Column = "text",
    label_col: Column | None = "label",
    format: Format | None = None,
    header: bool | None = None,
    errors: Literal["replace", "strict"] = "replace",
    report: DecodeReport | None = None,
    allow_empty_text: bool = False,
    fixed_label: str | None = None,
) -> Iterator[Example]:
    """Stream ``Example(text, label, line)`` records from a TSV, CSV, JSON-lines or text file.

    - ``format``: None guesses with ``detect_table_format`` (extension, then content).
    - tsv: fields split on tabs, no quoting. csv: the ``csv`` module (quoted fields may hold
      commas, quotes and newlines). Columns are names (need a header row) or 0-based indices.
    - ``header``: True/False say whether row 1 is a header; None (auto) treats row 1 as a header
      when every named column appears in it, and as data when both columns are indices.
    - jsonl: one JSON object per line; columns are keys; a label may be a string or an integer
      (kept as its decimal string). txt: one text per line, columns ignored, label
      ``fixed_label`` (None by default).
    - Labels are stripped of surrounding whitespace; texts are returned as they are.
    - ``label_col=None`` reads unlabeled data (label None).

    Raises ``ConfigError`` for bad arguments (checked when called), and ``DataError`` naming
    ``file:line`` and what was expected (raised while iterating): missing or empty file, a header
    without rows, a column not in the header (listing the available ones), a row without a
    label, an index out of range for a row, empty text (unless ``allow_empty_text``), an invalid
    JSON line, invalid UTF-8 with ``errors="strict"``.
    """
    _check_errors(errors)
    _check_col("text_col", text_col, optional=False)
    _check_col("label_col", label_col, optional=True)
    if format is not None and format not in TABLE_FORMATS:
        raise ConfigError(f"format must be one of {', '.join(TABLE_FORMATS)} or None, got {format!r}")
    if header not in (None, True, False):
        raise ConfigError(f"header must be True, False or None (auto), got {header!r}")
    if fixed_label is not None and not isinstance(fixed_label, str):
        raise ConfigError(f"fixed_label must be a string or None, got {fixed_label!r}")
    p = _check_file(path)
    fmt = format or detect_table_format(p)
    cols = [c for c in (text_col, label_col) if c is not None]
    if fmt == "jsonl" and any(isinstance(c, int) for c in cols):
        raise ConfigError(
            f"jsonl columns are keys: text_col and label_col must be strings, got {text_col!r}, {label_col!r}"
        )
    if fmt in ("tsv", "csv") and header is False and any(isinstance(c, str) for c in cols):
        raise ConfigError(
            f"named columns {[c for c in cols if isinstance(c, str)]} need a header row; "
            f"with header=False pass 0-based column indices"
        )
    if fmt == "jsonl":
        return _read_jsonl(p, text_col, label_col, errors, report, allow_empty_text)  # type: ignore[arg-type]
    if fmt == "txt":
        return _read_txt(p, errors, report, allow_empty_text, fixed_label)
    return _read_table(p, fmt, text_col, label_col, header, errors, report, allow_empty_text)


def _empty_file(path: Path, fmt: str) -> DataError:
    return DataError(f"{path}: file is empty (expected {fmt} rows, found none)")


def _check_text(text: str, loc: str, desc: str, allow_empty: bool) -> None:
    if not allow_empty and not text.strip():
        raise DataError(f"{loc}: empty text in {desc} (expected non-empty text; remove the row, or allow empty texts)")


def _read_txt(
    path: Path, errors: str, report: DecodeReport | None, allow_empty: bool, label: str | None
) -> Iterator[Example]:
    seen = False
    for lineno, text in _iter_lines(path, errors, report, keepends=False):
        if text == "":
            continue
        seen = True
        _check_text(text, where(path, lineno), "the line", allow_empty)
        yield Example(text, label, lineno)
    if not seen:
        raise _empty_file(path, "txt")


def _json_label(value: object, loc: str, key: str) -> str:
    if value is None:
        raise DataError(f"{loc}: row without a label: key {key!r} is null (expected a label)")
    if isinstance(value, str):
        label = value.strip()
    elif isinstance(value, int) and not isinstance(value, bool):
        label = str(value)
    else:
        raise DataError(f"{loc}: label {key!r} is {value!r} (expected a string or an integer)")
    if not label:
        raise DataError(f"{loc}: row without a label: key {key!r} is empty (expected a label)")
    return label


def _read_jsonl(
    path: Path, text_key: str, label_key: str | None, errors: str, report: DecodeReport | None, allow_empty: bool
) -> Iterator[Example]:
    seen = False
    for lineno, line in _iter_lines(path, errors, report, keepends=False):
        if not line.strip():
            continue
        seen = True
        loc = where(path, lineno)
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{loc}: invalid JSON ({exc.msg} at column {exc.colno}); expected one JSON object per line"
            ) from None
        if not isinstance(obj, dict):
            raise DataError(f"{loc}: found a JSON {type(obj).__name__}, expected a JSON object per line")
        if text_key not in obj:
            raise DataError(f"{loc}: missing key {text_key!r} (keys present: {', '.join(map(repr, obj))})")
        text = obj[text_key]
        if not isinstance(text, str):
            raise DataError(f"{loc}: text {text_key!r} is {text!r} (expected a string)")
        _check_text(text, loc, f"key {text_key!r}", allow_empty)
        if label_key is not None and label_key not in obj:
            raise DataError(
                f"{loc}: row without a label: missing key {label_key!r} (keys present: {', '.join(map(repr, obj))})"
            )
        label = None if label_key is None else _json_label(obj[label_key], loc, label_key)
        yield Example(text, label, lineno)
    if not seen:
        raise _empty_file(path, "jsonl")


def _rows(path: Path, fmt: str, errors: str, report: DecodeReport | None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first_line, fields)`` for each non-empty row of a TSV or CSV file."""
    if fmt == "tsv":
        for lineno, text in _iter_lines(path, errors, report, keepends=False):
            if text:
                yield lineno, text.split("\t")
        return
    lines = (text for _, text in _iter_lines(path, errors, report, keepends=True))
    reader = csv.reader(lines)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"{where(path, start)}: malformed CSV ({exc}); expected comma-separated fields "
                f"with double-quoted fields where they contain commas, quotes or newlines"
            ) from None
        if fields:
            yield start, fields


def _describe(col: Column | None) -> str:
    return f"column {col!r}" if isinstance(col, str) else f"column index {col}"


def _resolve(path: Path, col: Column, head: list[str] | None, role: str) -> int:
    """Turn a column name into its index in the header row ``head`` (line 1)."""
    if isinstance(col, int):
        return col
    assert head is not None  # named columns always come with a header (checked before)
    names = [h.strip() for h in head]
    if col not in names:
        raise DataError(
            f"{where(path, 1)}: {role} column {col!r} not found in the header "
            f"(available: {', '.join(map(repr, names))})"
        )
    return names.index(col)


def _read_table(
    path: Path,
    fmt: str,
    text_col: Column,
    label_col: Column | None,
    header: bool | None,
    errors: str,
    report: DecodeReport | None,
    allow_empty: bool,
) -> Iterator[Example]:
    rows = _rows(path, fmt, errors, report)
    first = next(rows, None)
    if first is None:
        raise _empty_file(path, fmt)
    named = [c for c in (text_col, label_col) if isinstance(c, str)]
    if header is None:
        names = {h.strip() for h in first[1]}
        if named and not all(c in names for c in named):
            missing = [c for c in named if c not in names]
            raise DataError(
                f"{where(path, first[0])}: column {', '.join(map(repr, missing))} not found in row 1 "
                f"(available: {', '.join(repr(h.strip()) for h in first[1])}); for a file without a header "
                f"row pass 0-based column indices"
            )
        header = bool(named)
    head = first[1] if header else None
    ti = _resolve(path, text_col, head, "text")
    li = None if label_col is None else _resolve(path, label_col, head, "label")
    sep = "tabs" if fmt == "tsv" else "commas"
    seen = False
    for lineno, fields in rows if header else _chain(first, rows):
        seen = True
        loc = where(path, lineno)
        n = len(fields)
        if ti >= n:
            raise DataError(
                f"{loc}: text {_describe(text_col)} is out of range for a row with {n} fields "
                f"(expected at least {ti + 1} fields separated by {sep})"
            )
        text = fields[ti]
        label = None
        if li is not None:
            if li >= n:
                raise DataError(
                    f"{loc}: row without a label: label {_describe(label_col)} is out of range for "
                    f"a row with {n} fields (expected at least {li + 1} fields separated by {sep})"
                )
            label = fields[li].strip()
            if not label:
                raise DataError(f"{loc}: row without a label: {_describe(label_col)} is empty (expected a label)")
        _check_text(text, loc, _describe(text_col), allow_empty)
        yield Example(text, label, lineno)
    if not seen:
        if header:
            raise DataError(
                f"{path}: has a header row ({', '.join(repr(h) for h in first[1])}) but no data rows "
                f"(expected at least one row after line {first[0]})"
            )
        raise _empty_file(path, fmt)


def _chain(first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest
