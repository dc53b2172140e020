"""Read and write every vectors format, the format detected from the file's content.

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

Detection (``detect_format``): a directory is ``native``; fastText's magic number is
``fasttext-bin`` (so is a file whose first 4 bytes hold a NUL: fastText before 0.2 wrote no
magic number, and text never holds NUL); a ``count dim`` first line followed by bytes that are not text is
``word2vec-binary``, followed by text ``word2vec``; anything else ``glove``.
"""

from __future__ import annotations

import os
from pathlib import Path

from embedlayer.errors import ConfigError, FormatError, where
from embedlayer.vectors.fasttext_bin import is_fasttext_bin, load_fasttext_bin
from embedlayer.vectors.store import UnicodeErrors, Vectors
from embedlayer.vectors.text_format import load_text, save_text
from embedlayer.vectors.word2vec_binary import load_word2vec_binary, looks_like_word2vec_binary, save_word2vec_binary

__all__ = ["FORMATS", "WRITABLE_FORMATS", "detect_format", "load_vectors", "save_vectors"]

FORMATS = ("glove", "word2vec", "fasttext-vec", "word2vec-binary", "fasttext-bin", "native")
WRITABLE_FORMATS = ("glove", "word2vec", "fasttext-vec", "word2vec-binary", "native")
_HEAD = 4096


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of ``path`` from its content: one of ``FORMATS`` except ``fasttext-vec``
    (reported as ``word2vec``, which it is).

    Raises:
        FormatError: the path does not exist or the file is empty.
    """
    target = Path(path)
    if target.is_dir():
        return "native"
    try:
        with open(target, "rb") as fh:
            head = fh.read(_HEAD)
    except FileNotFoundError:
        raise FormatError(f"{where(path)}: no such file; expected a vectors file") from None
    if is_fasttext_bin(head) or b"\0" in head[:4]:  # text never holds NUL; old .bin start with int32 dim
        return "fasttext-bin"
    if looks_like_word2vec_binary(head):
        return "word2vec-binary"
    if not head.strip():
        raise FormatError(f"{where(path)}: empty file; expected a vectors file (one of {FORMATS})")
    line = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n").split(b"\n", 1)[0].split()
    return "word2vec" if len(line) == 2 and all(f.isdigit() for f in line) else "glove"


def load_vectors(
    path: str | os.PathLike[str],
    format: str | None = None,
    limit: int | None = None,
    *,
    expected_dim: int | None = None,
    unicode_errors: UnicodeErrors = "strict",
) -> Vectors:
    """Read vectors in any of ``FORMATS`` (detected from the content when ``format`` is None).

    Args:
        path: a file, or a directory for the native format.
        format: one of ``FORMATS`` or None.
        limit: read only the first ``limit`` words.
        expected_dim: if given, the vectors' dimension must equal it.
        unicode_errors: words that are not valid UTF-8: ``"strict"`` raises, ``"replace"`` puts
            U+FFFD, ``"ignore"`` drops the bad bytes, ``"backslashreplace"`` writes them as ``\\x97``
            (what gensim does for fastText .bin words, and never makes two words equal).

    Returns:
        ``Vectors``; a ``FastTextVectors`` for ``fasttext-bin`` (vectors for unseen words too).

    Raises:
        ConfigError: unknown ``format``, bad ``limit``/``expected_dim``/``unicode_errors``.
        FormatError: the file does not follow its format, naming the file, the line or byte offset,
            and what was expected.
    """
    if unicode_errors not in ("strict", "replace", "ignore", "backslashreplace"):
        raise ConfigError(f"unicode_errors must be 'strict', 'replace', 'ignore' or 'backslashreplace', "
                          f"got {unicode_errors!r}")
    if format is not None and format not in FORMATS:
        raise ConfigError(f"vectors format must be one of {FORMATS} or None, got {format!r}")
    fmt = format or detect_format(path)
    if fmt == "native":
        from embedlayer.vectors.native import load_native  # the native format's own module

        vectors = load_native(path, limit=limit)
        if expected_dim is not None and vectors.vector_size != expected_dim:
            raise FormatError(f"{where(path)}: the vectors have dimension {vectors.vector_size}, "
                              f"expected_dim is {expected_dim}")
        return vectors
    if fmt == "fasttext-bin":
        return load_fasttext_bin(path, limit, expected_dim, unicode_errors=unicode_errors)
    if fmt == "word2vec-binary":
        return load_word2vec_binary(path, limit, expected_dim, unicode_errors=unicode_errors)
    text_format = "glove" if fmt == "glove" else "word2vec"
    return load_text(path, text_format, limit, expected_dim, unicode_errors=unicode_errors)


def save_vectors(
    vectors: Vectors,
    path: str | os.PathLike[str],
    format: str = "glove",
    *,
    precision: int | None = None,
) -> None:
    """Write ``vectors`` atomically in one of ``WRITABLE_FORMATS``.

    ``precision`` applies to the text formats (None: the shortest decimal that reads back exactly).

    Raises:
        ConfigError: unknown or read-only ``format``, bad ``precision``.
        FormatError: a word the format cannot hold (empty or with whitespace, for text and binary).
    """
    if format not in WRITABLE_FORMATS:
        raise ConfigError(f"vectors format to write must be one of {WRITABLE_FORMATS}, got {format!r}")
    if format == "native":
        from embedlayer.vectors.native import save_native

        save_native(vectors, path)
    elif format == "word2vec-binary":
        save_word2vec_binary(vectors, path)
    else:
        save_text(vectors, path, format="glove" if format == "glove" else "word2vec", precision=precision)
