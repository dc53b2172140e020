"""Embedding layers: the lookup table, its pooled (bag) form and its pretrained initialisation."""

from embedlayer.layers.bag import EmbeddingBag
from embedlayer.layers.embedding import Embedding
from embedlayer.layers.pretrained import CoverageReport, align_vectors

__all__ = ["CoverageReport", "Embedding", "EmbeddingBag", "align_vectors"]
