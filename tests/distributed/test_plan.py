"""The row-wise plan, the shard initialisation and the group's checks (no processes started)."""

from __future__ import annotations

import itertools

import pytest
import torch

from embedlayer.distributed import RowShard, ShardGroup, shard_init
from embedlayer.distributed import init as init_module
from embedlayer.errors import ConfigError, DistributedError
from embedlayer.layers import Embedding


@pytest.mark.parametrize(
    ("n", "w", "sizes"),
    [(10, 4, [3, 3, 3, 1]), (2, 3, [1, 1, 0]), (9, 3, [3, 3, 3]), (1, 1, [1]), (5, 4, [2, 2, 1, 0])],
)
def test_row_shard_ranges_cover_the_table_once(n, w, sizes):
    shard = RowShard(n, w)
    assert shard.rows_per_rank == -(-n // w)
    assert shard.sizes() == sizes
    ranges = [shard.range(r) for r in range(w)]
    covered = [i for start, stop in ranges for i in range(start, stop)]
    assert covered == list(range(n))
    owners = shard.owner(torch.arange(n))
    for r, (start, stop) in enumerate(ranges):
        assert owners[start:stop].tolist() == [r] * (stop - start)


def test_row_shard_refuses_bad_values():
    with pytest.raises(ConfigError, match="num_rows must be a positive int, got 0"):
        RowShard(0, 2)
    with pytest.raises(ConfigError, match=r"rank must be an int in \[0, 2\), got 2"):
        RowShard(4, 2).range(2)


def test_shard_init_equals_the_rows_of_an_embedding(monkeypatch):
    # tiny blocks, so small tables are drawn block by block as a huge one is
    monkeypatch.setattr(init_module, "_BLOCK_VALUES", 64)
    for (n, d), init in itertools.product(
        [(5, 3), (97, 3), (100, 7), (1000, 5), (33, 16)], ["normal", "uniform", "xavier"]
    ):
        ref = Embedding(n, d, padding_idx=None, init=init, std=0.5, generator=torch.Generator().manual_seed(3))
        for start, stop in [(0, n), (0, n // 3), (n // 3, 2 * n // 3), (n - 1, n), (n, n)]:
            got = shard_init(n, d, start, stop, init=init, std=0.5, generator=torch.Generator().manual_seed(3))
            assert torch.equal(got, ref.weight.detach()[start:stop]), (n, d, init, start, stop)


def test_group_needs_an_initialised_process_group(monkeypatch):
    with pytest.raises(DistributedError, match="torch.distributed is not initialised"):
        ShardGroup.current()
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT not set"):
        ShardGroup.from_env()
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match="timeout_s must be a positive number of seconds, got 0"):
        ShardGroup.from_env(timeout_s=0)


def test_sharded_tables_check_their_settings_before_the_group():
    from embedlayer.distributed import ShardedEmbedding, ShardedEmbeddingBag

    with pytest.raises(ConfigError, match="mode must be one of sum, mean, got 'max'"):
        ShardedEmbeddingBag(10, 2, mode="max")
    with pytest.raises(ConfigError, match=r"padding_idx must be None or an int in \[0, 10\), got 10"):
        ShardedEmbedding(10, 2, padding_idx=10)
    with pytest.raises(ConfigError, match="embedding_dim must be a positive int, got 0"):
        ShardedEmbedding(10, 0)
    with pytest.raises(DistributedError, match="torch.distributed is not initialised"):
        ShardedEmbedding(10, 2)
