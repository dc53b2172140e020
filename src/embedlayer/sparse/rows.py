"""The row-wise optimizers' inputs, checked and shaped once: tables, ids, gradient rows.

* :func:`as_tables`: what an optimizer is built over: embedlayer tables
  (:class:`~embedlayer.kernels.tables.RowTable`) as they are, bare 2-D tensors wrapped in
  :class:`BareTable`;
* :func:`as_arrays`: ids (N,) and gradient rows (N, D) as the numpy arrays the kernels take;
* :class:`Rows`: one update's ids grouped by row (:mod:`embedlayer.kernels.coalesce`) and split
  into chunks for the threads (:mod:`embedlayer.kernels.threads`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numba
import numpy as np
import torch
from torch import Tensor

from embedlayer.errors import ConfigError
from embedlayer.kernels.checks import check_table
from embedlayer.kernels.coalesce import balanced_chunks, coalesce
from embedlayer.kernels.tables import ROW_TABLE_SLOTS, RowSink, RowTable, TableStorage
from embedlayer.kernels.threads import num_threads, run_chunks

__all__ = ["BareTable", "Rows", "as_arrays", "as_tables", "describe", "first_out_of_range"]

_MIN_ROWS_PER_THREAD = 256  # below this a second thread costs more than it saves


class Rows:
    """One update's grouping: ids (N,) numpy, heads/nxt/counts from ``coalesce``, and chunks."""

    __slots__ = ("bounds", "counts", "heads", "ids", "nxt")

    def __init__(self, ids: np.ndarray, padding_idx: int) -> None:
        self.ids = ids
        self.heads, self.nxt, self.counts = coalesce(ids, padding_idx)
        threads = num_threads() if len(self.heads) >= _MIN_ROWS_PER_THREAD else 1
        self.bounds = balanced_chunks(self.counts, threads)

    def row_ids(self) -> np.ndarray:
        """(U,) the distinct row ids, first-occurrence order."""
        return self.ids[self.heads]

    def run(self, kernel: Any, state: tuple[np.ndarray, ...], grads: np.ndarray, *settings: Any) -> None:
        """``kernel(*state, ids, heads, nxt, grads, lo, hi, *settings)`` (a driver of
        :mod:`embedlayer.kernels.updates`) for every chunk of distinct rows, chunks on parallel threads."""
        args = (*state, self.ids, self.heads, self.nxt, grads)
        run_chunks(kernel, (*args, *settings), self.bounds, at=len(args))


class BareTable:
    """A bare 2-D tensor given as a table: no padding row, in memory, no lookups to bind."""

    padding_idx: int | None = None
    storage: TableStorage | None = None
    row_sink: RowSink | None = None

    def __init__(self, weight: Tensor) -> None:
        self.weight = weight


def describe(table: Any) -> str:
    """``Embedding(10, 4)``: the table's type and shape, for messages."""
    return f"{type(table).__name__}{tuple(table.weight.shape)}"


def as_tables(tables: Any) -> list[RowTable]:
    """The tables of an optimizer, each checked: a table, or an iterable of them.

    Raises:
        ConfigError: no tables, a table given twice, a weight that is not a 2-D contiguous CPU
            float32/float16/bfloat16 tensor, a module that is not an embedlayer table (e.g. a
            ``torch.nn.Embedding``: give its weight), or read-only storage.
    """
    if isinstance(tables, Tensor) or hasattr(tables, "weight"):
        tables = [tables]
    if not isinstance(tables, Iterable):
        raise ConfigError(
            f"tables must be a table (a module with a 2-D weight, or a 2-D tensor) or a list of "
            f"them, got {type(tables).__name__}"
        )
    out: list[RowTable] = []
    for i, table in enumerate(tables):
        table = BareTable(table) if isinstance(table, Tensor) else table
        weight = getattr(table, "weight", None)
        check_table(weight.detach() if isinstance(weight, Tensor) else weight, what=f"table {i}")
        if not all(hasattr(table, slot) for slot in ROW_TABLE_SLOTS):
            raise ConfigError(
                f"table {i} ({describe(table)}) is a {type(table).__module__}.{type(table).__name__}, "
                f"without the slots of an embedlayer table (row_sink, storage); expected an "
                f"embedlayer.layers.Embedding/EmbeddingBag or a 2-D tensor (e.g. the module's weight)"
            )
        if table.storage is not None and not table.storage.writable:
            raise ConfigError(
                f"table {i} ({describe(table)}) is stored read-only in {table.storage.source}; open it "
                f"with writable=True to train it"
            )
        if any(weight is t.weight for t in out):
            raise ConfigError(f"table {i} ({describe(table)}) is given twice; expected each table once")
        out.append(table)
    if not out:
        raise ConfigError("an optimizer needs at least one table, got none")
    return out


def as_arrays(ids: Tensor | np.ndarray, grads: Tensor | np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """ids (N,) int32/int64 and grads (N, dim) float32 as contiguous numpy arrays.

    Raises:
        ConfigError: ids that are not integers, or grads not of shape (N, dim).
    """
    if isinstance(ids, Tensor):
        if ids.dtype.is_floating_point or ids.dtype == torch.bool:
            raise ConfigError(f"ids must be integers, got dtype {ids.dtype}")
        ids = ids.detach().cpu().reshape(-1)
        ids = (ids if ids.dtype in (torch.int32, torch.int64) else ids.long()).contiguous().numpy()
    else:
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise ConfigError(f"ids must be integers, got dtype {ids.dtype}")
        ids = np.ascontiguousarray(ids.reshape(-1), dtype=ids.dtype if ids.dtype in (np.int32, np.int64) else np.int64)
    if isinstance(grads, Tensor):
        grads = grads.detach().cpu().reshape(-1, grads.shape[-1] if grads.dim() else 1).float().contiguous().numpy()
    else:
        grads = np.ascontiguousarray(np.asarray(grads, dtype=np.float32))
    if grads.ndim != 2 or grads.shape != (ids.shape[0], dim):
        raise ConfigError(
            f"gradient rows have shape {tuple(grads.shape)}; expected ({ids.shape[0]}, {dim}): one row "
            f"of the table's dimension per id"
        )
    return ids, grads


@numba.njit(cache=True, nogil=True)
def first_out_of_range(ids, rows):  # pragma: no cover - compiled
    """The position of the first id < 0 or >= rows in ids (N,), or -1."""
    for i in range(ids.shape[0]):
        if ids[i] < 0 or ids[i] >= rows:
            return i
    return -1
