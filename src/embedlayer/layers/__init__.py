"""Embedding layers: the lookup table, its pooled (bag) form, its subword form and its pretrained
initialisation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlayer.layers.bag import EmbeddingBag
    from embedlayer.layers.embedding import Embedding
    from embedlayer.layers.pretrained import CoverageReport, align_vectors
    from embedlayer.layers.subword import SubwordEmbedding

__getattr__, __dir__, __all__ = lazy_exports(__name__)
