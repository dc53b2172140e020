"""GloVe and word2vec *text* vector files: read (streaming) and write words and a matrix.

Both formats are one word per line, the word then its D values separated by spaces::

    word2vec text:  "3 4"              <- header: word count, dimension
                    "the 0.1 0.2 0.3 0.4"
    GloVe:          "the 0.1 0.2 0.3 0.4"   (no header)

fastText's ``.vec`` files are word2vec text. Which of the two a file is, is the caller's to say
(``embedlayer.vectors.io.detect_vectors_format`` tells from the first line; a GloVe file of
dimension 1 whose first word is an integer looks like a header: pass ``format="glove"`` for it).

Lines are read as bytes and split on ASCII whitespace, so words may hold any other Unicode
character (including no-break spaces).

Speed: good files are parsed in bulk by ``text_fast.FastReader``; a file it cannot vouch for is
read again line by line here, which names the problem with ``file:line``.

This module builds no ``Vectors`` (``Vectors.load`` / ``Vectors.save`` call it): ``read_text``
returns a ``Table`` (words, index, matrix), ``write_text`` takes words and a matrix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from types import MappingProxyType
from typing import BinaryIO

import numpy as np

from embedlayer._io import atomic_write, check_regular_file
from embedlayer.errors import ConfigError, FormatError, where
from embedlayer.vectors.checks import Table, UnicodeErrors, check_plain_words, check_read_options, header_numbers
from embedlayer.vectors.text_fast import _BOM, FastReader, GiveUp, TextFormat

__all__ = ["read_text", "write_text", "TextFormat"]

_FORMATS = ("glove", "word2vec")
_MAX_PREALLOC = 1 << 20  # rows


def read_text(
    path: str | os.PathLike[str],
    format: TextFormat,
    limit: int | None = None,
    expected_dim: int | None = None,
    *,
    unicode_errors: UnicodeErrors = "strict",
) -> Table:
    """Read a GloVe or word2vec text file.

    Args:
        path: the file.
        format: ``"glove"`` (no header) or ``"word2vec"`` (a ``"count dim"`` header line).
        limit: read only the first ``limit`` words (the file's order, usually by frequency).
        expected_dim: if given, the file's dimension must equal it.
        unicode_errors: how to decode words that are not valid UTF-8 (``"strict"`` raises).

    Returns:
        ``Table(words, index, matrix)``: N unique words and their (N, D) float32 rows.

    Raises:
        ConfigError: bad ``format``, ``limit``, ``expected_dim`` or ``unicode_errors``.
        FormatError (with ``file:line``): missing or empty file, bad header, a row with the wrong
            number of values, a non-numeric or NaN/infinite value, a duplicate word, a header count
            that disagrees with the rows, a dimension other than ``expected_dim``, bad UTF-8.
    """
    if format not in _FORMATS:
        raise ConfigError(f"vectors text format must be one of {_FORMATS}, got {format!r}")
    check_read_options(limit, expected_dim, unicode_errors)
    try:
        with _open(path) as fh:
            return FastReader(path, format, limit, expected_dim, unicode_errors).read(fh)
    except GiveUp:
        pass
    with _open(path) as fh:  # the careful reader finds and names the problem
        return _Reader(path, format, limit, expected_dim, unicode_errors).read(fh)


class _Reader:
    """One pass over the lines, filling a float32 array that doubles when full."""

    def __init__(self, path, fmt: TextFormat, limit: int | None, expected_dim: int | None, unicode_errors: str):
        self.path, self.fmt, self.limit = path, fmt, limit
        self.expected_dim, self.unicode_errors = expected_dim, unicode_errors
        self.header_count: int | None = None
        self.header_line = False  # the first line looked like a header (for a hint)

    def read(self, fh: BinaryIO) -> Table:
        lines = _lines(fh)
        dim = None
        if self.fmt == "word2vec":
            dim = self._header(lines)
            if self.header_count == 0:
                return Table((), MappingProxyType({}), np.zeros((0, dim), np.float32))
        # Preallocate what the header or limit promises (capped: a corrupt header must not
        # allocate gigabytes); the array doubles if the file holds more.
        capacity = min(self.limit or _MAX_PREALLOC, self.header_count or _MAX_PREALLOC, _MAX_PREALLOC)
        if self.limit is None and self.header_count is None:
            capacity = 1024
        words: list[str] = []
        index: dict[str, int] = {}
        line_of_row: list[int] = []
        matrix = None
        for lineno, fields in lines:
            if self.limit is not None and len(words) >= self.limit:
                break
            if self.header_count is not None and len(words) >= self.header_count:
                raise FormatError(
                    f"{where(self.path, lineno)}: more words than the header's count "
                    f"{self.header_count}; expected the file to end"
                )
            word = self._word(fields[0], lineno)
            values = fields[1:]
            if dim is None:
                dim = self._first_dim(values, word, lineno)
            if matrix is None:
                matrix = np.empty((capacity, dim), dtype=np.float32)
            if len(values) != dim:
                raise FormatError(self._count_message(lineno, word, dim, len(values)))
            if word in index:
                raise FormatError(
                    f"{where(self.path, lineno)}: duplicate word {word!r} (first on line "
                    f"{line_of_row[index[word]]}); expected each word once"
                )
            row = len(words)
            if row == len(matrix):
                matrix = np.concatenate([matrix, np.empty_like(matrix)])
            try:
                with np.errstate(over="ignore"):  # 1e39 becomes inf, reported below
                    matrix[row] = values
            except ValueError:
                raise FormatError(self._number_message(lineno, word, values)) from None
            index[word] = row
            words.append(word)
            line_of_row.append(lineno)
        if not words:
            raise FormatError(f"{where(self.path)}: no vectors in the file; expected one 'word v1 ... vD' per line")
        if self.header_count is not None and self.limit is None and len(words) < self.header_count:
            raise FormatError(
                f"{where(self.path)}: the header says {self.header_count} words but the file "
                f"has {len(words)}; expected as many rows as the header's count"
            )
        assert matrix is not None, "a row was read, so the matrix exists"
        matrix = matrix[: len(words)]
        self._check_finite(matrix, words, line_of_row)
        return Table(tuple(words), MappingProxyType(index), matrix)

    def _header(self, lines: Iterator[tuple[int, list[bytes]]]) -> int:
        for lineno, fields in lines:
            numbers = header_numbers(fields)
            if numbers is None:
                shown = b" ".join(fields)[:60].decode("utf-8", "replace")
                raise FormatError(
                    f"{where(self.path, lineno)}: expected a word2vec header 'count dim', found {shown!r}"
                )
            count, dim = numbers
            if dim < 1:
                raise FormatError(f"{where(self.path, lineno)}: header dimension is {dim}; expected >= 1")
            self._check_expected_dim(dim, lineno)
            self.header_count = count
            return dim
        raise FormatError(f"{where(self.path)}: empty file; expected a word2vec header 'count dim'")

    def _first_dim(self, values: list[bytes], word: str, lineno: int) -> int:
        if not values:
            raise FormatError(
                f"{where(self.path, lineno)}: found the word {word!r} and no values; expected 'word v1 ... vD'"
            )
        self.header_line = header_numbers([word.encode(), *values]) is not None
        self._check_expected_dim(len(values), lineno)
        return len(values)

    def _check_expected_dim(self, dim: int, lineno: int | None = None) -> None:
        if self.expected_dim is not None and dim != self.expected_dim:
            raise FormatError(
                f"{where(self.path, lineno)}: the vectors have dimension {dim}, expected_dim is {self.expected_dim}"
            )

    def _word(self, raw: bytes, lineno: int) -> str:
        try:
            return raw.decode("utf-8", self.unicode_errors)
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"{where(self.path, lineno)}: the word {raw!r} is not valid UTF-8 ({exc.reason}); "
                f"expected UTF-8 text (or pass unicode_errors='replace')"
            ) from None

    def _count_message(self, lineno: int, word: str, dim: int, found: int) -> str:
        source = "the header's dimension" if self.fmt == "word2vec" else "the first row's dimension"
        message = f"{where(self.path, lineno)}: expected {dim} values after the word {word!r} ({source}), found {found}"
        if self.fmt == "glove" and self.header_line and lineno == 2:
            message += "; line 1 looks like a word2vec header, try format='word2vec'"
        return message

    def _number_message(self, lineno: int, word: str, values: list[bytes]) -> str:
        for column, value in enumerate(values, start=1):
            try:
                float(value)
            except ValueError:
                shown = value.decode("utf-8", "replace")
                return (
                    f"{where(self.path, lineno)}: value {column} of the word {word!r} is {shown!r}; expected a number"
                )
        return f"{where(self.path, lineno)}: the values of the word {word!r} are not numbers"  # pragma: no cover

    def _check_finite(self, matrix: np.ndarray, words: list[str], line_of_row: list[int]) -> None:
        finite = np.isfinite(matrix).all(axis=1)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            column = int(np.flatnonzero(~np.isfinite(matrix[row]))[0]) + 1
            raise FormatError(
                f"{where(self.path, line_of_row[row])}: value {column} of the word {words[row]!r} is "
                f"{matrix[row, column - 1]}; expected a finite number"
            )


def _open(path: str | os.PathLike[str]) -> BinaryIO:
    return open(check_regular_file(path, expected="a vectors file", error=FormatError), "rb")


def _lines(fh: BinaryIO) -> Iterator[tuple[int, list[bytes]]]:
    """(1-based line number, whitespace-split fields) for each non-blank line; drops a UTF-8 BOM."""
    for lineno, raw in enumerate(fh, start=1):
        if lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        fields = raw.split()
        if fields:
            yield lineno, fields


def write_text(
    words: Sequence[str],
    matrix: np.ndarray,
    path: str | os.PathLike[str],
    *,
    format: TextFormat = "glove",
    precision: int | None = None,
) -> None:
    """Write ``words`` and their (N, D) rows as GloVe or word2vec text, atomically.

    ``precision=None`` writes the shortest decimal that reads back to the same float32 (exact
    round trip, and what gensim writes); an int writes that many significant digits.

    Raises:
        ConfigError: unknown ``format`` or ``precision`` not in 1..17.
        FormatError: a word that is empty or contains ASCII whitespace (it could not be read back).
    """
    if format not in _FORMATS:
        raise ConfigError(f"vectors text format must be one of {_FORMATS}, got {format!r}")
    if precision is not None and (
        isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 17
    ):
        raise ConfigError(f"precision must be None or an int in 1..17, got {precision!r}")
    check_plain_words(words, "text vector formats")
    with atomic_write(path, "w") as fh:
        if format == "word2vec":
            fh.write(f"{len(words)} {matrix.shape[1]}\n")
        for word, values in zip(words, matrix):
            if precision is None:
                text = " ".join(map(str, values))  # str(np.float32): shortest exact round trip
            else:
                text = " ".join(f"{v:.{precision}g}" for v in values.tolist())
            fh.write(f"{word} {text}\n")
