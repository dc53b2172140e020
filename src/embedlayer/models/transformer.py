"""Transformer encoder: token vectors + positions, self-attention with a key padding mask,
masked mean pooling."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.models.masking import masked_mean, pad_time, zero_padding

__all__ = ["TransformerEncoder", "sinusoidal_positions"]


def sinusoidal_positions(max_positions: int, dim: int) -> Tensor:
    """(max_positions, dim) fixed sin/cos table of Vaswani et al. 2017 (odd dim: last cos dropped)."""
    pos = torch.arange(max_positions, dtype=torch.float32).unsqueeze(1)  # (P, 1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # (ceil(D/2),)
    table = torch.zeros(max_positions, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


class TransformerEncoder(nn.Module):
    """(B, T, D) -> (B, D): pre-norm ``nn.TransformerEncoder`` blocks, masked mean of the outputs.

    Positions are ``"learned"`` (a (max_positions, D) table, init N(0, 0.02)) or fixed
    ``"sinusoidal"``. Padded keys are masked in attention (``src_key_padding_mask``), so padding
    changes nothing. Raises ConfigError when ``heads`` does not divide D, or in ``forward`` when a
    text is longer than ``max_positions`` (padding beyond it is simply cut). A length-0 text lets
    attention see its first (zero) slot, to avoid an all-masked softmax (NaN), and pools to zeros.
    """

    def __init__(
        self,
        input_dim: int,
        *,
        layers: int = 2,
        heads: int = 2,
        ff_dim: int | None = None,
        max_positions: int = 512,
        positions: Literal["learned", "sinusoidal"] = "learned",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if heads < 1 or input_dim % heads:
            raise ConfigError(
                f"TransformerEncoder heads: expected a divisor of the dimension {input_dim}, got {heads!r}"
            )
        if max_positions < 1:
            raise ConfigError(f"TransformerEncoder max_positions: expected an integer >= 1, got {max_positions!r}")
        if positions == "learned":
            self.positions = nn.Parameter(torch.randn(max_positions, input_dim) * 0.02)  # (P, D)
        elif positions == "sinusoidal":
            self.register_buffer("positions", sinusoidal_positions(max_positions, input_dim), persistent=False)
        else:
            raise ConfigError(f"TransformerEncoder positions: expected 'learned' or 'sinusoidal', got {positions!r}")
        block = nn.TransformerEncoderLayer(
            input_dim,
            heads,
            dim_feedforward=ff_dim or 4 * input_dim,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # Nested tensors only pay off for post-norm layers; off keeps results independent of padding.
        self.blocks = nn.TransformerEncoder(block, layers, norm=nn.LayerNorm(input_dim), enable_nested_tensor=False)
        self.max_positions = max_positions
        self.out_dim = input_dim

    def forward(self, x: Tensor, mask: Tensor, lengths: Tensor) -> Tensor:
        """x (B, T, D), mask (B, T) bool, lengths (B,) int64 -> (B, D). ConfigError if a text
        has more than ``max_positions`` tokens."""
        if x.shape[1] > self.max_positions:
            longest = int(mask.sum(dim=1).max())
            if longest > self.max_positions:
                raise ConfigError(
                    f"TransformerEncoder: a text has {longest} tokens, expected at most "
                    f"max_positions={self.max_positions} (truncate the batch or raise max_positions)"
                )
            x, mask = x[:, : self.max_positions], mask[:, : self.max_positions]  # only padding is cut
        x, mask = pad_time(x, mask, 1)
        steps = x.shape[1]
        h = zero_padding(x, mask) + self.positions[:steps].to(x.dtype)  # (B, T, D)
        key_padding = ~mask  # (B, T) True = ignore
        key_padding[:, 0] &= mask.any(dim=1)  # empty texts attend to slot 0 instead of nothing
        h = self.blocks(h, src_key_padding_mask=key_padding)  # (B, T, D)
        return masked_mean(h, mask)  # (B, D)

    def extra_repr(self) -> str:
        return f"max_positions={self.max_positions}, out_dim={self.out_dim}"
