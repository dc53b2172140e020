"""Zeroed optimizer state on huge pages, where the OS offers them.

The sparse updates touch rows scattered over hundreds of MB of state; with 4 KiB pages nearly
every row is also a TLB miss. State of 2 MiB or more is allocated as anonymous memory advised
``MADV_HUGEPAGE`` (Linux transparent huge pages in ``madvise`` mode), which the OS hands out
already zeroed and maps 2 MiB at a time on first touch: one TLB entry then covers 512 times the
rows (bench/results/NOTES.md has the measured gain). Elsewhere, or when the advice is refused, it
is ``np.zeros``. Pretraining allocates its input and output tables here too, for the same reason.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import Tensor

__all__ = ["zeros", "zeros_array"]

_HUGE = 2 * 2**20


def zeros_array(shape: Sequence[int], dtype: np.dtype | type = np.float32) -> np.ndarray:
    """A zero-filled numpy array of ``shape`` and ``dtype`` (huge pages when large and available)."""
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if nbytes < _HUGE or advice is None or not hasattr(mmap, "MAP_ANONYMOUS"):
        return np.zeros(shape, dtype)
    try:
        region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        region.madvise(advice)
    except (OSError, ValueError):
        return np.zeros(shape, dtype)
    return np.frombuffer(region, dtype=dtype).reshape(shape)  # the array keeps the mapping alive


def zeros(shape: Sequence[int], dtype: torch.dtype) -> Tensor:
    """A zero-filled CPU tensor of ``shape`` and ``dtype`` (huge pages when large and available)."""
    import torch

    if dtype == torch.bfloat16:  # no numpy bfloat16: the same bytes as int16
        return torch.from_numpy(zeros_array(shape, np.int16)).view(torch.bfloat16)
    return torch.from_numpy(zeros_array(shape, torch.empty(0, dtype=dtype).numpy().dtype))
