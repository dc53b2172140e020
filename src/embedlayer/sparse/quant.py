"""Row-wise 8-bit quantisation of a table, for inference: 4x smaller than float32, ~4x less to read.

Each row r keeps its own ``offset[r] = min(row)`` and ``scale[r] = (max(row) - min(row)) / 255``
(float32), and each value becomes the byte ``q = round((x - offset) / scale)`` in 0..255; a
lookup returns ``q * scale + offset`` in float32. The error is at most ``scale / 2`` per value
(half a step of the row's own range: rows of small norm keep small errors). A constant row
(zeros: the padding row) has scale 0 and is exact. This is FBGEMM's "8-bit row-wise" layout
(codes plus a per-row scale and bias); ``bench/lookup.py --quality`` measures what it costs on
neighbour search and on a trained classifier's accuracy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from numba import njit
from torch import Tensor, nn

from embedlayer.errors import ConfigError
from embedlayer.kernels.checks import check_ids, raise_bad_id
from embedlayer.kernels.lookup import first_bad, split
from embedlayer.kernels.threads import run_chunks

__all__ = ["QuantizedEmbedding", "dequantize_rows", "neighbour_recall", "quantize_rows"]

_JIT: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def _quantize(weight, codes, scale, offset, lo, hi):  # pragma: no cover - compiled
    for r in range(lo, hi):
        lo, hi = weight[r, 0], weight[r, 0]
        for d in range(weight.shape[1]):
            lo = min(lo, weight[r, d])
            hi = max(hi, weight[r, d])
        step = (hi - lo) / np.float32(255.0)
        offset[r], scale[r] = lo, step
        inv = np.float32(1.0) / step if step > 0 else np.float32(0.0)
        for d in range(weight.shape[1]):
            q = math.floor((weight[r, d] - lo) * inv + np.float32(0.5))
            codes[r, d] = np.uint8(min(255.0, max(0.0, q)))


@njit(**_JIT)
def _dequantize_gather(codes, scale, offset, ids, out, lo, hi):  # pragma: no cover - compiled
    rows = codes.shape[0]
    bad = -1
    for i in range(lo, hi):
        r = ids[i]
        if r < 0 or r >= rows:
            if bad < 0:
                bad = i
            continue
        s, o = scale[r], offset[r]
        for d in range(codes.shape[1]):
            out[i, d] = np.float32(codes[r, d]) * s + o
    return bad


def quantize_rows(weight: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Quantise a (V, D) table row by row -> (codes (V, D) uint8, scale (V,), offset (V,) float32).

    Raises:
        ConfigError: not a 2-D float tensor, or a NaN/infinite value (naming its row).
    """
    if not isinstance(weight, Tensor) or weight.dim() != 2 or not weight.dtype.is_floating_point:
        got = f"{weight.dtype} {tuple(weight.shape)}" if isinstance(weight, Tensor) else type(weight).__name__
        raise ConfigError(f"quantize_rows: expected a 2-D float tensor (rows, dim), got {got}")
    values = weight.detach().cpu().float().contiguous()
    finite = torch.isfinite(values).all(dim=1)
    if not bool(finite.all()):
        row = int(torch.nonzero(~finite)[0])
        raise ConfigError(f"quantize_rows: row {row} has a NaN or infinite value; expected finite numbers")
    codes = torch.empty(values.shape, dtype=torch.uint8)
    scale, offset = torch.empty(values.shape[0]), torch.empty(values.shape[0])
    if values.numel():
        args = (values.numpy(), codes.numpy(), scale.numpy(), offset.numpy())
        parts = split(values.shape[0], minimum=1024)
        run_chunks(_quantize, args, parts)
    return codes, scale, offset


def dequantize_rows(codes: Tensor, scale: Tensor, offset: Tensor, ids: Tensor | None = None) -> Tensor:
    """Float32 rows ``codes * scale + offset``: all (V, D), or those of ``ids`` (...,) -> (..., D).

    Raises:
        ConfigError: non-integer ids; IdOutOfRangeError: an id outside [0, V).
    """
    if ids is None:
        return codes.float() * scale.unsqueeze(1) + offset.unsqueeze(1)
    ids = check_ids(ids, None)
    flat = ids.reshape(-1)
    out = torch.empty(flat.shape[0], codes.shape[1])
    args = (codes.numpy(), scale.numpy(), offset.numpy(), flat.numpy(), out.numpy())
    parts = split(flat.shape[0])
    bad = first_bad(run_chunks(_dequantize_gather, args, parts))
    if bad >= 0:
        raise_bad_id(ids, int(bad), codes.shape[0])
    return out.reshape(*ids.shape, codes.shape[1])


