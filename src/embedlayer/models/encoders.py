"""Encoder registry: build any encoder from an EncoderConfig.

Every encoder is an ``nn.Module`` with ``out_dim`` and
``forward(x (B, T, D), mask (B, T) bool True on tokens, lengths (B,) int64) -> (B, out_dim)``;
padding beyond each text's length never changes its output (in eval mode).
"""

from __future__ import annotations

from torch import nn

from embedlayer.errors import ConfigError
from embedlayer.models.bag import BagEncoder
from embedlayer.models.cnn import CNNEncoder
from embedlayer.models.config import EncoderConfig
from embedlayer.models.rnn import RNNEncoder
from embedlayer.models.transformer import TransformerEncoder

__all__ = ["BagEncoder", "CNNEncoder", "RNNEncoder", "TransformerEncoder", "build_encoder"]


def build_encoder(cfg: EncoderConfig, input_dim: int) -> nn.Module:
    """The encoder ``cfg.kind`` for D = ``input_dim`` token vectors. Raises ConfigError when the
    config does not fit D (e.g. transformer heads that do not divide it).

    Parameters are initialised from torch's global RNG; build inside
    ``build_classifier`` (or ``torch.random.fork_rng``) for seeded, reproducible weights.
    """
    if not isinstance(cfg, EncoderConfig):
        raise TypeError(f"build_encoder: expected an EncoderConfig, got {type(cfg).__name__}")
    cfg.check_input_dim(input_dim)
    if cfg.kind == "fasttext":
        raise ConfigError(
            "build_encoder: kind 'fasttext' is a whole model (its own table and head); "
            "expected build_classifier to build it"
        )
    if cfg.kind == "bag":
        return BagEncoder(input_dim, pooling=cfg.pooling)
    if cfg.kind == "cnn":
        return CNNEncoder(input_dim, widths=cfg.cnn_widths, channels=cfg.cnn_channels)
    if cfg.kind == "rnn":
        return RNNEncoder(
            input_dim,
            cell=cfg.rnn_cell,
            hidden=cfg.rnn_hidden,
            layers=cfg.rnn_layers,
            bidirectional=cfg.bidirectional,
            pooling=cfg.rnn_pooling,
            dropout=cfg.dropout,
        )
    return TransformerEncoder(
        input_dim,
        layers=cfg.tf_layers,
        heads=cfg.tf_heads,
        ff_dim=cfg.tf_ff,
        max_positions=cfg.max_positions,
        positions=cfg.tf_positions,
        dropout=cfg.dropout,
    )
