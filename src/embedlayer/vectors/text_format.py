"""GloVe and word2vec *text* vector files: read (streaming, format detected by content) and write.

Both formats are one word per line, the word then its D values separated by spaces::

    word2vec text:  "3 4"              <- header: word count, dimension
                    "the 0.1 0.2 0.3 0.4"
    GloVe:          "the 0.1 0.2 0.3 0.4"   (no header)

fastText's ``.vec`` files are word2vec text. Detection reads the first line: exactly two fields
that are both non-negative integers means a word2vec header, anything else GloVe. (A GloVe file of
dimension 1 whose first word is an integer looks like a header; pass ``format="glove"`` for it.)

Lines are read as bytes and split on ASCII whitespace, so words may hold any other Unicode
character (including no-break spaces).

Speed: the file is read in chunks of whole lines (a few MB). For each chunk one regex pass takes
the first field of every line (the words) and replaces it by ``nan``, and ``np.fromstring`` parses
the whole chunk in C into a (k, D + 1) block whose first column must then be exactly the ``nan``
markers: that proves every line had D values without a Python loop per line. Values are parsed
as numpy and gensim parse them (decimal -> double -> float32), so the numbers are identical.
Anything unusual in a chunk (a bad row, NaN, bad UTF-8, a duplicate word, a header that disagrees)
makes the fast path give up and the file is read again by the plain line-by-line reader, which
raises the error with ``file:line``: bad files cost a second read, good files never pay for the
checks. The matrix is allocated once (rows bounded by the file's line count), never copied.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from typing import BinaryIO, Literal

import numpy as np

from embedlayer._io import atomic_write
from embedlayer.errors import ConfigError, FormatError, where
from embedlayer.vectors.store import UnicodeErrors, Vectors
from embedlayer.vectors.word2vec_binary import first_non_finite_row

__all__ = ["load_text", "detect_format", "save_text"]

TextFormat = Literal["glove", "word2vec"]
_FORMATS = ("glove", "word2vec")
_ASCII_SPACE = frozenset(" \t\n\r\x0b\x0c")
_BOM = b"\xef\xbb\xbf"
_MAX_PREALLOC = 1 << 20  # rows


def detect_format(path: str | os.PathLike[str]) -> TextFormat:
    """``"word2vec"`` if the first line is a ``"count dim"`` header, else ``"glove"``.

    Raises:
        FormatError: the file is missing or empty.
    """
    with _open(path) as fh:
        for _, fields in _lines(fh):
            return "word2vec" if _header_numbers(fields) is not None else "glove"
    raise FormatError(f"{where(path)}: empty file; expected GloVe or word2vec text vectors")


def load_text(
    path: str | os.PathLike[str],
    format: TextFormat | None = None,
    limit: int | None = None,
    expected_dim: int | None = None,
    *,
    unicode_errors: UnicodeErrors = "strict",
) -> Vectors:
    """Read a GloVe or word2vec text file into ``Vectors``.

    Args:
        path: the file.
        format: ``"glove"``, ``"word2vec"``, or ``None`` to detect it from the first line.
        limit: read only the first ``limit`` words (the file's order, usually by frequency).
        expected_dim: if given, the file's dimension must equal it.
        unicode_errors: how to decode words that are not valid UTF-8 (``"strict"`` raises).

    Raises:
        ConfigError: bad ``format``, ``limit`` or ``expected_dim``.
        FormatError (with ``file:line``): missing or empty file, bad header, a row with the wrong
            number of values, a non-numeric or NaN/infinite value, a duplicate word, a header count
            that disagrees with the rows, a dimension other than ``expected_dim``, bad UTF-8.
    """
    if format is not None and format not in _FORMATS:
        raise ConfigError(f"vectors format must be one of {_FORMATS} or None, got {format!r}")
    for name, value in (("limit", limit), ("expected_dim", expected_dim)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a positive int or None, got {value!r}")
    if unicode_errors not in ("strict", "replace", "ignore", "backslashreplace"):
        raise ConfigError(f"unicode_errors must be 'strict', 'replace', 'ignore' or 'backslashreplace', "
                          f"got {unicode_errors!r}")
    fmt = format or detect_format(path)
    try:
        with _open(path) as fh:
            return _FastReader(path, fmt, limit, expected_dim, unicode_errors).read(fh)
    except _GiveUp:
        pass
    with _open(path) as fh:  # the careful reader finds and names the problem
        return _Reader(path, fmt, limit, expected_dim, unicode_errors).read(fh)


class _GiveUp(Exception):
    """The fast path met something it does not handle; the careful reader takes over."""


_FIRST_FIELD = re.compile(rb"(?m)^[ \t\r\f\v]*(\S+)")
_CHUNK = 1 << 22  # bytes
_WS = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 32]] = True


class _FastReader:
    """Parse whole chunks of lines with one regex pass and one ``np.fromstring`` each.

    Raises ``_GiveUp`` at the first sign of trouble; it never raises ``FormatError`` itself.
    """

    def __init__(self, path, fmt: TextFormat, limit: int | None, expected_dim: int | None, unicode_errors: str):
        self.path, self.fmt, self.limit = path, fmt, limit
        self.expected_dim, self.unicode_errors = expected_dim, unicode_errors

    def read(self, fh: BinaryIO) -> Vectors:
        rows_bound = _count_lines(fh)
        fh.seek(0)
        first = fh.readline()
        if first.startswith(_BOM):
            first = first[len(_BOM):]
        fields = first.split()
        count = None
        if self.fmt == "word2vec":
            numbers = _header_numbers(fields)
            if numbers is None or numbers[1] < 1 or numbers[0] == 0:
                raise _GiveUp
            count, dim = numbers
            pending = b""
        else:
            if len(fields) < 2:
                raise _GiveUp
            dim = len(fields) - 1
            pending = first
        if self.expected_dim is not None and dim != self.expected_dim:
            raise _GiveUp
        capacity = min(x for x in (rows_bound, count, self.limit) if x is not None)
        matrix = np.empty((capacity, dim), dtype=np.float32)
        words: list[str] = []
        for chunk in _chunks(fh, pending):
            block_words, values, cut = self._parse(chunk, dim, capacity - len(words))
            matrix[len(words): len(words) + len(block_words)] = values
            words.extend(block_words)
            if cut:  # rows beyond the capacity: fine after `limit` rows, else more than the header says
                if self.limit is not None and len(words) >= self.limit:
                    break
                raise _GiveUp
        n = len(words)
        if n == 0 or (count is not None and n != count and (self.limit is None or n < self.limit)):
            raise _GiveUp  # no rows, or fewer than the header's count
        matrix = matrix[:n]  # a view: rows_bound exceeds n only by the blank lines
        if first_non_finite_row(matrix) is not None:
            raise _GiveUp
        try:
            return Vectors(words, matrix, copy=False)  # checks for duplicate words
        except FormatError:
            raise _GiveUp from None

    def _parse(self, chunk: bytes, dim: int, room: int) -> tuple[list[str], np.ndarray, bool]:
        """Words, (k, dim) values of the first ``room`` non-blank lines of ``chunk``, and whether
        the chunk held more lines than ``room``."""
        raw_words = _FIRST_FIELD.findall(chunk)
        cut = len(raw_words) > room
        if cut:
            chunk = chunk[: next(m for i, m in enumerate(_FIRST_FIELD.finditer(chunk)) if i == room).start()]
            raw_words = raw_words[:room]
        k = len(raw_words)
        marked = _FIRST_FIELD.sub(b"nan", chunk)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                flat = np.fromstring(marked, dtype=np.float32, sep=" ")
            except (ValueError, DeprecationWarning):
                raise _GiveUp from None
        # Every line must hold exactly 1 + D fields: as many numbers as fields (none split in two)
        # and the markers exactly at the start of each row of the block.
        if flat.size != k * (dim + 1) or _count_fields(marked, k) != flat.size:
            raise _GiveUp
        block = flat.reshape(k, dim + 1)  # (k, 1 + D): the markers, then the values
        if not np.isnan(block[:, 0]).all():
            raise _GiveUp
        try:
            text = b"\n".join(raw_words).decode("utf-8", self.unicode_errors)
        except UnicodeDecodeError:
            raise _GiveUp from None
        block_words = text.split("\n") if k else []
        if len(block_words) != k:
            raise _GiveUp
        return block_words, block[:, 1:], cut


def _count_lines(fh: BinaryIO) -> int:
    """An upper bound on the rows: the number of lines (the last may lack its newline)."""
    lines = 1
    while block := fh.read(1 << 24):
        lines += block.count(b"\n")
    return lines


def _chunks(fh: BinaryIO, pending: bytes) -> Iterator[bytes]:
    """Successive pieces of the file that end at a newline (the last one at the end of the file)."""
    while True:
        block = fh.read(_CHUNK)
        if not block:
            if pending:
                yield pending
            return
        data = pending + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            pending = data  # one line longer than a chunk: keep reading
            continue
        pending = data[cut:]
        yield data[:cut]


def _count_fields(data: bytes, lines: int) -> int:
    """Number of whitespace-separated fields in ``data``, which has ``lines`` non-blank lines.

    When fields are separated by single spaces (the usual case) that is the number of spaces plus
    the lines, found with a few ``bytes`` scans; otherwise numpy counts the field starts.
    """
    if not data:
        return 0
    plain = not (data.startswith(b" ") or data.endswith(b" ")
                 or any(c in data for c in (b"\t", b"\r", b"\x0b", b"\x0c", b"  ", b" \n", b"\n ")))
    if plain:
        return data.count(b" ") + lines
    ws = _WS[np.frombuffer(data, dtype=np.uint8)]
    return int(not ws[0]) + int(np.count_nonzero(ws[:-1] & ~ws[1:]))


class _Reader:
    """One pass over the lines, filling a float32 array that doubles when full."""

    def __init__(self, path, fmt: TextFormat, limit: int | None, expected_dim: int | None, unicode_errors: str):
        self.path, self.fmt, self.limit = path, fmt, limit
        self.expected_dim, self.unicode_errors = expected_dim, unicode_errors
        self.header_count: int | None = None
        self.header_line = False  # the first line looked like a header (for a hint)

    def read(self, fh: BinaryIO) -> Vectors:
        lines = _lines(fh)
        dim = None
        if self.fmt == "word2vec":
            dim = self._header(lines)
            if self.header_count == 0:
                return Vectors((), np.zeros((0, dim), np.float32), copy=False)
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
                raise FormatError(f"{where(self.path, lineno)}: more words than the header's count "
                                  f"{self.header_count}; expected the file to end")
            word = self._word(fields[0], lineno)
            values = fields[1:]
            if dim is None:
                dim = self._first_dim(values, word, lineno)
            if matrix is None:
                matrix = np.empty((capacity, dim), dtype=np.float32)
            if len(values) != dim:
                raise FormatError(self._count_message(lineno, word, dim, len(values)))
            if word in index:
                raise FormatError(f"{where(self.path, lineno)}: duplicate word {word!r} (first on line "
                                  f"{line_of_row[index[word]]}); expected each word once")
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
            raise FormatError(f"{where(self.path)}: the header says {self.header_count} words but the file "
                              f"has {len(words)}; expected as many rows as the header's count")
        matrix = matrix[: len(words)]
        self._check_finite(matrix, words, line_of_row)
        return Vectors(words, matrix, copy=False)

    def _header(self, lines: Iterator[tuple[int, list[bytes]]]) -> int:
        for lineno, fields in lines:
            numbers = _header_numbers(fields)
            if numbers is None:
                shown = b" ".join(fields)[:60].decode("utf-8", "replace")
                raise FormatError(f"{where(self.path, lineno)}: expected a word2vec header 'count dim', "
                                  f"found {shown!r}")
            count, dim = numbers
            if dim < 1:
                raise FormatError(f"{where(self.path, lineno)}: header dimension is {dim}; expected >= 1")
            self._check_expected_dim(dim, lineno)
            self.header_count = count
            return dim
        raise FormatError(f"{where(self.path)}: empty file; expected a word2vec header 'count dim'")

    def _first_dim(self, values: list[bytes], word: str, lineno: int) -> int:
        if not values:
            raise FormatError(f"{where(self.path, lineno)}: found the word {word!r} and no values; "
                              f"expected 'word v1 ... vD'")
        self.header_line = _header_numbers([word.encode(), *values]) is not None
        self._check_expected_dim(len(values), lineno)
        return len(values)

    def _check_expected_dim(self, dim: int, lineno: int | None = None) -> None:
        if self.expected_dim is not None and dim != self.expected_dim:
            raise FormatError(f"{where(self.path, lineno)}: the vectors have dimension {dim}, "
                              f"expected_dim is {self.expected_dim}")

    def _word(self, raw: bytes, lineno: int) -> str:
        try:
            return raw.decode("utf-8", self.unicode_errors)
        except UnicodeDecodeError as exc:
            raise FormatError(f"{where(self.path, lineno)}: the word {raw!r} is not valid UTF-8 ({exc.reason}); "
                              f"expected UTF-8 text (or pass unicode_errors='replace')") from None

    def _count_message(self, lineno: int, word: str, dim: int, found: int) -> str:
        source = "the header's dimension" if self.fmt == "word2vec" else "the first row's dimension"
        message = (f"{where(self.path, lineno)}: expected {dim} values after the word {word!r} ({source}), "
                   f"found {found}")
        if self.fmt == "glove" and self.header_line and lineno == 2:
            message += "; line 1 looks like a word2vec header, try format='word2vec'"
        return message

    def _number_message(self, lineno: int, word: str, values: list[bytes]) -> str:
        for column, value in enumerate(values, start=1):
            try:
                float(value)
            except ValueError:
                shown = value.decode("utf-8", "replace")
                return (f"{where(self.path, lineno)}: value {column} of the word {word!r} is {shown!r}; "
                        f"expected a number")
        return f"{where(self.path, lineno)}: the values of the word {word!r} are not numbers"  # pragma: no cover

    def _check_finite(self, matrix: np.ndarray, words: list[str], line_of_row: list[int]) -> None:
        finite = np.isfinite(matrix).all(axis=1)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            column = int(np.flatnonzero(~np.isfinite(matrix[row]))[0]) + 1
            raise FormatError(f"{where(self.path, line_of_row[row])}: value {column} of the word {words[row]!r} is "
                              f"{matrix[row, column - 1]}; expected a finite number")


def _open(path: str | os.PathLike[str]) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FormatError(f"{where(path)}: no such file; expected a vectors file") from None
    except IsADirectoryError:
        raise FormatError(f"{where(path)}: is a directory; expected a vectors file") from None


def _lines(fh: BinaryIO) -> Iterator[tuple[int, list[bytes]]]:
    """(1-based line number, whitespace-split fields) for each non-blank line; drops a UTF-8 BOM."""
    for lineno, raw in enumerate(fh, start=1):
        if lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        fields = raw.split()
        if fields:
            yield lineno, fields


def _header_numbers(fields: list[bytes]) -> tuple[int, int] | None:
    if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
        return int(fields[0]), int(fields[1])
    return None


def save_text(
    vectors: Vectors,
    path: str | os.PathLike[str],
    *,
    format: TextFormat = "glove",
    precision: int | None = None,
) -> None:
    """Write ``vectors`` as GloVe or word2vec text, atomically (see ``Vectors.save``).

    Raises:
        ConfigError: unknown ``format`` or ``precision`` not in 1..17.
        FormatError: a word that is empty or contains ASCII whitespace (it could not be read back).
    """
    if format not in _FORMATS:
        raise ConfigError(f"vectors text format must be one of {_FORMATS}, got {format!r}")
    if precision is not None and (isinstance(precision, bool) or not isinstance(precision, int)
                                  or not 1 <= precision <= 17):
        raise ConfigError(f"precision must be None or an int in 1..17, got {precision!r}")
    for row, word in enumerate(vectors.index_to_key):
        if not word or _ASCII_SPACE.intersection(word):
            raise FormatError(f"word {word!r} (row {row}) is empty or contains whitespace; "
                              f"text vector formats cannot store it")
    with atomic_write(path, "w") as fh:
        if format == "word2vec":
            fh.write(f"{len(vectors)} {vectors.vector_size}\n")
        for word, values in zip(vectors.index_to_key, vectors.matrix):
            if precision is None:
                text = " ".join(map(str, values))  # str(np.float32): shortest exact round trip
            else:
                text = " ".join(f"{v:.{precision}g}" for v in values.tolist())
            fh.write(f"{word} {text}\n")
