"""Encoders and text classifiers built on embedlayer's Embedding layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlayer.models.bag import BagEncoder
    from embedlayer.models.classifier import TextClassifier, build_classifier
    from embedlayer.models.cnn import CNNEncoder
    from embedlayer.models.config import ClassifierConfig, EncoderConfig
    from embedlayer.models.encoders import build_encoder
    from embedlayer.models.fasttext import FastTextClassifier
    from embedlayer.models.rnn import RNNEncoder
    from embedlayer.models.transformer import TransformerEncoder

__getattr__, __dir__, __all__ = lazy_exports(__name__)
