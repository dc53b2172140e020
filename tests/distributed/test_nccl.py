"""The same equality checks as the gloo tests, over NCCL (one GPU per rank; skipped without two)."""

from __future__ import annotations

import pytest
import torch
from dist_harness import spawn
from test_sharded_bag import _bag_worker
from test_sharded_embedding import _embedding_worker

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available() or torch.cuda.device_count() < 2,
        reason="NCCL needs CUDA and one GPU per rank (two here)",
    ),
]


def test_sharded_embedding_over_nccl_equals_one_process():
    spawn(_embedding_worker, 2, [(11, 4, 7, ["sgd", "adam"]), (1, 3, None, ["adagrad"])], False, backend="nccl")


def test_sharded_bag_over_nccl_equals_one_process():
    spawn(_bag_worker, 2, [(9, 3, 4, "sum", ["adam"]), (9, 3, None, "mean", ["rowwise-adagrad"])], backend="nccl")
