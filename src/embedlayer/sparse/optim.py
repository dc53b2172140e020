"""The base of the row-wise sparse optimizers, and how an optimizer binds to its tables.

A table is a module with a 2-D ``weight`` and a ``padding_idx`` (embedlayer's ``Embedding`` and
``EmbeddingBag``, the modules of a memory-mapped table) or a bare 2-D tensor. Building an
optimizer over tables *binds* it to each module (``module.row_optimizer``): from then on the
module's forward pass goes through :mod:`embedlayer.kernels.fused_lookup`, whose backward hands the
gradient of the looked-up rows, (N, D), to the optimizer instead of building a (V, D) gradient.

* ``fused=True`` (default): the update is applied right there, inside ``loss.backward()``;
  ``step()`` has nothing left to do. One update per lookup: a table looked up twice in one graph
  is updated twice (look it up once with the ids concatenated, or use ``fused=False``).
* ``fused=False``: backward only records (ids, gradient rows); ``step()`` applies every lookup
  since ``zero_grad()`` as one update (duplicates across lookups summed), like a torch optimizer.

Every update coalesces the ids (:mod:`embedlayer.kernels.coalesce`), leaves the padding id out
(the padding row never moves), and runs one of the numba drivers of
:mod:`embedlayer.kernels.updates` over chunks of the distinct rows on parallel threads
(:mod:`embedlayer.kernels.threads`, ``torch.get_num_threads()`` of them). Tables stored as float16 or
bfloat16 are updated in float32: the touched rows are widened, updated and rounded back (to
nearest even). Optimizer state is always float32 (counts int64), allocated at the first update,
through ``module.state_allocator(name, shape, dtype)`` when the module has one (memory-mapped
tables put their state in files) and :func:`embedlayer.kernels.memory.zeros` (huge pages) otherwise.

These optimizers subclass ``torch.optim.Optimizer`` (``param_groups`` with ``lr``, ``zero_grad``,
``step``, ``state_dict``/``load_state_dict``), so LR schedules and checkpoints treat them as any
other; the table's ``.grad`` stays ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import numba
import numpy as np
import torch
from torch import Tensor

from embedlayer.errors import ConfigError
from embedlayer.kernels.checks import check_table, raise_bad_id
from embedlayer.kernels.coalesce import balanced_chunks, coalesce
from embedlayer.kernels.memory import zeros
from embedlayer.kernels.threads import num_threads, run_chunks

__all__ = ["Rows", "SparseOptimizer", "TableBinding"]

FORMAT = "embedlayer.sparse-optimizer"
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


class TableBinding:
    """One table trained by one optimizer; the layers call ``lookup`` and the backward ``accept``."""

    __slots__ = ("active", "index", "optimizer", "table")

    def __init__(self, optimizer: SparseOptimizer, table: Any, index: int) -> None:
        self.optimizer, self.table, self.index, self.active = optimizer, table, index, True

    def accept(self, ids: Tensor, grads: Tensor) -> None:
        """Gradient rows (N, D) of the lookups ``ids`` (N,), from a backward pass."""
        self.optimizer._accept(self, ids, grads)


class _BareTable:
    """A bare 2-D tensor given as a table (no module to bind, no padding row)."""

    padding_idx = None

    def __init__(self, weight: Tensor) -> None:
        self.weight = weight


def _describe(table: Any) -> str:
    weight = table.weight
    return f"{type(table).__name__}{tuple(weight.shape)}"


class SparseOptimizer(torch.optim.Optimizer):
    """Base class: subclasses define ``name``, ``_new_state`` and ``_run``.

    Args:
        tables: a table or an iterable of tables (modules with ``weight`` and ``padding_idx``, or
            2-D tensors).
        defaults: the hyperparameters (``lr`` first), kept in ``param_groups[0]``.
        fused: apply each update inside backward (True) or at ``step()`` (False).

    Raises:
        ConfigError: no tables, a table that is not a 2-D contiguous CPU float32/float16/bfloat16
            tensor, the same table twice, or a table opened read-only (``writable=False``).
    """

    name: ClassVar[str] = ""

    def __init__(self, tables: Any, defaults: dict[str, Any], *, fused: bool = True) -> None:
        tables = _as_tables(tables)
        super().__init__([t.weight for t in tables], defaults)
        self.fused = bool(fused)
        self._layout = [(t.weight.shape, t.weight.dtype) for t in tables]
        self._bindings = tuple(TableBinding(self, t, i) for i, t in enumerate(tables))
        self._pending: list[list[tuple[Tensor, Tensor]]] = [[] for _ in tables]
        for binding in self._bindings:
            if not isinstance(binding.table, _BareTable):
                previous = getattr(binding.table, "row_optimizer", None)
                if previous is not None:
                    previous.active = False  # the newest optimizer wins; the old one refuses this table
                binding.table.row_optimizer = binding

    # ------------------------------------------------------------------ public
    @property
    def tables(self) -> tuple[Any, ...]:
        """The tables this optimizer was built for (modules, or wrappers of bare tensors)."""
        return tuple(b.table for b in self._bindings)

    def apply_gradients(self, table: Any, ids: Tensor | np.ndarray, grads: Tensor | np.ndarray) -> None:
        """One update of ``table`` from gradient rows ``grads`` (N, D) of the lookups ``ids`` (N,).

        Duplicate ids are summed; the padding id is skipped.

        Raises:
            ConfigError: ``table`` is not one this optimizer was built for, or ``grads`` does not
                have shape (len(ids), D); IdOutOfRangeError: an id outside the table.
        """
        self._apply(self._binding_for(table), ids, grads)

    def detach(self) -> None:
        """Unbind from the tables: their modules go back to plain autograd lookups."""
        for binding in self._bindings:
            binding.active = False
            if getattr(binding.table, "row_optimizer", None) is binding:
                binding.table.row_optimizer = None

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply the recorded lookups (``fused=False``); nothing to do when fused."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for binding, pending in zip(self._bindings, self._pending):
            if pending:
                ids = torch.cat([i.reshape(-1) for i, _ in pending])
                grads = torch.cat([g.reshape(-1, g.shape[-1]) for _, g in pending])
                pending.clear()
                self._apply(binding, ids, grads)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget recorded lookups (``fused=False``) and clear ``.grad`` as torch does."""
        for pending in self._pending:
            pending.clear()
        super().zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if getattr(self, "_bindings", None) is not None:
            raise ConfigError(f"{type(self).__name__}: tables are fixed when it is built; build another optimizer "
                              f"for more tables")
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ internals
    def _binding_for(self, table: Any) -> TableBinding:
        for binding in self._bindings:
            if table is binding.table or table is binding.table.weight:
                return binding
        if isinstance(table, Tensor):  # the same memory seen through another tensor object
            for binding in self._bindings:
                weight = binding.table.weight
                if (table.data_ptr() == weight.data_ptr() and table.shape == weight.shape
                        and table.dtype == weight.dtype and table.stride() == weight.stride()):
                    return binding
        built = ", ".join(_describe(b.table) for b in self._bindings)
        what = f"a tensor of shape {tuple(table.shape)}" if isinstance(table, Tensor) else (
            _describe(table) if isinstance(getattr(table, "weight", None), Tensor) else type(table).__name__)
        raise ConfigError(f"{type(self).__name__} was built for the table(s) {built}; got {what}, which it was "
                          f"not built for (build an optimizer with that table)")

    def _accept(self, binding: TableBinding, ids: Tensor, grads: Tensor) -> None:
        if not binding.active:
            raise ConfigError(f"{type(self).__name__} no longer trains {_describe(binding.table)}: another optimizer "
                              f"was built for it (or detach() was called); use that optimizer")
        if self.fused:
            self._apply(binding, ids, grads)
        else:
            self._pending[binding.index].append((ids.detach(), grads.detach()))

    @torch.no_grad()
    def _apply(self, binding: TableBinding, ids: Tensor | np.ndarray, grads: Tensor | np.ndarray) -> None:
        weight = self._checked_weight(binding)
        ids_np, grads_np = _as_arrays(ids, grads, weight.shape[1])
        bad = _first_out_of_range(ids_np, weight.shape[0])
        if bad >= 0:
            raise_bad_id(torch.from_numpy(ids_np), bad, weight.shape[0])
        padding = binding.table.padding_idx
        rows = Rows(ids_np, -1 if padding is None else int(padding))
        state = self.state[binding.table.weight]
        if not state:
            state.update(self._new_state(binding))
        state["step"] += 1
        group = self.param_groups[0]
        if weight.dtype == torch.float32:
            self._run(weight.numpy(), state, rows, grads_np, False, group)
        else:  # float16/bfloat16 storage: float32 compute on a compact copy of the touched rows
            index = torch.from_numpy(rows.row_ids())
            compact = weight.index_select(0, index).float()
            self._run(compact.numpy(), state, rows, grads_np, True, group)
            weight.index_copy_(0, index, compact.to(weight.dtype))
        torch.autograd.graph.increment_version(weight)

    def _checked_weight(self, binding: TableBinding) -> Tensor:
        weight = binding.table.weight
        shape, dtype = self._layout[binding.index]
        if not isinstance(weight, Tensor) or weight.shape != shape or weight.dtype != dtype:
            got = f"{weight.dtype} {tuple(weight.shape)}" if isinstance(weight, Tensor) else type(weight).__name__
            raise ConfigError(f"{type(self).__name__}: the table is now {got} but the optimizer was built for "
                              f"{dtype} {tuple(shape)}; build a new optimizer after changing a table")
        return check_table(weight.detach(), what=f"{type(self).__name__} table")

    def _allocate(self, binding: TableBinding, name: str, shape: Sequence[int], dtype: torch.dtype) -> Tensor:
        allocate = getattr(binding.table, "state_allocator", None)
        if allocate is None:
            return zeros(shape, dtype)
        return allocate(name, tuple(shape), dtype)

    def _new_state(self, binding: TableBinding) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, weight: np.ndarray, state: dict[str, Any], rows: Rows, grads: np.ndarray, compact: bool,
             group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """``{"format", "optimizer", "state": {table index: {name: tensor or number}}, "param_groups"}``
        (tensors are the live state: copy them to keep a snapshot)."""
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self._bindings)))
        state = {}
        for binding in self._bindings:
            entry = self.state.get(binding.table.weight)
            if entry:
                state[binding.index] = dict(entry)
        return {"format": FORMAT, "optimizer": self.name, "state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict`` of the same optimizer over tables of the same shapes.

        Raises:
            ConfigError: another optimizer's state, another number of tables, or a state tensor
                whose shape does not fit its table.
        """
        if not isinstance(state_dict, dict) or state_dict.get("format") != FORMAT:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: expected a state_dict of an embedlayer sparse "
                              f"optimizer, got {str(state_dict)[:60]!r}")
        if state_dict.get("optimizer") != self.name:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: the state belongs to optimizer "
                              f"{state_dict.get('optimizer')!r}; expected {self.name!r}")
        groups = state_dict.get("param_groups") or [{}]
        if len(groups[0].get("params", [])) != len(self._bindings):
            raise ConfigError(f"{type(self).__name__}.load_state_dict: the state is for {len(groups[0].get('params', []))} "
                              f"table(s); this optimizer has {len(self._bindings)}")
        for key, value in groups[0].items():
            if key != "params":
                self.param_groups[0][key] = tuple(value) if isinstance(value, list) else value
        saved = {int(k): v for k, v in state_dict.get("state", {}).items()}
        for binding in self._bindings:
            entry = saved.get(binding.index)
            if entry is None:
                continue
            fresh = self._new_state(binding)
            for name, value in entry.items():
                if name not in fresh:
                    raise ConfigError(f"{type(self).__name__}.load_state_dict: unknown state {name!r}; expected "
                                      f"{sorted(fresh)}")
                if isinstance(fresh[name], Tensor):
                    if tuple(value.shape) != tuple(fresh[name].shape):
                        raise ConfigError(f"{type(self).__name__}.load_state_dict: state {name!r} of table "
                                          f"{binding.index} has shape {tuple(value.shape)}; expected "
                                          f"{tuple(fresh[name].shape)}")
                    fresh[name].copy_(value)
                else:
                    fresh[name] = value
            self.state[binding.table.weight] = fresh


def _as_tables(tables: Any) -> list[Any]:
    if isinstance(tables, Tensor) or hasattr(tables, "weight"):
        tables = [tables]
    if not isinstance(tables, Iterable):
        raise ConfigError(f"tables must be a table (a module with a 2-D weight, or a 2-D tensor) or a list of "
                          f"them, got {type(tables).__name__}")
    out: list[Any] = []
    for i, table in enumerate(tables):
        table = _BareTable(table) if isinstance(table, Tensor) else table
        weight = getattr(table, "weight", None)
        check_table(weight.detach() if isinstance(weight, Tensor) else weight, what=f"table {i}")
        if getattr(table, "writable", True) is False:
            source = getattr(table, "source", None) or "its file"
            raise ConfigError(f"table {i} ({_describe(table)}) is memory-mapped read-only from {source}; open it with "
                              f"writable=True to train it")
        if any(weight is t.weight for t in out):
            raise ConfigError(f"table {i} ({_describe(table)}) is given twice; expected each table once")
        out.append(table)
    if not out:
        raise ConfigError("an optimizer needs at least one table, got none")
    return out


def _as_arrays(ids: Tensor | np.ndarray, grads: Tensor | np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """ids (N,) int32/int64 and grads (N, dim) float32 as contiguous numpy arrays."""
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
        raise ConfigError(f"gradient rows have shape {tuple(grads.shape)}; expected ({ids.shape[0]}, {dim}): one row "
                          f"of the table's dimension per id")
    return ids, grads


@numba.njit(cache=True, nogil=True)
def _first_out_of_range(ids, rows):  # pragma: no cover - compiled
    for i in range(ids.shape[0]):
        if ids[i] < 0 or ids[i] >= rows:
            return i
    return -1
