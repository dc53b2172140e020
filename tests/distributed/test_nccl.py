"""The same equality checks as the gloo tests, over NCCL (one GPU per rank: one rank on a machine
with one GPU, two with two; skipped without CUDA). The tables stay on the CPU; the exchanged
tensors go through the GPUs."""

from __future__ import annotations

import pytest
import torch
from bag_checks import bag_worker
from dist_harness import spawn
from embedding_checks import embedding_worker

GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(GPUS < 1, reason="NCCL needs CUDA (one GPU per rank)")]

EMBEDDING_CASES = [(11, 4, 7, ["sgd", "adam"]), (1, 3, None, ["adagrad"])]
BAG_CASES = [(9, 3, 4, "sum", ["adam"]), (9, 3, None, "mean", ["rowwise-adagrad"])]


def test_one_rank_over_nccl_equals_one_process():
    spawn(embedding_worker, 1, EMBEDDING_CASES, False, backend="nccl")
    spawn(bag_worker, 1, BAG_CASES, backend="nccl")


@pytest.mark.skipif(GPUS < 2, reason="two NCCL ranks need two GPUs")
def test_two_ranks_over_nccl_equal_one_process():
    spawn(embedding_worker, 2, EMBEDDING_CASES, False, backend="nccl")
    spawn(bag_worker, 2, BAG_CASES, backend="nccl")
