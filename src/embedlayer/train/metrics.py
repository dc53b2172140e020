"""Classification metrics computed from label ids (no scikit-learn needed).

Inputs are sequences, numpy arrays or tensors of int class ids in ``[0, num_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from embedlayer.errors import DataError

__all__ = ["accuracy", "confusion_matrix", "macro_f1", "per_class_f1"]

Labels = Sequence[int] | np.ndarray | torch.Tensor


def _as_array(name: str, values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise DataError(
            f"{name}: expected a 1-D sequence of integer class ids, got shape {arr.shape} dtype {arr.dtype}"
        )
    return arr.astype(np.int64, copy=False)


def _pair(y_true: Labels, y_pred: Labels) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_array("y_true", y_true), _as_array("y_pred", y_pred)
    if t.shape != p.shape:
        raise DataError(f"y_true has {t.size} labels but y_pred has {p.size}; expected the same number")
    return t, p


def accuracy(y_true: Labels, y_pred: Labels) -> float:
    """Fraction of positions where the two agree. Raises DataError on a length mismatch or no labels."""
    t, p = _pair(y_true, y_pred)
    if t.size == 0:
        raise DataError("accuracy: expected at least one label, got none")
    return float(np.mean(t == p))


def confusion_matrix(y_true: Labels, y_pred: Labels, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts, rows = true class, columns = predicted class.
    Raises DataError for a label outside ``[0, num_classes)`` (naming it and its position)."""
    t, p = _pair(y_true, y_pred)
    for name, arr in (("y_true", t), ("y_pred", p)):
        bad = np.flatnonzero((arr < 0) | (arr >= num_classes))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{name}[{i}] = {int(arr[i])}: expected a class id in [0, {num_classes})")
    flat = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def per_class_f1(confusion: np.ndarray) -> np.ndarray:
    """(C,) F1 = 2TP / (2TP + FP + FN) per class from a confusion matrix; 0 where that is 0/0."""
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def macro_f1(y_true: Labels, y_pred: Labels, num_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes that occur in ``y_true`` or ``y_pred``
    (as scikit-learn's ``f1_score(average="macro")`` with its default labels). A class that
    never occurs on either side is not averaged (it would count as 0 otherwise)."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    present = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    if not present.any():
        raise DataError("macro_f1: expected at least one label, got none")
    return float(per_class_f1(cm)[present].mean())
