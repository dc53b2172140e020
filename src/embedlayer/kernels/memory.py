"""Zeroed optimizer state on huge pages, where the OS offers them; how much memory there is.

The sparse updates touch rows scattered over hundreds of MB of state; with 4 KiB pages nearly
every row is also a TLB miss. State of 2 MiB or more is allocated as anonymous memory advised
``MADV_HUGEPAGE`` (Linux transparent huge pages in ``madvise`` mode), which the OS hands out
already zeroed and maps 2 MiB at a time on first touch: one TLB entry then covers 512 times the
rows (bench/results/NOTES.md has the measured gain). Elsewhere, or when the advice is refused, it
is ``np.zeros``. Pretraining allocates its input and output tables here too, for the same reason.

``memory_limit`` is what a caller compares an estimate with before allocating large tables, so a
run that cannot fit is refused with the estimate instead of failing in the allocator.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import Tensor

__all__ = ["memory_limit", "zeros", "zeros_array"]

_HUGE = 2 * 2**20
# The memory limit of the process's control group (v2, then v1), when it runs in one.
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def memory_limit() -> int | None:
    """Bytes of memory a new allocation can get now, at most: what the OS reports as available
    (Linux's MemAvailable: free memory plus caches it can drop), else the machine's physical
    memory; lower when the process's control group has a lower limit. None where nothing can be
    read."""
    limits = []
    available = _meminfo("MemAvailable")
    if available is not None:
        limits.append(available)
    else:
        with contextlib.suppress(AttributeError, ValueError, OSError):  # not POSIX
            limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    for path in _CGROUP_LIMITS:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():  # "max": no limit
            limits.append(int(text))
    return min(limits) if limits else None


def _meminfo(key: str) -> int | None:
    """A "kB" line of /proc/meminfo in bytes, or None (not Linux, or no such line)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                name, _, rest = line.partition(":")
                if name == key and rest.split()[0].isdigit():
                    return int(rest.split()[0]) * 1024
    except OSError:
        pass
    return None


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
