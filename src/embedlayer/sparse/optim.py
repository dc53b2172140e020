"""The base of the row-wise sparse optimizers, and how one is bound to its tables.

A table is an embedlayer module with a 2-D ``weight`` and a ``padding_idx`` (``Embedding``,
``EmbeddingBag``, the modules over a memory-mapped table: a
:class:`~embedlayer.kernels.tables.RowTable`) or a bare 2-D tensor. Building an optimizer changes
nothing about its tables; how their gradients reach it is chosen explicitly:

* **bound** (``opt = LazyAdam(layer, lr=1e-3).bind()``; ``opt.unbind()`` undoes it): the
  modules' lookups go through :mod:`embedlayer.kernels.fused_lookup`, whose backward hands the
  gradient of the looked-up rows, (N, D), to the optimizer: no (V, D) gradient, no ``.grad``. A
  table is bound to one optimizer at a time, through its ``row_sink`` slot, which
  ``copy.deepcopy``, pickling, ``torch.save`` and ``state_dict`` never carry.

  - ``fused=True`` (default): the update runs once at the end of each ``backward()``, every
    lookup of a table in that backward summed into one update (a table looked up twice is updated
    once, as if looked up once with the ids concatenated); ``step()`` has nothing left to apply.
  - ``fused=False``: backward only records; ``step()`` applies every lookup since ``zero_grad()``
    as one update, like a torch optimizer.

  A bound table must get its gradient through its lookups only: a ``.grad`` on its weight (from
  another use, e.g. an output layer tied to it) raises ConfigError at the end of backward or at
  ``step()``, instead of being silently left out.
* **not bound**: ``step()`` applies each table's sparse ``.grad`` (a layer built with
  ``sparse=True``) as one update, as ``torch.optim.SparseAdam`` would; a dense ``.grad`` raises
  ConfigError (which rows were looked up is unknown): bind the optimizer or use ``sparse=True``.

``apply_gradients(table, ids, grads)`` applies one update from gradient rows given directly.

Every update coalesces the ids (:mod:`embedlayer.kernels.coalesce`), leaves the padding id out
(the padding row never moves), and runs one of the numba drivers of
:mod:`embedlayer.kernels.updates` over chunks of the distinct rows on parallel threads
(:mod:`embedlayer.kernels.threads`, ``torch.get_num_threads()`` of them). Tables stored as float16 or
bfloat16 are updated in float32: the touched rows are widened, updated and rounded back (to
nearest even). Optimizer state is always float32 (counts int64), allocated at the first update,
by the table's ``storage`` when it has one (memory-mapped tables put their state in files) and
:func:`embedlayer.kernels.memory.zeros` (huge pages) otherwise.

These optimizers subclass ``torch.optim.Optimizer`` (``param_groups`` with ``lr``, ``zero_grad``,
``step``, ``state_dict``/``load_state_dict``), so LR schedules and checkpoints treat them as any
other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor
from torch.autograd import Variable

from embedlayer.errors import ConfigError
from embedlayer.kernels.checks import check_table, raise_bad_id
from embedlayer.kernels.memory import zeros
from embedlayer.sparse.rows import BareTable, Rows, as_arrays, as_tables, describe, first_out_of_range

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Self

__all__ = ["SparseOptimizer", "TableBinding"]

FORMAT = "embedlayer.sparse-optimizer"

_Entries = list[tuple[Tensor, Tensor]]  # (ids (N,), gradient rows (N, D)) of the lookups of one table


class TableBinding:
    """One table trained by one optimizer: what a bound table's lookups hand their gradient to
    (a :class:`~embedlayer.kernels.tables.RowSink`)."""

    __slots__ = ("index", "optimizer", "table")

    def __init__(self, optimizer: SparseOptimizer, table: Any, index: int) -> None:
        self.optimizer, self.table, self.index = optimizer, table, index

    def accept(self, ids: Tensor, grads: Tensor) -> None:
        """Gradient rows (N, D) of the lookups ``ids`` (N,), from a backward pass."""
        self.optimizer._accept(self, ids, grads)

    @property
    def bound(self) -> bool:
        """Whether the table's lookups currently hand their gradient here."""
        return self.table.row_sink is self


