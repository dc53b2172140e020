"""Pretrained word vectors: the ``Vectors`` store and its file formats."""

from embedlayer.vectors.store import Vectors
from embedlayer.vectors.fasttext_bin import FastTextVectors
from embedlayer.vectors.io import FORMATS, detect_format, load_vectors, save_vectors
from embedlayer.vectors.evaluation import AnalogyResult, PairsResult, evaluate_word_analogies, evaluate_word_pairs
from embedlayer.vectors.native import load_native, save_native

__all__ = ["Vectors", "FastTextVectors", "FORMATS", "detect_format", "load_vectors", "save_vectors",
           "AnalogyResult", "PairsResult", "evaluate_word_analogies", "evaluate_word_pairs", "load_native", "save_native"]
