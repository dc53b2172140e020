"""What every vectors reader and writer checks, and the plain value the text and binary readers return.

The format modules (``text_format``, ``word2vec_binary``, ``native``, ``fasttext_bin``) build no
``Vectors``: they return words and a matrix (a ``Table``, a memory map, or a fastText model), and
``Vectors.load`` turns that into a ``Vectors``. So they import only this module, never ``store``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from embedlayer.errors import ConfigError, FormatError
from embedlayer.vectors.formats import UNICODE_ERRORS, UnicodeErrors

__all__ = [
    "Table",
    "UnicodeErrors",
    "UNICODE_ERRORS",
    "check_read_options",
    "check_limit",
    "check_matrix_shape",
    "build_index",
    "first_non_finite_row",
    "header_numbers",
    "check_plain_words",
]

_ASCII_SPACE = frozenset(" \t\n\r\x0b\x0c")


@dataclass(frozen=True)
class Table:
    """Words and their rows as a reader returns them, already checked: unique ``str`` words,
    ``index`` their word -> row mapping (read-only), ``matrix`` an (N, D) float32 array of finite
    values that the caller may keep without copying."""

    words: tuple[str, ...]
    index: Mapping[str, int]
    matrix: np.ndarray


def check_limit(limit: object, name: str = "limit") -> None:
    """Raise ConfigError unless ``limit`` is None or a positive int."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"{name} must be a positive int or None, got {limit!r}")


def check_read_options(limit: object, expected_dim: object, unicode_errors: object) -> None:
    """The options every file reader takes. Raises ConfigError naming the bad one."""
    check_limit(limit)
    check_limit(expected_dim, "expected_dim")
    if unicode_errors not in UNICODE_ERRORS:
        raise ConfigError(
            f"unicode_errors must be 'strict', 'replace', 'ignore' or 'backslashreplace', got {unicode_errors!r}"
        )


def check_matrix_shape(array: np.ndarray) -> None:
    """Raise FormatError unless ``array`` is 2-D (N, D) with D >= 1."""
    if array.ndim != 2 or array.shape[1] < 1:
        raise FormatError(f"vectors matrix must be 2-D (N, D) with D >= 1, got shape {tuple(array.shape)}")


def build_index(words: Sequence[str], *, source: str | None = None) -> Mapping[str, int]:
    """word -> row, read-only; raises FormatError on a non-str or duplicate word (naming ``source``)."""
    prefix = f"{source}: " if source else ""
    index: dict[str, int] = {}
    for i, word in enumerate(words):
        if not isinstance(word, str):
            raise FormatError(f"{prefix}vectors word {i} is {word!r} ({type(word).__name__}); expected a str")
        if index.setdefault(word, i) != i:
            raise FormatError(f"{prefix}duplicate word {word!r} at rows {index[word]} and {i}; expected unique words")
    return MappingProxyType(index)


def first_non_finite_row(matrix: np.ndarray, step: int = 1 << 16) -> int | None:
    """The first row holding a NaN or infinity, or None; checked in blocks of ``step`` rows so the
    check needs no (N, D) boolean temporary (which would raise a loader's peak memory)."""
    for lo in range(0, len(matrix), step):
        finite = np.isfinite(matrix[lo : lo + step]).all(axis=1)
        if not finite.all():
            return lo + int(np.flatnonzero(~finite)[0])
    return None


def header_numbers(fields: Sequence[bytes]) -> tuple[int, int] | None:
    """(count, dim) if ``fields`` (a first line split on whitespace) is a word2vec header
    ``"count dim"`` of two non-negative integers, else None."""
    if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
        return int(fields[0]), int(fields[1])
    return None


def check_plain_words(words: Sequence[str], format_name: str) -> None:
    """Raise FormatError for a word that is empty or holds ASCII whitespace: the text and word2vec
    binary formats separate fields by whitespace, so such a word could not be read back."""
    for row, word in enumerate(words):
        if not word or _ASCII_SPACE.intersection(word):
            raise FormatError(
                f"word {word!r} (row {row}) is empty or contains whitespace; {format_name} cannot store it"
            )