class SparseOptimizer(torch.optim.Optimizer):
    """Base class: subclasses define ``name``, ``_new_state`` and ``_run``.

    Args:
        tables: a table or an iterable of tables (embedlayer modules with ``weight`` and
            ``padding_idx``, or 2-D tensors).
        defaults: the hyperparameters (``lr`` first), kept in ``param_groups[0]``.
        fused: once bound, apply the updates at the end of each backward (True) or at ``step()``
            (False).

    Raises:
        ConfigError: no tables, a table that is not a 2-D contiguous CPU float32/float16/bfloat16
            tensor, a module that is not an embedlayer table, the same table twice, or a table
            whose storage is read-only.
    """

    name: ClassVar[str] = ""

    def __init__(self, tables: Any, defaults: dict[str, Any], *, fused: bool = True) -> None:
        tables = as_tables(tables)
        super().__init__([t.weight for t in tables], defaults)
        self.fused = bool(fused)
        self._layout = [(t.weight.shape, t.weight.dtype) for t in tables]
        self._bindings = tuple(TableBinding(self, t, i) for i, t in enumerate(tables))
        self._pending: list[_Entries] = [[] for _ in tables]  # fused=False: recorded until step()
        self._in_backward: dict[int, list[_Entries]] = {}  # fused=True: by autograd graph task, until its end

    # ------------------------------------------------------------------ public
    @property
    def tables(self) -> tuple[Any, ...]:
        """The tables this optimizer was built for (modules, or wrappers of bare tensors)."""
        return tuple(b.table for b in self._bindings)

    @property
    def bound(self) -> bool:
        """Whether :meth:`bind` routes the lookups of this optimizer's tables to it."""
        return any(b.bound for b in self._bindings)

    def bind(self) -> Self:
        """Route the lookups of this optimizer's module tables to it: their backward hands it the
        looked-up rows' gradient (see the module docstring). Returns the optimizer.

        Raises:
            ConfigError: a table is bound to another optimizer (``unbind()`` that one first), or
                every table is a bare tensor (no lookups to route: use ``apply_gradients``).
        """
        modules = [b for b in self._bindings if not isinstance(b.table, BareTable)]
        if not modules:
            raise ConfigError(
                f"{type(self).__name__}.bind(): its tables are bare tensors, whose lookups cannot be "
                f"routed; expected embedlayer modules (e.g. Embedding.from_pretrained(tensor, "
                f"freeze=False)), or update bare tensors with apply_gradients"
            )
        for binding in modules:
            other = binding.table.row_sink
            if other is not None and other is not binding:
                owner = type(getattr(other, "optimizer", other)).__name__
                raise ConfigError(
                    f"{type(self).__name__}.bind(): {describe(binding.table)} is already bound to "
                    f"{owner}; expected an unbound table (call that optimizer's unbind() first)"
                )
        for binding in modules:
            binding.table.row_sink = binding
        return self

    def unbind(self) -> None:
        """Return the tables bound to this optimizer to plain autograd lookups."""
        for binding in self._bindings:
            if binding.bound:
                binding.table.row_sink = None

    detach = unbind  # the name of unbind before bind() was explicit

    def apply_gradients(self, table: Any, ids: Tensor | np.ndarray, grads: Tensor | np.ndarray) -> None:
        """One update of ``table`` from gradient rows ``grads`` (N, D) of the lookups ``ids`` (N,).

        Duplicate ids are summed; the padding id is skipped.

        Raises:
            ConfigError: ``table`` is not one this optimizer was built for, or ``grads`` does not
                have shape (len(ids), D); IdOutOfRangeError: an id outside the table.
        """
        self._apply(self._binding_for(table), ids, grads)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply what reached the optimizer since ``zero_grad()``: the recorded lookups of bound
        tables (``fused=False``; nothing when fused, the updates ran in backward) and the sparse
        ``.grad`` of tables not bound.

        Raises:
            ConfigError: a table not bound has a dense ``.grad``, or a bound table has a ``.grad``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for binding, pending in zip(self._bindings, self._pending):
            if binding.bound:
                self._check_no_grad(binding)
            elif binding.table.weight.grad is not None:
                pending.append(self._sparse_grad(binding))
            entries = pending[:]
            pending.clear()
            self._apply_entries(binding, entries)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget recorded lookups (``fused=False``) and clear ``.grad`` as torch does."""
        for pending in self._pending:
            pending.clear()
        self._in_backward.clear()  # left by a backward that raised before its end
        super().zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if getattr(self, "_bindings", None) is not None:
            raise ConfigError(
                f"{type(self).__name__}: tables are fixed when it is built; build another optimizer for more tables"
            )
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ internals
    def _binding_for(self, table: Any) -> TableBinding:
        for binding in self._bindings:
            if table is binding.table or table is binding.table.weight:
                return binding
        if isinstance(table, Tensor):  # the same memory seen through another tensor object
            for binding in self._bindings:
                weight = binding.table.weight
                if (
                    table.data_ptr() == weight.data_ptr()
                    and table.shape == weight.shape
                    and table.dtype == weight.dtype
                    and table.stride() == weight.stride()
                ):
                    return binding
        built = ", ".join(describe(b.table) for b in self._bindings)
        what = (
            f"a tensor of shape {tuple(table.shape)}"
            if isinstance(table, Tensor)
            else (describe(table) if isinstance(getattr(table, "weight", None), Tensor) else type(table).__name__)
        )
        raise ConfigError(
            f"{type(self).__name__} was built for the table(s) {built}; got {what}, which it was "
            f"not built for (build an optimizer with that table)"
        )

    def _accept(self, binding: TableBinding, ids: Tensor, grads: Tensor) -> None:
        entry = (ids.detach(), grads.detach())
        if not self.fused:
            self._pending[binding.index].append(entry)
            return
        task = torch._C._current_graph_task_id()
        if task < 0:  # not called from a backward pass: nothing to wait for
            self._apply_entries(binding, [entry])
            return
        waiting = self._in_backward.get(task)
        if waiting is None:  # the first lookup of this backward: apply them all at its end
            waiting = self._in_backward[task] = [[] for _ in self._bindings]
            Variable._execution_engine.queue_callback(lambda: self._end_of_backward(task))
        waiting[binding.index].append(entry)

    def _end_of_backward(self, task: int) -> None:
        waiting = self._in_backward.pop(task, None)
        for binding, entries in zip(self._bindings, waiting or ()):
            if entries:
                self._check_no_grad(binding)
                self._apply_entries(binding, entries)

    def _check_no_grad(self, binding: TableBinding) -> None:
        grad = binding.table.weight.grad
        if grad is not None:
            kind = "sparse" if grad.is_sparse else "dense"
            raise ConfigError(
                f"{type(self).__name__}: {describe(binding.table)} is bound to it, but its weight has a "
                f"{kind} .grad, from another use than its lookups (e.g. an output layer tied to it) or "
                f"left from before bind(); a bound optimizer applies only its lookups' gradient: "
                f"expected no .grad (untie the table, or zero_grad() before binding)"
            )

    def _sparse_grad(self, binding: TableBinding) -> tuple[Tensor, Tensor]:
        """(ids (N,), rows (N, D)) of the sparse ``.grad`` of a table not bound."""
        grad = binding.table.weight.grad
        if not grad.is_sparse:
            raise ConfigError(
                f"{type(self).__name__}.step(): {describe(binding.table)} has a dense .grad and the "
                f"optimizer is not bound to it, so which rows were looked up is unknown; expected a "
                f"sparse gradient (build the layer with sparse=True) or a bound optimizer (bind(): "
                f"the rows are updated in backward)"
            )
        return grad._indices()[0], grad._values()

    def _apply_entries(self, binding: TableBinding, entries: _Entries) -> None:
        """One update from the lookups ``entries`` of one table (duplicates across them summed)."""
        if len(entries) == 1:
            self._apply(binding, *entries[0])
        elif entries:
            ids = torch.cat([i.reshape(-1).long() for i, _ in entries])
            grads = torch.cat([g.reshape(-1, g.shape[-1]) for _, g in entries])
            self._apply(binding, ids, grads)

    @torch.no_grad()
    def _apply(self, binding: TableBinding, ids: Tensor | np.ndarray, grads: Tensor | np.ndarray) -> None:
        weight = self._checked_weight(binding)
        ids_np, grads_np = as_arrays(ids, grads, weight.shape[1])
        bad = first_out_of_range(ids_np, weight.shape[0])
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
        torch.autograd.graph.increment_version(weight)  # a graph that saved the table sees it changed

    def _checked_weight(self, binding: TableBinding) -> Tensor:
        weight = binding.table.weight
        shape, dtype = self._layout[binding.index]
        if not isinstance(weight, Tensor) or weight.shape != shape or weight.dtype != dtype:
            got = f"{weight.dtype} {tuple(weight.shape)}" if isinstance(weight, Tensor) else type(weight).__name__
            raise ConfigError(
                f"{type(self).__name__}: the table is now {got} but the optimizer was built for "
                f"{dtype} {tuple(shape)}; build a new optimizer after changing a table"
            )
        return check_table(weight.detach(), what=f"{type(self).__name__} table")

    def _allocate(self, binding: TableBinding, name: str, shape: Sequence[int], dtype: torch.dtype) -> Tensor:
        storage = binding.table.storage
        if storage is None:
            return zeros(shape, dtype)
        return storage.allocate_state(name, tuple(shape), dtype)

    def _new_state(self, binding: TableBinding) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(
        self,
        weight: np.ndarray,
        state: dict[str, Any],
        rows: Rows,
        grads: np.ndarray,
        compact: bool,
        group: dict[str, Any],
    ) -> None:  # pragma: no cover - abstract
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
            raise ConfigError(
                f"{type(self).__name__}.load_state_dict: expected a state_dict of an embedlayer sparse "
                f"optimizer, got {str(state_dict)[:60]!r}"
            )
        if state_dict.get("optimizer") != self.name:
            raise ConfigError(
                f"{type(self).__name__}.load_state_dict: the state belongs to optimizer "
                f"{state_dict.get('optimizer')!r}; expected {self.name!r}"
            )
        groups = state_dict.get("param_groups") or [{}]
        if len(groups[0].get("params", [])) != len(self._bindings):
            raise ConfigError(
                f"{type(self).__name__}.load_state_dict: the state is for {len(groups[0].get('params', []))} "
                f"table(s); this optimizer has {len(self._bindings)}"
            )
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
                    raise ConfigError(
                        f"{type(self).__name__}.load_state_dict: unknown state {name!r}; expected {sorted(fresh)}"
                    )
                if isinstance(fresh[name], Tensor):
                    if tuple(value.shape) != tuple(fresh[name].shape):
                        raise ConfigError(
                            f"{type(self).__name__}.load_state_dict: state {name!r} of table "
                            f"{binding.index} has shape {tuple(value.shape)}; expected "
                            f"{tuple(fresh[name].shape)}"
                        )
                    fresh[name].copy_(value)
                else:
                    fresh[name] = value
            self.state[binding.table.weight] = fresh
