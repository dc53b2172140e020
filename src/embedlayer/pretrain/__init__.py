"""Word-vector pretraining: skip-gram and CBOW with negative sampling, optional fastText subwords.

>>> from embedlayer.pretrain import PretrainConfig, train_word_vectors
>>> model = train_word_vectors("corpus.txt", PretrainConfig(model="skipgram", dim=100))  # doctest: +SKIP
>>> model.wv.most_similar("king")  # doctest: +SKIP
>>> model.save("vectors.dir")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlayer.pretrain.config import PretrainConfig, parse_subwords
    from embedlayer.pretrain.model import WordVectorModel
    from embedlayer.pretrain.trainer import (
        PretrainCompile,
        PretrainEpoch,
        PretrainPrepare,
        PretrainProgress,
        train_word_vectors,
    )

__getattr__, __dir__, __all__ = lazy_exports(__name__)
