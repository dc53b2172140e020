"""The one dispatch over the vectors file formats: which format a file is, and which module reads or
writes it. ``Vectors.load`` and ``Vectors.save`` are thin over ``read_vectors`` / ``write_vectors``.

==================  =====  =====  ==============================================================
format              read   write  what it is
==================  =====  =====  ==============================================================
``glove``           yes    yes    text, ``word v1 ... vD`` per line, no header
``word2vec``        yes    yes    text with a ``count dim`` header line
``fasttext-vec``    yes    yes    fastText's ``.vec``: the same as ``word2vec``
``word2vec-binary`` yes    yes    word2vec C binary: header line, then ``word `` + D float32
``fasttext-bin``    yes    no     fastText's native model (``FastTextVectors``: unseen words too)
``native``          yes    yes    our directory format (``embedlayer.vectors.native``), mmap-able
==================  =====  =====  ==============================================================

Detection (``detect_vectors_format``): a directory is ``native``; fastText's magic number is
``fasttext-bin`` (so is a file whose first 4 bytes hold a NUL: fastText before 0.2 wrote no
magic number, and text never holds NUL); a ``count dim`` first line followed by bytes that are not text is
``word2vec-binary``, followed by text ``word2vec``; anything else ``glove``.

Layering: the format modules below return words and a matrix and know nothing of ``Vectors``;
this module knows only them; ``store.Vectors`` builds itself from what ``read_vectors`` returns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embedlayer._io import check_regular_file
from embedlayer.errors import ConfigError, FormatError, where
from embedlayer.vectors.checks import Table, UnicodeErrors, check_read_options, header_numbers
from embedlayer.vectors.fasttext_bin import FastTextModel, is_fasttext_bin, read_fasttext_bin
from embedlayer.vectors.formats import FORMATS, WRITABLE_FORMATS
from embedlayer.vectors.native import NativeTable, open_native, write_native
from embedlayer.vectors.text_format import read_text, write_text
from embedlayer.vectors.word2vec_binary import looks_like_word2vec_binary, read_word2vec_binary, write_word2vec_binary

__all__ = ["FORMATS", "WRITABLE_FORMATS", "detect_vectors_format", "read_vectors", "write_vectors"]

_HEAD = 4096


def detect_vectors_format(path: str | os.PathLike[str]) -> str:
    """The vectors format of ``path`` from its content: one of ``FORMATS`` except ``fasttext-vec``
    (reported as ``word2vec``, which it is).

    Raises:
        FormatError: the path does not exist, is not a regular file (a pipe or device) or the
            file is empty.
    """
    target = Path(path)
    if target.is_dir():
        return "native"
    check_regular_file(target, expected="a vectors file", error=FormatError)  # a FIFO would block
    with open(target, "rb") as fh:
        head = fh.read(_HEAD)
    if is_fasttext_bin(head) or b"\0" in head[:4]:  # text never holds NUL; old .bin start with int32 dim
        return "fasttext-bin"
    if looks_like_word2vec_binary(head):
        return "word2vec-binary"
    if not head.strip():
        raise FormatError(f"{where(path)}: empty file; expected a vectors file (one of {FORMATS})")
    first_line = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n").split(b"\n", 1)[0]
    return "word2vec" if header_numbers(first_line.split()) is not None else "glove"


def read_vectors(
    path: str | os.PathLike[str],
    format: str | None = None,
    limit: int | None = None,
    *,
    expected_dim: int | None = None,
    unicode_errors: UnicodeErrors = "strict",
) -> Table | NativeTable | FastTextModel:
    """Read a file in any of ``FORMATS`` (detected from the content when ``format`` is None) with
    the format's module: a ``Table`` for the text and word2vec binary formats, a ``NativeTable``
    (memory-mapped, words read on first use) for ``native``, a ``FastTextModel`` for
    ``fasttext-bin``. ``Vectors.load`` documents the arguments.

    Raises:
        ConfigError: unknown ``format``, bad ``limit``/``expected_dim``/``unicode_errors``.
        FormatError: the file does not follow its format, naming the file, the line or byte
            offset, and what was expected.
    """
    if format is not None and format not in FORMATS:
        raise ConfigError(f"vectors format must be one of {FORMATS} or None, got {format!r}")
    check_read_options(limit, expected_dim, unicode_errors)  # before the file is opened, for every format
    fmt = format or detect_vectors_format(path)
    if fmt == "native":
        table = open_native(path, limit=limit)
        dim = table.matrix.shape[1]
        if expected_dim is not None and dim != expected_dim:
            raise FormatError(f"{where(path)}: the vectors have dimension {dim}, expected_dim is {expected_dim}")
        return table
    if fmt == "fasttext-bin":
        return read_fasttext_bin(path, limit, expected_dim, unicode_errors=unicode_errors)
    if fmt == "word2vec-binary":
        return read_word2vec_binary(path, limit, expected_dim, unicode_errors=unicode_errors)
    return read_text(
        path, "glove" if fmt == "glove" else "word2vec", limit, expected_dim, unicode_errors=unicode_errors
    )


def write_vectors(
    words: Sequence[str],
    matrix: np.ndarray,
    path: str | os.PathLike[str],
    format: str = "glove",
    *,
    precision: int | None = None,
) -> None:
    """Write ``words`` and their (N, D) float32 rows (those of a ``Vectors``: unique words, finite
    values) atomically in one of ``WRITABLE_FORMATS``. ``Vectors.save`` documents the arguments.

    Raises:
        ConfigError: unknown or read-only ``format``, bad ``precision``.
        FormatError: a word the format cannot hold (empty or with whitespace, for text and binary;
            with a newline, for native).
    """
    if format not in WRITABLE_FORMATS:
        raise ConfigError(f"vectors format to write must be one of {WRITABLE_FORMATS}, got {format!r}")
    if format == "native":
        write_native(words, matrix, path)
    elif format == "word2vec-binary":
        write_word2vec_binary(words, matrix, path)
    else:
        write_text(words, matrix, path, format="glove" if format == "glove" else "word2vec", precision=precision)
