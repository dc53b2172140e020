"""Pretrained word vectors: the ``Vectors`` store and its file formats.

``Vectors.load`` (also ``load_vectors``) reads every format and ``Vectors.save`` writes them; the
older names in ``aliases.py`` keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    # older names, kept working (see aliases.py)
    from embedlayer.vectors.aliases import detect_format, load_fasttext_bin, load_native, save_native, save_vectors
    from embedlayer.vectors.evaluation import AnalogyResult, PairsResult, evaluate_word_analogies, evaluate_word_pairs
    from embedlayer.vectors.formats import FORMATS, WRITABLE_FORMATS
    from embedlayer.vectors.io import detect_vectors_format
    from embedlayer.vectors.store import FastTextVectors, Vectors, load_vectors

__getattr__, __dir__, __all__ = lazy_exports(__name__)
