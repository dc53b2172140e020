"""Sharded tables over 2 and 3 gloo processes equal one process on the concatenated batches
(the checks are in embedding_checks.py and bag_checks.py; one spawn per world size runs both).

2 ranks: 11 rows (6 + 5) with the padding row on rank 1, every optimizer; bags of 9 rows (5 + 4),
sum and mean. 3 ranks: 10 rows (4 + 4 + 2) and N < W (2 rows: 1 + 1 + 0); bags with the padding
row on the last shard. Every step has an empty batch on one rank.
"""

from __future__ import annotations

from bag_checks import bag_worker
from dist_harness import spawn
from embedding_checks import embedding_worker


def _both(group, embedding_cases, bag_cases) -> None:
    embedding_worker(group, embedding_cases)
    bag_worker(group, bag_cases)


def test_sharded_tables_equal_one_process_2_ranks():
    spawn(
        _both,
        2,
        [(11, 4, 7, ["sgd", "adagrad", "rowwise-adagrad", "adam"])],
        [(9, 3, 4, "sum", ["sgd", "adam"]), (9, 3, None, "mean", ["rowwise-adagrad"])],
    )


def test_sharded_tables_equal_one_process_3_ranks():
    spawn(
        _both,
        3,
        [(10, 3, 0, ["adam", "rowwise-adagrad"]), (2, 3, None, ["sgd", "adagrad"])],
        [(10, 2, 9, "mean", ["adagrad", "adam"]), (10, 2, 0, "sum", ["rowwise-adagrad"])],
    )
