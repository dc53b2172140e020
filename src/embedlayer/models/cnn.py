"""Kim-2014 style CNN: n-gram filters of several widths, ReLU, max over time."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.models.masking import masked_max, pad_time, zero_padding

__all__ = ["CNNEncoder"]


class CNNEncoder(nn.Module):
    """(B, T, D) -> (B, len(widths) * channels).

    Each width ``w`` slides over full windows of real tokens only: window ``i`` covers tokens
    ``i .. i+w-1`` and counts when ``i + w <= length``. A text shorter than ``w`` (including the
    batch being shorter than the widest filter) is right-padded with zero vectors to ``w`` and
    gets exactly one window, so the result never depends on how much padding the batch has.
    Windows are max-pooled after ReLU with invalid windows at -inf (a length-0 text pools its one
    all-zero window).
    """

    def __init__(self, input_dim: int, *, widths: Sequence[int] = (3, 4, 5), channels: int = 100) -> None:
        super().__init__()
        widths = tuple(widths)
        if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ConfigError(f"CNNEncoder widths: expected a non-empty sequence of integers >= 1, got {widths!r}")
        if channels < 1:
            raise ConfigError(f"CNNEncoder channels: expected an integer >= 1, got {channels!r}")
        self.widths = widths
        self.convs = nn.ModuleList(nn.Conv1d(input_dim, channels, kernel_size=w) for w in widths)
        self.out_dim = channels * len(widths)

    def forward(self, x: Tensor, mask: Tensor, lengths: Tensor) -> Tensor:
        """x (B, T, D), mask (B, T) bool, lengths (B,) int64 -> (B, len(widths) * channels)."""
        x, mask = pad_time(x, mask, max(self.widths))  # (B, T', D), T' >= widest filter
        x = zero_padding(x, mask).transpose(1, 2)  # (B, D, T')
        n_real = mask.sum(dim=1)  # (B,) counted from the mask so it agrees with x
        pooled = []
        for width, conv in zip(self.widths, self.convs):
            h = torch.relu(conv(x)).transpose(1, 2)  # (B, T'-w+1, C)
            starts = torch.arange(h.shape[1], device=x.device)  # (T'-w+1,)
            n_windows = (n_real - width + 1).clamp(min=1)  # (B,) at least one window
            valid = starts.unsqueeze(0) < n_windows.unsqueeze(1)  # (B, T'-w+1)
            pooled.append(masked_max(h, valid))  # (B, C)
        return torch.cat(pooled, dim=1)  # (B, len(widths) * C)

    def extra_repr(self) -> str:
        return f"widths={self.widths}, out_dim={self.out_dim}"
