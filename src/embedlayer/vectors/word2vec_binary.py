"""word2vec C binary vectors: read (streaming, chunked) and write (atomic) words and a matrix.

The layout, as word2vec's C code writes it and gensim reads it::

    b"3 4\n"                                   header: word count, dimension (ASCII)
    b"the " + 4 float32 (little-endian) [+ b"\n"]
    b"of "  + 4 float32                 [+ b"\n"]
    ...

A word is every byte up to the first space. word2vec's C tool writes a newline after each vector,
gensim does not; a file uses one style throughout, taken from its first record, and a record that
breaks it (usually because the header's dimension is wrong, so the reader lands inside the floats)
is an error naming its byte offset.

Speed: the file is read in chunks of a few MB; a short Python loop finds the word boundaries with
``bytes.find`` (one step per word, none per value), and the float bytes of all the chunk's records
are gathered with one numpy mask and viewed as float32, straight into the preallocated matrix. The
matrix is allocated once, its rows bounded by what the file size can hold, so a corrupt header
cannot ask for gigabytes.

This module builds no ``Vectors`` (``Vectors.load`` / ``Vectors.save`` call it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from embedlayer._io import atomic_write, check_regular_file
from embedlayer.errors import FormatError, where
from embedlayer.vectors.checks import (
    Table,
    UnicodeErrors,
    build_index,
    check_plain_words,
    check_read_options,
    first_non_finite_row,
    header_numbers,
)

__all__ = ["read_word2vec_binary", "write_word2vec_binary", "looks_like_word2vec_binary"]

_CHUNK = 1 << 22  # bytes read at a time
_MAX_WORD = 1 << 16  # bytes: a longer "word" means the file is not what its header says
_MAX_HEADER = 256


def looks_like_word2vec_binary(head: bytes) -> bool:
    """Whether ``head`` (the file's first bytes) is a ``"count dim"`` header followed by a first
    record whose value bytes are not text: a control byte or invalid UTF-8 (word2vec text never
    has them; float32 bytes practically always do)."""
    line, sep, rest = head.partition(b"\n")
    numbers = header_numbers(line.split())
    if not sep or numbers is None:
        return False
    dim = numbers[1]
    space = rest.find(b" ")
    if dim < 1 or space < 0:
        return False
    values = rest[space + 1 : space + 1 + 4 * dim]
    if values.translate(None, _TEXT_BYTES):
        return True  # a control byte that is not whitespace
    try:
        values.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(values) - 3  # not just a character cut at the window's end
    return False


_TEXT_BYTES = bytes(b for b in range(256) if b >= 0x20 and b != 0x7F or b in b" \t\n\r\x0b\x0c")


def read_word2vec_binary(
    path: str | os.PathLike[str],
    limit: int | None = None,
    expected_dim: int | None = None,
    *,
    unicode_errors: UnicodeErrors = "strict",
) -> Table:
    """Read a word2vec C binary file: ``Table(words, index, matrix)``, the matrix (N, D) float32.

    Args:
        path: the file.
        limit: read only the first ``limit`` words (the rest of the file is not checked).
        expected_dim: if given, the header's dimension must equal it.
        unicode_errors: how to decode words that are not valid UTF-8, as in gensim: ``"strict"``
            raises, ``"replace"`` puts U+FFFD, ``"ignore"`` drops the bad bytes.

    Raises:
        ConfigError: bad ``limit``, ``expected_dim`` or ``unicode_errors``.
        FormatError (naming the file and a byte offset): missing file, bad header, a file too short
            for its header (truncated), bytes after the header's count of words, a record that
            breaks the file's layout (wrong dimension), an empty word, invalid UTF-8 under
            ``"strict"``, a NaN or infinite value, a duplicate word.
    """
    check_read_options(limit, expected_dim, unicode_errors)
    check_regular_file(path, expected="word2vec binary vectors", error=FormatError)
    with open(path, "rb") as fh:
        return _BinaryReader(path, fh, limit, expected_dim, unicode_errors).read()


class _BinaryReader:
    def __init__(self, path, fh: BinaryIO, limit: int | None, expected_dim: int | None, unicode_errors: str):
        self.path, self.fh, self.limit = path, fh, limit
        self.expected_dim, self.unicode_errors = expected_dim, unicode_errors
        self.size = os.fstat(fh.fileno()).st_size

    def fail(self, offset: int, message: str) -> FormatError:
        return FormatError(f"{where(self.path, offset=offset)}: {message}")

    def header(self) -> tuple[int, int, int]:
        """(count, dim, offset of the first record)."""
        head = self.fh.read(_MAX_HEADER)
        end = head.find(b"\n")
        numbers = header_numbers(head[:end].split() if end >= 0 else [])
        if numbers is None:
            shown = head[: end if end >= 0 else 60][:60]
            raise self.fail(0, f"expected a word2vec header 'count dim' and a newline, found {shown!r}")
        count, dim = numbers
        if dim < 1:
            raise self.fail(0, f"header dimension is {dim}; expected >= 1")
        if self.expected_dim is not None and dim != self.expected_dim:
            raise self.fail(0, f"the vectors have dimension {dim}, expected_dim is {self.expected_dim}")
        start = end + 1
        # Each record needs at least 1 word byte, a space and 4 * dim value bytes.
        wanted = min(count, self.limit or count)
        if wanted * (4 * dim + 2) > self.size - start:
            raise self.fail(
                self.size,
                f"file ends after {self.size} bytes, too short for the header's "
                f"{wanted} words of dimension {dim} (at least {4 * dim + 2} bytes "
                f"each); expected a complete file (truncated?)",
            )
        return count, dim, start

    def read(self) -> Table:
        count, dim, start = self.header()
        wanted = min(count, self.limit or count)
        matrix = np.empty((wanted, dim), dtype=np.float32)
        raw_words: list[bytes] = []
        value_starts: list[np.ndarray] = []  # file offset of each record's values, for messages
        nbytes = 4 * dim
        self.fh.seek(start)
        buf, base, newline = b"", start, None  # base: file offset of buf[0]
        while len(raw_words) < wanted:
            more = self.fh.read(max(_CHUNK, 2 * (nbytes + _MAX_WORD)))
            at_eof = not more
            buf += more
            if newline is None:
                newline = self._style(buf, nbytes)
            pos, starts = self._scan(buf, base, nbytes, wanted - len(raw_words), newline, raw_words, at_eof, count, dim)
            if starts:
                self._gather(buf, starts, nbytes, matrix, len(raw_words) - len(starts))
                value_starts.append(np.asarray(starts, dtype=np.int64) + base)
            buf, base = buf[pos:], base + pos
            if at_eof:
                break
        if len(raw_words) < wanted:
            raise self.fail(
                base + len(buf),
                f"file ends after {len(raw_words)} of the header's {count} words; expected {count} (truncated file?)",
            )
        if self.limit is None or len(raw_words) < self.limit:
            self._check_end(buf, base, count)
        offsets = np.concatenate(value_starts) if value_starts else np.zeros(0, dtype=np.int64)
        return self._finish(raw_words, matrix, offsets, dim)

    @staticmethod
    def _style(buf: bytes, nbytes: int) -> bool | None:
        """Whether records end with a newline, from the first one (None: not decidable yet)."""
        space = buf.find(b" ", 0, _MAX_WORD + 1)
        after = space + 1 + nbytes
        if space < 0 or after >= len(buf):
            return None
        return buf[after] == 10

    def _scan(
        self,
        buf: bytes,
        base: int,
        nbytes: int,
        room: int,
        newline: bool | None,
        raw_words: list[bytes],
        at_eof: bool,
        count: int,
        dim: int,
    ) -> tuple[int, list[int]]:
        """Find the complete records in ``buf`` (at most ``room``): append their words, return the
        position after the last one and the offsets of their values in ``buf``."""
        find, size, append = buf.find, len(buf), raw_words.append
        first = not raw_words
        pos = 0
        starts: list[int] = []
        skip = 1 if newline else 0
        while len(starts) < room:
            rec = pos
            if not first and skip:
                if pos >= size:
                    break
                if buf[pos] != 10:
                    raise self.fail(
                        base + pos,
                        f"expected a newline after the vector of word "
                        f"{len(raw_words)}, found byte {buf[pos]:#04x}; is "
                        f"the header's dimension {dim} right?",
                    )
                pos += 1
            first = False
            space = find(b" ", pos, pos + _MAX_WORD + 1)
            if space < 0 or space + 1 + nbytes > size:
                if at_eof or (space < 0 and size - pos > _MAX_WORD):
                    self._incomplete(buf, pos, base, space, len(raw_words), count, dim)
                return rec, starts
            if space == pos:
                raise self.fail(
                    base + pos,
                    f"empty word (a space where word {len(raw_words)} "
                    f"should start); expected 'word' then {dim} float32 values",
                )
            append(buf[pos:space])
            starts.append(space + 1)
            pos = space + 1 + nbytes
        return pos, starts

    def _gather(self, buf: bytes, starts: list[int], nbytes: int, matrix: np.ndarray, row: int) -> None:
        """Copy the value bytes at ``starts`` into ``matrix[row:]``: one fancy-index gather over
        overlapping ``nbytes`` windows of ``buf`` (a row copy each, no per-value work)."""
        data = np.frombuffer(buf, dtype=np.uint8)
        windows = np.lib.stride_tricks.as_strided(
            data, shape=(len(data) - nbytes + 1, nbytes), strides=(1, 1), writeable=False
        )
        values = windows[np.asarray(starts, dtype=np.intp)]  # (k, nbytes) uint8, a copy
        matrix[row : row + len(starts)] = values.view("<f4")

    def _incomplete(self, buf: bytes, pos: int, base: int, space: int, read: int, count: int, dim: int):
        if space < 0:
            shown = buf[pos : pos + 40]
            raise self.fail(
                base + pos,
                f"no space after word {read} (found {shown!r}...); expected "
                f"'word ' then {dim} float32 values (truncated file or wrong header?)",
            )
        raise self.fail(
            base + len(buf),
            f"file ends inside word {read} of {count} (its {dim} values need "
            f"{4 * dim} bytes after byte {base + space + 1}); truncated file?",
        )

    def _check_end(self, buf: bytes, base: int, count: int) -> None:
        """After the header's count of words only whitespace may follow."""
        rest = buf + self.fh.read(_MAX_WORD)
        if rest.strip(b" \t\r\n"):
            offset = base + len(rest) - len(rest.lstrip(b" \t\r\n"))
            raise self.fail(
                offset,
                f"more data after the header's {count} words; expected the file to end "
                f"(is the header's count or dimension wrong?)",
            )

    def _finish(self, raw_words: list[bytes], matrix: np.ndarray, offsets: np.ndarray, dim: int) -> Table:
        n = len(raw_words)
        word_offsets = offsets - np.fromiter(map(len, raw_words), dtype=np.int64, count=n) - 1
        words: list[str] = []
        step = 1 << 16  # decode a block of words at a time and free its bytes: peak memory as gensim's
        while raw_words:
            piece = raw_words[:step]
            try:
                text = b" ".join(piece).decode("utf-8", self.unicode_errors)
            except UnicodeDecodeError:
                for j, raw in enumerate(piece):
                    try:
                        raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        i = len(words) + j
                        raise self.fail(
                            int(word_offsets[i]) + exc.start,
                            f"the word {raw!r} is not valid UTF-8 "
                            f"({exc.reason}); expected UTF-8 (or pass unicode_errors='replace')",
                        ) from None
                raise AssertionError("unreachable") from None  # pragma: no cover
            words.extend(text.split(" "))
            del raw_words[:step], piece, text
        assert len(words) == n, "words hold no space, so splitting the joined text gives them back"
        matrix = matrix[:n]
        row = first_non_finite_row(matrix)
        if row is not None:
            column = int(np.flatnonzero(~np.isfinite(matrix[row]))[0])
            offset = int(offsets[row]) + 4 * column
            raise self.fail(
                offset,
                f"value {column + 1} of the word {words[row]!r} is {matrix[row, column]}; expected a finite number",
            )
        try:
            return Table(tuple(words), build_index(words), matrix)  # build_index checks for duplicates
        except FormatError:
            seen: dict[str, int] = {}
            for i, word in enumerate(words):
                if word in seen:
                    first = int(word_offsets[seen[word]])
                    raise self.fail(
                        int(word_offsets[i]),
                        f"duplicate word {word!r} (first at byte {first}); expected each word once",
                    ) from None
                seen[word] = i
            raise


def write_word2vec_binary(words: Sequence[str], matrix: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write ``words`` and their (N, D) rows as word2vec C binary (a newline after each vector, as
    word2vec does), atomically.

    Raises:
        FormatError: a word that is empty or contains ASCII whitespace (it could not be read back).
    """
    check_plain_words(words, "word2vec binary")
    matrix = np.ascontiguousarray(matrix, dtype="<f4")
    with atomic_write(path, "wb") as fh:
        fh.write(f"{len(words)} {matrix.shape[1]}\n".encode("ascii"))
        step = 8192
        for lo in range(0, len(words), step):
            rows = matrix[lo : lo + step]
            fh.write(
                b"".join(w.encode("utf-8") + b" " + r.tobytes() + b"\n" for w, r in zip(words[lo : lo + step], rows))
            )
