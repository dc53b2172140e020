"""The fast path of the text vector readers: whole chunks of GloVe / word2vec text parsed in C.

The file is read in chunks of whole lines (a few MB). For each chunk one regex pass takes the first
field of every line (the words) and replaces it by ``nan``, and ``np.fromstring`` parses the whole
chunk in C into a (k, D + 1) block whose first column must then be exactly the ``nan`` markers:
that proves every line had D values without a Python loop per line. Values are parsed as numpy
and gensim parse them (decimal -> double -> float32), so the numbers are identical. Anything
unusual in a chunk (a bad row, NaN, bad UTF-8, a duplicate word, a header that disagrees) raises
``GiveUp``, and ``text_format`` reads the file again line by line to name the problem with
``file:line``: bad files cost a second read, good files never pay for the checks. The matrix is
allocated once (rows bounded by the file's line count), never copied.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import BinaryIO, Literal

import numpy as np

from embedlayer.errors import FormatError
from embedlayer.vectors.checks import Table, build_index, first_non_finite_row, header_numbers

#: The two text layouts: GloVe (no header) and word2vec text (a "count dim" header line).
TextFormat = Literal["glove", "word2vec"]
_BOM = b"\xef\xbb\xbf"


class GiveUp(Exception):
    """The fast path met something it does not handle; the careful reader takes over."""


_FIRST_FIELD = re.compile(rb"(?m)^[ \t\r\f\v]*(\S+)")
_CHUNK = 1 << 22  # bytes
_WS = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 32]] = True


class FastReader:
    """Parse whole chunks of lines with one regex pass and one ``np.fromstring`` each.

    Raises ``GiveUp`` at the first sign of trouble; it never raises ``FormatError`` itself.
    """

    def __init__(self, path, fmt: TextFormat, limit: int | None, expected_dim: int | None, unicode_errors: str):
        self.path, self.fmt, self.limit = path, fmt, limit
        self.expected_dim, self.unicode_errors = expected_dim, unicode_errors

    def read(self, fh: BinaryIO) -> Table:
        rows_bound = _count_lines(fh)
        fh.seek(0)
        first = fh.readline()
        if first.startswith(_BOM):
            first = first[len(_BOM) :]
        fields = first.split()
        count = None
        if self.fmt == "word2vec":
            numbers = header_numbers(fields)
            if numbers is None or numbers[1] < 1 or numbers[0] == 0:
                raise GiveUp
            count, dim = numbers
            pending = b""
        else:
            if len(fields) < 2:
                raise GiveUp
            dim = len(fields) - 1
            pending = first
        if self.expected_dim is not None and dim != self.expected_dim:
            raise GiveUp
        capacity = min(x for x in (rows_bound, count, self.limit) if x is not None)
        matrix = np.empty((capacity, dim), dtype=np.float32)
        words: list[str] = []
        for chunk in _chunks(fh, pending):
            block_words, values, cut = self._parse(chunk, dim, capacity - len(words))
            matrix[len(words) : len(words) + len(block_words)] = values
            words.extend(block_words)
            if cut:  # rows beyond the capacity: fine after `limit` rows, else more than the header says
                if self.limit is not None and len(words) >= self.limit:
                    break
                raise GiveUp
        n = len(words)
        if n == 0 or (count is not None and n != count and (self.limit is None or n < self.limit)):
            raise GiveUp  # no rows, or fewer than the header's count
        matrix = matrix[:n]  # a view: rows_bound exceeds n only by the blank lines
        if first_non_finite_row(matrix) is not None:
            raise GiveUp
        try:
            index = build_index(words)  # checks for duplicate words
        except FormatError:
            raise GiveUp from None
        return Table(tuple(words), index, matrix)

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
                raise GiveUp from None
        # Every line must hold exactly 1 + D fields: as many numbers as fields (none split in two)
        # and the markers exactly at the start of each row of the block.
        if flat.size != k * (dim + 1) or _count_fields(marked, k) != flat.size:
            raise GiveUp
        block = flat.reshape(k, dim + 1)  # (k, 1 + D): the markers, then the values
        if not np.isnan(block[:, 0]).all():
            raise GiveUp
        try:
            text = b"\n".join(raw_words).decode("utf-8", self.unicode_errors)
        except UnicodeDecodeError:
            raise GiveUp from None
        block_words = text.split("\n") if k else []
        if len(block_words) != k:
            raise GiveUp
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
    plain = not (
        data.startswith(b" ")
        or data.endswith(b" ")
        or any(c in data for c in (b"\t", b"\r", b"\x0b", b"\x0c", b"  ", b" \n", b"\n "))
    )
    if plain:
        return data.count(b" ") + lines
    ws = _WS[np.frombuffer(data, dtype=np.uint8)]
    return int(not ws[0]) + int(np.count_nonzero(ws[:-1] & ~ws[1:]))
