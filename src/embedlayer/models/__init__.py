"""Encoders and text classifiers built on embedlayer's Embedding layer."""

from embedlayer.models.bag import BagEncoder
from embedlayer.models.classifier import TextClassifier, build_classifier
from embedlayer.models.cnn import CNNEncoder
from embedlayer.models.config import ClassifierConfig, EncoderConfig
from embedlayer.models.encoders import build_encoder
from embedlayer.models.rnn import RNNEncoder
from embedlayer.models.transformer import TransformerEncoder

__all__ = [
    "BagEncoder",
    "CNNEncoder",
    "ClassifierConfig",
    "EncoderConfig",
    "RNNEncoder",
    "TextClassifier",
    "TransformerEncoder",
    "build_classifier",
    "build_encoder",
]
