"""GRU/LSTM encoder over packed sequences, pooled by last state, max or mean."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from embedlayer.errors import ConfigError
from embedlayer.models.masking import masked_max, masked_mean, pad_time, zero_padding

__all__ = ["RNNEncoder"]


class RNNEncoder(nn.Module):
    """(B, T, D) -> (B, hidden * (2 if bidirectional else 1)).

    Sequences are packed by ``lengths`` (``enforce_sorted=False``), so the recurrence never runs
    over padding and the backward direction starts at each text's real last token. Pooling:
    ``"last"`` concatenates the final hidden state of the top layer of each direction, ``"max"``
    and ``"mean"`` pool the top layer's outputs over the valid steps.

    Length 0: packing needs lengths >= 1, so a text with no tokens is run as one step over a zero
    vector (its length is clamped to 1); its output is therefore a fixed, input-independent vector.
    """

    def __init__(
        self,
        input_dim: int,
        *,
        cell: Literal["gru", "lstm"] = "lstm",
        hidden: int = 128,
        layers: int = 1,
        bidirectional: bool = True,
        pooling: Literal["last", "max", "mean"] = "max",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ConfigError(f"RNNEncoder cell: expected 'gru' or 'lstm', got {cell!r}")
        if pooling not in ("last", "max", "mean"):
            raise ConfigError(f"RNNEncoder pooling: expected 'last', 'max' or 'mean', got {pooling!r}")
        rnn_cls = nn.LSTM if cell == "lstm" else nn.GRU
        # nn.GRU/LSTM apply dropout only between layers and warn when there is one layer.
        self.rnn = rnn_cls(
            input_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.cell, self.pooling, self.bidirectional = cell, pooling, bidirectional
        self.out_dim = hidden * (2 if bidirectional else 1)

    def forward(self, x: Tensor, mask: Tensor, lengths: Tensor) -> Tensor:
        """x (B, T, D), mask (B, T) bool, lengths (B,) int64 -> (B, out_dim)."""
        x, mask = pad_time(x, mask, 1)  # T >= 1 so that length-0 texts can run one step
        steps = x.shape[1]
        lengths = lengths.clamp(min=1, max=steps)  # (B,)
        x = zero_padding(x, mask)  # (B, T, D)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out_packed, state = self.rnn(packed)
        if self.pooling == "last":
            h_n = state[0] if self.cell == "lstm" else state  # (layers * dirs, B, H), original order
            if self.bidirectional:
                return torch.cat([h_n[-2], h_n[-1]], dim=1)  # (B, 2H)
            return h_n[-1]  # (B, H)
        out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=steps)  # (B, T, out_dim)
        valid = torch.arange(steps, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)  # (B, T)
        if self.pooling == "max":
            return masked_max(out, valid)
        return masked_mean(out, valid)

    def extra_repr(self) -> str:
        return f"pooling={self.pooling!r}, out_dim={self.out_dim}"
