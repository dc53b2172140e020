"""Metrics against hand-computed values (scikit-learn is not a dependency)."""

import numpy as np
import pytest
import torch

from embedlayer.errors import DataError
from embedlayer.train.metrics import accuracy, confusion_matrix, macro_f1, per_class_f1

Y_TRUE = [0, 0, 1, 1, 2, 2, 2, 0]
Y_PRED = [0, 1, 1, 1, 2, 0, 2, 2]


def test_golden_values():
    # by hand: correct at 0, 2, 3, 4, 6
    assert accuracy(Y_TRUE, Y_PRED) == 5 / 8
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, 3), [[1, 1, 1], [0, 2, 0], [1, 0, 2]])
    # F1 = 2TP / (2TP + FP + FN): class 0: 2/(2+1+2); class 1: 4/(4+1+0); class 2: 4/(4+1+1)
    f1 = [2 / 5, 4 / 5, 4 / 6]
    np.testing.assert_allclose(per_class_f1(confusion_matrix(Y_TRUE, Y_PRED, 3)), f1)
    assert macro_f1(Y_TRUE, Y_PRED, 3) == pytest.approx(sum(f1) / 3)


def test_accepts_tensors_and_arrays():
    assert accuracy(torch.tensor(Y_TRUE), np.array(Y_PRED)) == 5 / 8
    assert confusion_matrix(torch.tensor(Y_TRUE), torch.tensor(Y_PRED), 3).dtype == np.int64


def test_classes_absent_from_both_sides_are_not_averaged():
    assert macro_f1(Y_TRUE, Y_PRED, 5) == pytest.approx(macro_f1(Y_TRUE, Y_PRED, 3))
    assert confusion_matrix(Y_TRUE, Y_PRED, 5).shape == (5, 5)
    # a class only predicted counts, with F1 0: class 0 2/(2+0+1), class 1 0
    assert macro_f1([0, 0], [0, 1], 2) == pytest.approx((2 / 3 + 0) / 2)
    assert macro_f1([1, 1, 0], [1, 1, 0], 2) == 1.0


def test_bad_input_raises_data_error():
    with pytest.raises(DataError, match=r"y_true\[1\] = 3: expected a class id in \[0, 3\)"):
        confusion_matrix([0, 3], [0, 0], 3)
    with pytest.raises(DataError, match="y_true has 2 labels but y_pred has 1"):
        accuracy([0, 1], [0])
    with pytest.raises(DataError, match="integer class ids"):
        accuracy([0.5], [0.5])
    with pytest.raises(DataError, match="at least one label"):
        accuracy([], [])
