"""Masked pooling over time and the padding helpers every encoder shares.

Conventions: ``x`` is (B, T, D) float, ``mask`` is (B, T) bool and True on real tokens.
A text with no tokens (length 0) pools to a vector of zeros rather than NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["pad_time", "masked_mean", "masked_max", "zero_padding"]


def pad_time(x: Tensor, mask: Tensor, min_len: int) -> tuple[Tensor, Tensor]:
    """Right-pad ``x`` (B, T, D) with zeros and ``mask`` (B, T) with False up to ``min_len`` steps."""
    extra = min_len - x.shape[1]
    if extra <= 0:
        return x, mask
    return F.pad(x, (0, 0, 0, extra)), F.pad(mask, (0, extra), value=False)


def zero_padding(x: Tensor, mask: Tensor) -> Tensor:
    """(B, T, D) with the padded steps set to 0, whatever the embedding put there."""
    return x * mask.unsqueeze(-1).to(x.dtype)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over the True steps: (B, T, D), (B, T) -> (B, D); zeros where a row has none."""
    m = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    total = (x * m).sum(dim=1)  # (B, D)
    count = m.sum(dim=1).clamp(min=1.0)  # (B, 1)
    return total / count


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Max over the True steps: (B, T, D), (B, T) -> (B, D); zeros where a row has none."""
    filled = x.masked_fill(~mask.unsqueeze(-1), float("-inf"))  # (B, T, D)
    best = filled.max(dim=1).values  # (B, D)
    has_any = mask.any(dim=1, keepdim=True)  # (B, 1)
    return torch.where(has_any, best, torch.zeros_like(best))
