"""Zeroed tables on huge pages: plain zeros to the caller, advised MADV_HUGEPAGE where offered."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from embedlayer.kernels.memory import zeros, zeros_array

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.int64])
def test_zeros_are_writable_zeros_of_the_asked_shape_and_dtype(dtype):
    for shape in [(3, 5), (4096, 160)]:  # below and above the huge-page size
        t = zeros(shape, dtype)
        assert t.shape == shape and t.dtype == dtype and torch.equal(t, torch.zeros(shape, dtype=dtype))
        t[1, 2] = 7
        assert t[1, 2].item() == 7 and t.sum().item() == 7


def test_small_arrays_are_plain_numpy():
    a = zeros_array((10, 10), np.float32)
    assert a.base is None and a.flags.writeable


def _smaps_entry(address: int) -> str:
    text = Path("/proc/self/smaps").read_text()
    for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", text):
        lo, hi = (int(x, 16) for x in block.split(None, 1)[0].split("-"))
        if lo <= address < hi:
            return block
    raise AssertionError(f"address {address:#x} not mapped")


@pytest.mark.skipif(not THP.exists() or "[never]" in THP.read_text(), reason="no transparent huge pages here")
def test_large_arrays_are_advised_onto_huge_pages():
    a = zeros_array((4096, 256), np.float32)  # 4 MiB
    a[:] = 1.0
    entry = _smaps_entry(a.ctypes.data)
    assert re.search(r"^THPeligible:\s+1", entry, re.M), entry
    assert " hg" in re.search(r"^VmFlags:.*$", entry, re.M).group(0)  # MADV_HUGEPAGE recorded
