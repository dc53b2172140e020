"""Older names of the vectors save/load pair, kept working: each is a thin alias of
``Vectors.load`` / ``Vectors.save`` or of ``detect_vectors_format``. New code uses those."""

from __future__ import annotations

import os

from embedlayer.vectors.checks import UnicodeErrors
from embedlayer.vectors.io import detect_vectors_format
from embedlayer.vectors.store import FastTextVectors, Vectors

__all__ = ["detect_format", "save_vectors", "save_native", "load_native", "load_fasttext_bin"]

#: The older name of ``detect_vectors_format``.
detect_format = detect_vectors_format


def save_vectors(
    vectors: Vectors, path: str | os.PathLike[str], format: str = "glove", *, precision: int | None = None
) -> None:
    """The older name of ``vectors.save(path, format, precision=precision)``."""
    vectors.save(path, format, precision=precision)


def save_native(vectors: Vectors, path: str | os.PathLike[str]) -> None:
    """The older name of ``vectors.save(path, format="native")``."""
    vectors.save(path, format="native")


def load_native(path: str | os.PathLike[str], *, limit: int | None = None) -> Vectors:
    """The older name of ``Vectors.load(path, format="native", limit=limit)``."""
    return Vectors.load(path, format="native", limit=limit)


def load_fasttext_bin(
    path: str | os.PathLike[str],
    limit: int | None = None,
    expected_dim: int | None = None,
    *,
    unicode_errors: UnicodeErrors = "strict",
) -> FastTextVectors:
    """The older name of ``FastTextVectors.load(path, limit, expected_dim=..., unicode_errors=...)``."""
    return FastTextVectors.load(path, limit=limit, expected_dim=expected_dim, unicode_errors=unicode_errors)
