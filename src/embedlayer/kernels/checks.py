"""Validation of what the sparse paths receive: ids, offsets, tables. Every failure is one of
embedlayer's errors naming the bad value, where it is, and what was expected."""

from __future__ import annotations

from typing import NoReturn

import numpy as np
import torch
from torch import Tensor

from embedlayer.errors import ConfigError, IdOutOfRangeError

__all__ = ["TABLE_DTYPES", "check_ids", "check_offsets", "check_table", "raise_bad_id"]

_INTEGER_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
#: Storage dtypes of tables the sparse paths accept (compute is always float32).
TABLE_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def check_ids(ids: object, num_rows: int | None, *, what: str = "ids") -> Tensor:
    """``ids`` as a contiguous int32/int64 tensor, range-checked against ``num_rows`` when given.

    Raises:
        ConfigError: not a tensor, or not an integer dtype (floats and bools are refused rather
            than silently truncated).
        IdOutOfRangeError: an id < 0 or >= num_rows (the first one, with its position).
    """
    if not isinstance(ids, Tensor):
        raise ConfigError(
            f"{what} must be a torch integer tensor, got {type(ids).__name__}; use torch.tensor(ids, dtype=torch.long)"
        )
    if ids.dtype not in _INTEGER_DTYPES:
        raise ConfigError(f"{what} must be integers (torch.long or torch.int), got dtype {ids.dtype}")
    if ids.dtype not in (torch.int32, torch.int64):
        ids = ids.long()
    ids = ids.contiguous()
    if num_rows is not None and ids.numel():
        bad = (ids < 0) | (ids >= num_rows)
        if bool(bad.any()):
            raise_bad_id(ids, int(torch.nonzero(bad.reshape(-1))[0]), num_rows, what=what)
    return ids


def raise_bad_id(ids: Tensor, flat_position: int, num_rows: int, *, what: str = "ids") -> NoReturn:
    """Raise IdOutOfRangeError for ``ids.reshape(-1)[flat_position]``."""
    position = tuple(int(p) for p in np.unravel_index(flat_position, tuple(ids.shape))) if ids.dim() else ()
    value = int(ids.reshape(-1)[flat_position])
    where = position[0] if len(position) == 1 else position
    raise IdOutOfRangeError(
        f"{what}: id {value} at position {where} is out of range for an embedding table of "
        f"{num_rows} rows; expected 0 <= id < {num_rows}"
    )


def check_offsets(offsets: object, n_ids: int, *, include_last_offset: bool = False) -> Tensor:
    """Bag boundaries (B + 1,) int64 from ``offsets``: bag b is ``ids[bounds[b]:bounds[b + 1]]``.

    ``offsets`` holds the start of each bag (B,), or with ``include_last_offset`` also the end
    of the last one (B + 1,), as in ``torch.nn.functional.embedding_bag``.

    Raises:
        ConfigError: not a 1-D integer tensor, a first offset other than 0, a decreasing offset,
            an offset beyond the ``n_ids`` ids, or a last offset that is not ``n_ids``
            (with ``include_last_offset``).
    """
    if not isinstance(offsets, Tensor) or offsets.dtype not in _INTEGER_DTYPES or offsets.dim() != 1:
        got = (
            f"dtype {offsets.dtype}, shape {tuple(offsets.shape)}"
            if isinstance(offsets, Tensor)
            else type(offsets).__name__
        )
        raise ConfigError(f"offsets must be a 1-D integer tensor of bag starts, got {got}")
    values = offsets.long().cpu()
    if include_last_offset and values.numel() == 0:
        raise ConfigError("offsets is empty but include_last_offset=True; expected at least [0, len(ids)]")
    if values.numel() and int(values[0]) != 0:
        raise ConfigError(f"offsets[0] is {int(values[0])}; expected 0 (the first bag starts at the first id)")
    if values.numel() > 1:
        steps = values[1:] - values[:-1]
        if bool((steps < 0).any()):
            b = int(torch.nonzero(steps < 0)[0]) + 1
            raise ConfigError(
                f"offsets[{b}] is {int(values[b])}, smaller than offsets[{b - 1}] = {int(values[b - 1])}; "
                f"expected non-decreasing bag starts"
            )
    if values.numel() and int(values[-1]) > n_ids:
        raise ConfigError(
            f"offsets[{values.numel() - 1}] is {int(values[-1])}, beyond the {n_ids} ids; expected offsets <= len(ids)"
        )
    if include_last_offset:
        if int(values[-1]) != n_ids:
            raise ConfigError(
                f"the last offset is {int(values[-1])} with include_last_offset=True; expected len(ids) = {n_ids}"
            )
        return values.contiguous()
    return torch.cat([values, torch.tensor([n_ids], dtype=torch.int64)])


def check_table(weight: object, *, what: str = "table") -> Tensor:
    """``weight`` if it is a 2-D contiguous CPU tensor of a TABLE_DTYPES dtype.

    Raises:
        ConfigError: naming what is wrong (type, shape, dtype, device, layout).
    """
    if not isinstance(weight, Tensor):
        raise ConfigError(f"{what} must be a torch tensor of shape (rows, dim), got {type(weight).__name__}")
    if weight.dim() != 2:
        raise ConfigError(f"{what} has shape {tuple(weight.shape)}; expected 2 dimensions (rows, dim)")
    if weight.dtype not in TABLE_DTYPES:
        raise ConfigError(f"{what} has dtype {weight.dtype}; expected one of float32, float16, bfloat16")
    if weight.device.type != "cpu":
        raise ConfigError(f"{what} is on {weight.device}; the sparse kernels run on CPU (numba), expected a CPU table")
    if not weight.is_contiguous():
        raise ConfigError(f"{what} is not contiguous (strides {weight.stride()}); expected a C-contiguous table")
    return weight
