"""The four row-wise optimizers: SGD, Adagrad (element-wise), row-wise Adagrad, lazy Adam.

Each touches only the rows a batch looked up (the padding row never), sums the gradients of
duplicate ids, and applies weight decay only to those rows: a row absent from the batch keeps its
value and its state, so "weight decay" here means L2 on the rows in use (as TensorFlow's
LazyAdam and FBGEMM do), not a shrink of the whole table every step. The exact formulas are in
:mod:`embedlayer.kernels.updates`. Where the semantics coincide with torch's they are equal (to
float32 rounding): ``SparseSGD`` with ``torch.optim.SGD`` on sparse gradients, ``SparseAdagrad``
with ``torch.optim.Adagrad`` (no ``lr_decay``), ``LazyAdam(bias_correction="global")`` with
``torch.optim.SparseAdam`` (which counts steps per table, not per row; its ``eps`` sits outside
the bias correction, a difference below 1e-6 unless ``sqrt(v)`` is near ``eps``).

    opt = LazyAdam(model.embedding, lr=1e-3).bind()   # model.embedding's lookups now train it
    loss.backward()                                   # the rows are updated at its end (fused=True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

from embedlayer.errors import ConfigError
from embedlayer.kernels import updates as kernels
from embedlayer.sparse.optim import SparseOptimizer, TableBinding
from embedlayer.sparse.rows import Rows

__all__ = ["SPARSE_OPTIMIZERS", "LazyAdam", "RowwiseAdagrad", "SparseAdagrad", "SparseSGD", "make_sparse_optimizer"]


def _number(
    owner: str, name: str, value: Any, *, low: float = 0.0, inclusive: bool = True, high: float | None = None
) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= low if inclusive else value > low) and (high is None or value < high)
    if not ok:
        bound = f"{'>=' if inclusive else '>'} {low}" + (f" and < {high}" if high is not None else "")
        raise ConfigError(f"{owner}: {name} must be a finite number {bound}, got {value!r}")
    return float(value)


class SparseSGD(SparseOptimizer):
    """``w -= lr * (g + weight_decay * w)`` on the rows looked up. No momentum (lazy momentum
    would need per-row state; use LazyAdam)."""

    name = "sgd"

    def __init__(self, tables: Any, lr: float = 1e-3, *, weight_decay: float = 0.0, fused: bool = True) -> None:
        owner = type(self).__name__
        defaults = {
            "lr": _number(owner, "lr", lr, inclusive=False),
            "weight_decay": _number(owner, "weight_decay", weight_decay),
        }
        super().__init__(tables, defaults, fused=fused)

    def _new_state(self, binding: TableBinding) -> dict[str, Any]:
        return {"step": 0}

    def _run(
        self,
        weight: np.ndarray,
        state: dict[str, Any],
        rows: Rows,
        grads: np.ndarray,
        compact: bool,
        group: dict[str, Any],
    ) -> None:
        lr, wd = group["lr"], group["weight_decay"]
        rows.run(kernels.sgd_apply, (weight,), grads, compact, lr, wd)


class _AdagradBase(SparseOptimizer):
    def __init__(
        self,
        tables: Any,
        lr: float = 1e-2,
        *,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        fused: bool = True,
    ) -> None:
        owner = type(self).__name__
        defaults = {
            "lr": _number(owner, "lr", lr, inclusive=False),
            "eps": _number(owner, "eps", eps),
            "weight_decay": _number(owner, "weight_decay", weight_decay),
            "initial_accumulator_value": _number(owner, "initial_accumulator_value", initial_accumulator_value),
        }
        super().__init__(tables, defaults, fused=fused)

    def _accumulator(self, binding: TableBinding, shape: tuple[int, ...]) -> torch.Tensor:
        acc = self._allocate(binding, "sum", shape, torch.float32)
        start = self.param_groups[0]["initial_accumulator_value"]
        if start:
            acc.fill_(start)
        return acc


class SparseAdagrad(_AdagradBase):
    """Element-wise Adagrad (one accumulator per value, as ``torch.optim.Adagrad``): for the rows
    looked up, ``g' = g + wd * w``; ``s += g'^2``; ``w -= lr * g' / (sqrt(s) + eps)``."""

    name = "adagrad"

    def _new_state(self, binding: TableBinding) -> dict[str, Any]:
        return {"step": 0, "sum": self._accumulator(binding, tuple(binding.table.weight.shape))}

    def _run(
        self,
        weight: np.ndarray,
        state: dict[str, Any],
        rows: Rows,
        grads: np.ndarray,
        compact: bool,
        group: dict[str, Any],
    ) -> None:
        acc, lr, eps, wd = state["sum"].numpy(), group["lr"], group["eps"], group["weight_decay"]
        rows.run(kernels.adagrad_apply, (weight, acc), grads, compact, lr, eps, wd)


