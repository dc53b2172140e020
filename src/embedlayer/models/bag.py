"""Bag of embeddings: the order-blind masked mean or max of the token vectors."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.models.masking import masked_max, masked_mean

__all__ = ["BagEncoder"]


class BagEncoder(nn.Module):
    """Pool the real tokens of each text: (B, T, D) -> (B, D). No parameters.

    ``pooling="mean"`` averages, ``"max"`` takes the per-dimension maximum. Padding never takes
    part; a text of length 0 gives a zero vector.
    """

    def __init__(self, input_dim: int, *, pooling: Literal["mean", "max"] = "mean") -> None:
        super().__init__()
        if pooling not in ("mean", "max"):
            raise ConfigError(f"BagEncoder pooling: expected 'mean' or 'max', got {pooling!r}")
        self.pooling = pooling
        self.out_dim = input_dim

    def forward(self, x: Tensor, mask: Tensor, lengths: Tensor) -> Tensor:
        """x (B, T, D), mask (B, T) bool, lengths (B,) int64 (unused) -> (B, D)."""
        if self.pooling == "mean":
            return masked_mean(x, mask)
        return masked_max(x, mask)

    def extra_repr(self) -> str:
        return f"pooling={self.pooling!r}, out_dim={self.out_dim}"
