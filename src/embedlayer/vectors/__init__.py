"""Pretrained word vectors: the ``Vectors`` store and its file formats.

``Vectors.load`` (also ``load_vectors``) reads every format and ``Vectors.save`` writes them; the
older names in ``aliases.py`` keep working.
"""

from embedlayer.vectors.aliases import detect_format, load_fasttext_bin, load_native, save_native, save_vectors
from embedlayer.vectors.evaluation import AnalogyResult, PairsResult, evaluate_word_analogies, evaluate_word_pairs
from embedlayer.vectors.io import FORMATS, WRITABLE_FORMATS, detect_vectors_format
from embedlayer.vectors.store import FastTextVectors, Vectors, load_vectors

__all__ = ["Vectors", "FastTextVectors", "load_vectors", "FORMATS", "WRITABLE_FORMATS", "detect_vectors_format",
           "AnalogyResult", "PairsResult", "evaluate_word_analogies", "evaluate_word_pairs",
           # older names, kept working (see aliases.py)
           "detect_format", "save_vectors", "save_native", "load_native", "load_fasttext_bin"]