class RowwiseAdagrad(_AdagradBase):
    """Row-wise Adagrad (one accumulator per row: D times less state than Adagrad): for the rows
    looked up, ``g' = g + wd * w``; ``s += mean(g'^2)``; ``w -= lr * g' / (sqrt(s) + eps)``."""

    name = "rowwise-adagrad"

    def _new_state(self, binding: TableBinding) -> dict[str, Any]:
        return {"step": 0, "sum": self._accumulator(binding, (binding.table.weight.shape[0],))}

    def _run(
        self,
        weight: np.ndarray,
        state: dict[str, Any],
        rows: Rows,
        grads: np.ndarray,
        compact: bool,
        group: dict[str, Any],
    ) -> None:
        acc, lr, eps, wd = state["sum"].numpy(), group["lr"], group["eps"], group["weight_decay"]
        rows.run(kernels.rowwise_adagrad_apply, (weight, acc), grads, compact, lr, eps, wd)


class LazyAdam(SparseOptimizer):
    """Adam that moves only the rows looked up, with their moments and bias correction.

    Args:
        lr, betas, eps: as ``torch.optim.Adam``.
        weight_decay: L2 added to the gradient of the rows looked up (``decoupled_weight_decay``:
            AdamW's ``w *= 1 - lr * wd`` on those rows instead).
        bias_correction: ``"row"`` (default): each row counts its own updates, ``state["row_step"]``
            (V,) int64, so a rare row gets the bias correction of its first update when it first
            occurs; ``"global"``: every row uses the number of updates of the table (what
            ``torch.optim.SparseAdam`` does), ``state["step"]``.
        fused: see :class:`~embedlayer.sparse.optim.SparseOptimizer`.
    """

    name = "adam"

    def __init__(
        self,
        tables: Any,
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        bias_correction: Literal["row", "global"] = "row",
        fused: bool = True,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ConfigError(f"{owner}: betas must be two numbers in [0, 1), got {betas!r}")
        b1, b2 = (_number(owner, f"betas[{i}]", b, high=1.0) for i, b in enumerate(betas))
        if bias_correction not in ("row", "global"):
            raise ConfigError(f"{owner}: bias_correction must be 'row' or 'global', got {bias_correction!r}")
        defaults = {
            "lr": _number(owner, "lr", lr, inclusive=False),
            "betas": (b1, b2),
            "eps": _number(owner, "eps", eps),
            "weight_decay": _number(owner, "weight_decay", weight_decay),
            "decoupled_weight_decay": bool(decoupled_weight_decay),
            "bias_correction": bias_correction,
        }
        super().__init__(tables, defaults, fused=fused)

    def _new_state(self, binding: TableBinding) -> dict[str, Any]:
        shape = tuple(binding.table.weight.shape)
        return {
            "step": 0,
            "exp_avg": self._allocate(binding, "exp_avg", shape, torch.float32),
            "exp_avg_sq": self._allocate(binding, "exp_avg_sq", shape, torch.float32),
            "row_step": self._allocate(binding, "row_step", shape[:1], torch.int64),
        }

    def _run(
        self,
        weight: np.ndarray,
        state: dict[str, Any],
        rows: Rows,
        grads: np.ndarray,
        compact: bool,
        group: dict[str, Any],
    ) -> None:
        b1, b2 = group["betas"]
        global_step = state["step"] if group["bias_correction"] == "global" else 0
        m, v, steps = state["exp_avg"].numpy(), state["exp_avg_sq"].numpy(), state["row_step"].numpy()
        lr, eps, wd, decoupled = group["lr"], group["eps"], group["weight_decay"], group["decoupled_weight_decay"]
        rows.run(kernels.adam_apply, (weight, m, v, steps), grads, compact, lr, b1, b2, eps, wd, decoupled, global_step)


#: CLI and config names of the optimizers.
SPARSE_OPTIMIZERS: dict[str, Callable[..., SparseOptimizer]] = {
    "sgd": SparseSGD,
    "adagrad": SparseAdagrad,
    "rowwise-adagrad": RowwiseAdagrad,
    "adam": LazyAdam,
}


def make_sparse_optimizer(
    name: str, tables: Any, *, lr: float, weight_decay: float = 0.0, **kwargs: Any
) -> SparseOptimizer:
    """The optimizer called ``name`` ("sgd", "adagrad", "rowwise-adagrad", "adam") over ``tables``.

    Raises:
        ConfigError: an unknown name, or a bad hyperparameter.
    """
    cls = SPARSE_OPTIMIZERS.get(name)
    if cls is None:
        raise ConfigError(f"sparse optimizer {name!r} is unknown; expected one of {', '.join(SPARSE_OPTIMIZERS)}")
    return cls(tables, lr=lr, weight_decay=weight_decay, **kwargs)
