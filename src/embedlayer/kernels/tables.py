"""What a row-wise optimizer needs of a table, as Protocols (no layer or optimizer class here).

A *table* is anything with a (V, D) ``weight`` and a ``padding_idx``: embedlayer's ``Embedding``
and ``EmbeddingBag`` (and so the modules over a memory-mapped table), or a bare 2-D tensor wrapped
by the optimizer. Two more slots make a table trainable inside backward, both set explicitly and
neither ever saved with the module (no ``state_dict`` entry, dropped by ``copy.deepcopy``,
``pickle`` and ``torch.save``):

* ``row_sink``: where its lookups hand their row gradients, set by a row-wise optimizer's
  ``bind()`` and cleared by ``unbind()`` (``None``: lookups use plain autograd);
* ``storage``: where its rows live when not in ordinary memory (a memory-mapped file), which says
  whether they may be written and allocates the optimizer's state next to them (``None``: memory).

The lookups below the layers (:mod:`.fused_lookup`, :mod:`.bag`) only see a :class:`RowSink`.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor

__all__ = ["ROW_TABLE_SLOTS", "RowSink", "RowTable", "TableStorage"]

#: The attributes a module needs, besides its 2-D ``weight``, to be a :class:`RowTable`. Checked by
#: name: ``isinstance`` on a runtime Protocol does not see a module's parameters from Python 3.12 on.
ROW_TABLE_SLOTS = ("padding_idx", "storage", "row_sink")


class RowSink(Protocol):
    """Receives the gradient of looked-up rows from a backward pass."""

    def accept(self, ids: Tensor, grads: Tensor) -> None:
        """``grads`` (N, D) are the gradients of rows ``ids`` (N,) of the table (ids may repeat)."""
        ...


class TableStorage(Protocol):
    """Where a table's rows live outside ordinary memory, e.g. a memory-mapped file."""

    @property
    def writable(self) -> bool:
        """Whether training may write the rows."""
        ...

    @property
    def source(self) -> str:
        """Where the rows come from (a file path), for messages."""
        ...

    def allocate_state(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        """A zero-initialised optimizer state tensor called ``name`` (e.g. ``"exp_avg"``)."""
        ...


class RowTable(Protocol):
    """A table a row-wise optimizer can train (see the module docstring)."""

    @property
    def weight(self) -> Tensor:
        """(V, D) float32, float16 or bfloat16, C-contiguous, on the CPU."""
        ...

    @property
    def padding_idx(self) -> int | None:
        """The row that never moves, or None."""
        ...

    @property
    def storage(self) -> TableStorage | None:
        """External storage of the rows, or None for ordinary memory."""
        ...

    row_sink: RowSink | None
