"""explain: the returned numbers are the right ones (small sizes)."""

from __future__ import annotations

import pytest
import torch

from embedlayer.errors import ConfigError, IdOutOfRangeError
from embedlayer.explain import cost_comparison, onehot_equivalence, sparse_step_rows


@pytest.mark.parametrize(("V", "D", "n", "seed"), [(1, 1, 1, 0), (30, 7, 100, 1), (200, 16, 50, 2)])
def test_onehot_equivalence_differences_are_tiny(V: int, D: int, n: int, seed: int) -> None:
    result = onehot_equivalence(V, D, n, seed)
    assert result["max_abs_diff_output"] <= 1e-6
    assert result["max_abs_diff_grad"] <= 1e-5
    assert (result["V"], result["D"], result["n_ids"], result["seed"]) == (V, D, n, seed)
    assert result["onehot_multiply_adds"] == n * V * D


def test_cost_comparison_bytes_are_the_tensor_sizes() -> None:
    rows = cost_comparison((50, 500), D=8, batch=64, seed=0, repeats=1, max_onehot_elements=10_000)
    small, big = rows
    assert small["batch"] == 64 and not small["batch_reduced"]
    assert small["onehot_input_bytes"] == 64 * 50 * 4 == small["onehot_input_bytes_requested"]
    assert small["dense_grad_bytes"] == 50 * 8 * 4
    assert small["sparse_grad_bytes"] == 64 * 8 + 64 * 8 * 4  # int64 index + float32 row per id
    assert small["output_bytes"] == 64 * 8 * 4
    assert small["onehot_multiply_adds"] == 2 * 64 * 50 * 8
    # 64 x 500 > 10,000 elements: the batch is reduced to 10,000 // 500 = 20 and says so
    assert big["batch"] == 20 and big["batch_reduced"] and big["batch_requested"] == 64
    assert big["onehot_input_bytes"] == 20 * 500 * 4
    assert big["onehot_input_bytes_requested"] == 64 * 500 * 4
    assert big["dense_grad_bytes"] == 500 * 8 * 4 and big["sparse_grad_bytes"] == 20 * (8 + 8 * 4)
    for row in rows:
        assert row["lookup_seconds"] > 0 and row["onehot_seconds"] > 0 and row["lookup_sparse_seconds"] > 0
        assert row["speedup"] == pytest.approx(row["onehot_seconds"] / row["lookup_seconds"])


def test_cost_comparison_errors() -> None:
    with pytest.raises(ConfigError, match="vocab_size must be a positive int, got 0"):
        cost_comparison((0,))
    with pytest.raises(ConfigError, match="vocab_sizes is empty"):
        cost_comparison(())


def test_sparse_step_changes_exactly_the_batch_rows() -> None:
    result = sparse_step_rows(20, 4, [3, 3, 11, 0, 11, 19], lr=0.1, seed=0)
    assert result["rows_in_batch"] == [0, 3, 11, 19]
    assert result["rows_changed"] == [0, 3, 11, 19]
    assert result["equal"] is True
    assert result["grad_rows_stored"] == 6  # one gradient row per occurrence before coalescing


def test_sparse_step_accepts_a_2d_tensor() -> None:
    result = sparse_step_rows(10, 2, torch.tensor([[1, 2], [2, 9]]), lr=1.0, seed=5)
    assert result["rows_changed"] == [1, 2, 9] and result["equal"]


def test_sparse_step_errors() -> None:
    with pytest.raises(IdOutOfRangeError, match="id 10"):
        sparse_step_rows(10, 2, [10])
    with pytest.raises(ConfigError, match="ids is empty"):
        sparse_step_rows(10, 2, [])
    with pytest.raises(ConfigError, match="ids must be ints"):
        sparse_step_rows(10, 2, [1.5])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="lr must be a positive number"):
        sparse_step_rows(10, 2, [1], lr=0)