class QuantizedEmbedding(nn.Module):
    """An inference-only lookup table stored as row-wise uint8 codes with a scale and offset per row.

    Build it from a trained table: ``QuantizedEmbedding.from_embedding(layer)`` or
    ``from_weight(weight, padding_idx=...)``. ``forward(ids)`` returns float32 rows (no gradient).
    Buffers ``codes``, ``scale``, ``offset`` go into ``state_dict`` (safetensors-friendly).
    """

    codes: Tensor  # (V, D) uint8
    scale: Tensor  # (V,) float32
    offset: Tensor  # (V,) float32

    def __init__(self, codes: Tensor, scale: Tensor, offset: Tensor, *, padding_idx: int | None = None) -> None:
        super().__init__()
        rows = codes.shape[:1]
        if codes.dtype != torch.uint8 or codes.dim() != 2 or scale.shape != rows or offset.shape != rows:
            raise ConfigError(
                f"QuantizedEmbedding: expected codes (V, D) uint8 with scale and offset (V,), got codes "
                f"{codes.dtype} {tuple(codes.shape)}, scale {tuple(scale.shape)}, offset {tuple(offset.shape)}"
            )
        self.register_buffer("codes", codes.contiguous())
        self.register_buffer("scale", scale.float().contiguous())
        self.register_buffer("offset", offset.float().contiguous())
        self.num_embeddings, self.embedding_dim = codes.shape
        self.padding_idx = padding_idx

    @classmethod
    def from_weight(cls, weight: Tensor, *, padding_idx: int | None = None) -> QuantizedEmbedding:
        """Quantise ``weight`` (V, D); see :func:`quantize_rows`."""
        codes, scale, offset = quantize_rows(weight)
        return cls(codes, scale, offset, padding_idx=padding_idx)

    @classmethod
    def from_embedding(cls, layer: nn.Module) -> QuantizedEmbedding:
        """Quantise the table of an ``Embedding`` (or any module with ``weight`` and ``padding_idx``)."""
        weight = getattr(layer, "weight", None)
        if not isinstance(weight, Tensor):
            raise ConfigError(f"from_embedding: expected a module with a weight tensor, got {type(layer).__name__}")
        return cls.from_weight(weight, padding_idx=getattr(layer, "padding_idx", None))

    def forward(self, ids: Tensor) -> Tensor:
        """ids (...,) integer -> (..., D) float32 dequantised rows."""
        return dequantize_rows(self.codes, self.scale, self.offset, ids)

    def dequantize(self) -> Tensor:
        """The whole (V, D) float32 table as lookups see it."""
        return dequantize_rows(self.codes, self.scale, self.offset)

    @property
    def nbytes(self) -> int:
        """Bytes of codes, scales and offsets (vs ``4 * V * D`` in float32)."""
        return self.codes.numel() + 8 * self.num_embeddings

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, padding_idx={self.padding_idx}, uint8 rows"


def neighbour_recall(exact: Tensor, approx: Tensor, queries: Tensor, *, k: int = 10) -> float:
    """Mean recall@k of cosine neighbour search over ``approx`` (V, D) against ``exact`` (V, D).

    For each query row, the k nearest rows by cosine (the query itself left out) are found in both
    tables (the query vector taken from the same table); the recall is the fraction of the exact
    top-k that the approximate top-k also holds, averaged over ``queries`` (Q,) row ids.

    Raises:
        ConfigError: tables of different shapes, or k outside [1, V - 1].
    """
    if exact.shape != approx.shape or exact.dim() != 2:
        raise ConfigError(
            f"neighbour_recall: expected two (V, D) tables of one shape, got {tuple(exact.shape)} and "
            f"{tuple(approx.shape)}"
        )
    if not 1 <= k < exact.shape[0]:
        raise ConfigError(f"neighbour_recall: k must be in [1, {exact.shape[0] - 1}], got {k}")

    def top(unit: Tensor, block: Tensor) -> Tensor:
        scores = unit[block] @ unit.T  # (q, V)
        scores[torch.arange(len(block)), block] = -float("inf")
        return scores.topk(k, dim=1).indices  # (q, k)

    unit_exact = torch.nn.functional.normalize(exact.float(), dim=1)  # (V, D)
    unit_approx = torch.nn.functional.normalize(approx.float(), dim=1)
    hits = 0
    for start in range(0, len(queries), 128):  # blocks keep the (q, V) scores small
        block = queries[start : start + 128]
        for a, b in zip(top(unit_exact, block), top(unit_approx, block)):
            hits += len(set(a.tolist()) & set(b.tolist()))
    return hits / (k * len(queries))
