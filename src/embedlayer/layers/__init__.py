"""Embedding layers: the lookup table and its pretrained initialisation."""

from embedlayer.layers.embedding import Embedding
from embedlayer.layers.pretrained import CoverageReport, align_vectors

__all__ = ["CoverageReport", "Embedding", "align_vectors"]
