"""The vectors file formats by name: numpy-free, so the CLI lists them without loading anything."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["FORMATS", "WRITABLE_FORMATS", "VectorFormat"]

VectorFormat = Literal["glove", "word2vec", "fasttext-vec", "word2vec-binary", "fasttext-bin", "native"]
#: Every format ``Vectors.load`` reads.
FORMATS: tuple[str, ...] = get_args(VectorFormat)
#: The formats ``Vectors.save`` writes (a fastText ``.bin`` is written by pretraining, which has the n-grams).
WRITABLE_FORMATS: tuple[str, ...] = tuple(f for f in FORMATS if f != "fasttext-bin")
