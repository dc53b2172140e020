"""The vectors file formats by name, and how readers may decode words: numpy-free, so the CLI lists
them without loading anything."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["FORMATS", "UNICODE_ERRORS", "WRITABLE_FORMATS", "UnicodeErrors", "VectorFormat"]

VectorFormat = Literal["glove", "word2vec", "fasttext-vec", "word2vec-binary", "fasttext-bin", "native"]
#: Every format ``Vectors.load`` reads.
FORMATS: tuple[str, ...] = get_args(VectorFormat)
#: The formats ``Vectors.save`` writes (a fastText ``.bin`` is written by pretraining, which has the n-grams).
WRITABLE_FORMATS: tuple[str, ...] = tuple(f for f in FORMATS if f != "fasttext-bin")

#: How readers decode words that are not valid UTF-8, as in gensim: "strict" raises FormatError.
UnicodeErrors = Literal["strict", "replace", "ignore", "backslashreplace"]
UNICODE_ERRORS: tuple[str, ...] = get_args(UnicodeErrors)
