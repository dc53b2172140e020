"""Pretrained word vectors: the ``Vectors`` store and its file formats."""

from embedlayer.vectors.store import Vectors
from embedlayer.vectors.text_format import detect_format, load_vectors

__all__ = ["Vectors", "detect_format", "load_vectors"]
