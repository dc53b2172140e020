"""embedlayer: embedding layers from raw text to trained, inspectable vectors.

The core names are here, imported on first use so ``import embedlayer`` stays fast::

    import embedlayer as el

    vocab = el.Vocab.build(token_lists, min_count=2)
    glove = el.load_vectors("glove.6B.50d.txt")          # any format, detected from content
    emb = el.Embedding.from_vectors(glove, vocab, freeze=False)

The errors are imported eagerly: ``except el.EmbedLayerError`` needs no other import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports
from embedlayer.errors import (
    ConfigError,
    DataError,
    DistributedError,
    EmbedLayerError,
    FormatError,
    IdOutOfRangeError,
    KernelError,
    ModelError,
    VocabError,
)

if TYPE_CHECKING:
    from embedlayer.layers import Embedding, EmbeddingBag
    from embedlayer.pretrain import PretrainConfig, train_word_vectors
    from embedlayer.tabular import Recommender, TabularPipeline, read_table
    from embedlayer.tasks import TextClassificationPipeline
    from embedlayer.text import get_tokenizer
    from embedlayer.vectors import Vectors, load_vectors
    from embedlayer.vocab import Vocab

__version__ = "0.1.0"

__getattr__, __dir__, _LAZY = lazy_exports(__name__)
__all__ = sorted(
    [
        *_LAZY,
        "ConfigError",
        "DataError",
        "DistributedError",
        "EmbedLayerError",
        "FormatError",
        "IdOutOfRangeError",
        "KernelError",
        "ModelError",
        "VocabError",
        "__version__",
    ]
)
