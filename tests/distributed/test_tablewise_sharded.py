"""Sharded training of a table model over 2 gloo processes equals single-process training
(`embedlayer.train.fit` with the same row-wise optimizer) within 1e-6, table-wise and row-wise;
a table-wise table lives on one rank only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from spawned import spawn

pytestmark = pytest.mark.slow


def _data():
    """A small table: 3 categorical columns (one a bag), a number, a numeric target."""
    from embedlayer.tabular import SpecOptions
    from embedlayer.tabular.read import Table

    rng = np.random.default_rng(0)
    n = 203  # uneven batches: 64, 64, 64, 11 (split 32/32 and 5/6 between the ranks)
    a, b = rng.integers(0, 30, n), rng.integers(0, 9, n)
    tags = [" ".join(f"t{t}" for t in rng.integers(0, 12, rng.integers(1, 4))) for _ in range(n)]
    x = rng.normal(size=n)
    y = 0.1 * a - 0.3 * b + x + rng.normal(scale=0.1, size=n)
    cols = {"a": a, "b": b, "tags": tags, "x": x, "y": y}
    table = Table({k: np.array([str(v) for v in c], dtype=object) for k, c in cols.items()}, "synthetic", 2)
    options = SpecOptions(target="y", categorical=("a", "b"), numeric=("x",), multi={"tags": None}, bins=0)
    return table, options


def _pipeline():
    from embedlayer.tabular import ModelSettings, TabularPipeline

    table, options = _data()
    settings = ModelSettings(kind="mlp", hidden=(8,), dropout=0.0, batch_norm=False, seed=0)
    return TabularPipeline.build(table, options, settings), table


CFG = dict(epochs=2, batch_size=64, lr=1e-2, embedding_lr=5e-2, sparse_optimizer="adam", patience=None, seed=0)


def _sharded(group, out: Path) -> None:
    from embedlayer.tabular.sharded import shard_tables, unshard_tables
    from embedlayer.train import TrainConfig

    for layout in ("table", "row"):
        pipeline, table = _pipeline()
        if layout == "table":  # each table whole on one rank, the others hold none of its rows
            full = [m.weight.shape for m in (*pipeline.model.tables, *pipeline.model.bags)]
            placed = shard_tables(pipeline.model, group, "table")
            rows = [int(m.weight.shape[0]) for m in placed.modules]
            # placement: rank 0 the largest table ("a"), rank 1 the two others
            assert placed.layout == "table"
            assert rows == ([full[0][0], 0, 0] if group.rank == 0 else [0, full[1][0], full[2][0]])
            assert all(layer.weight.numel() == 0 for _, _, layer in placed.originals)  # rows live in the shards
            unshard_tables(pipeline.model, placed)
            assert [m.weight.shape for m in (*pipeline.model.tables, *pipeline.model.bags)] == full
        pipeline.fit(table, table, TrainConfig(**CFG), group=group, shard_layout=layout)
        if group.rank == 0:
            save_file({k: v.contiguous() for k, v in pipeline.model.state_dict().items()}, str(out / f"{layout}.st"))
    _batch_norm(group)


def _batch_norm(group) -> None:
    """With batch norm every rank gets >= 2 rows of each batch: 203 rows in batches of 50 leave a last
    batch of 3 (1 row on rank 0), which joins the one before; a batch size below 2 per rank is refused."""
    from embedlayer.errors import ConfigError
    from embedlayer.tabular import ModelSettings, TabularPipeline
    from embedlayer.train import TrainConfig

    table, options = _data()
    pipeline = TabularPipeline.build(table, options, ModelSettings(kind="mlp", hidden=(8,), seed=0))
    with pytest.raises(ConfigError, match=r"--batch-size 3 with --shard-tables over 2 processes"):
        pipeline.fit(table, table, TrainConfig(**{**CFG, "batch_size": 3}), group=group)
    result = pipeline.fit(table, table, TrainConfig(**{**CFG, "batch_size": 50}), group=group)
    assert result.global_step == 8  # 4 batches an epoch
    assert all(bool(torch.isfinite(v).all()) for v in pipeline.model.state_dict().values())


def test_sharded_training_equals_one_process(tmp_path: Path) -> None:
    from embedlayer.train import TrainConfig

    spawn(_sharded, 2, tmp_path)
    pipeline, table = _pipeline()
    pipeline.fit(table, table, TrainConfig(**CFG))
    single = pipeline.model.state_dict()
    for layout in ("table", "row"):
        sharded = load_file(str(tmp_path / f"{layout}.st"))
        assert sorted(sharded) == sorted(single)
        for key, value in single.items():
            assert torch.allclose(sharded[key], value, atol=1e-6, rtol=0), (layout, key)
    start = _pipeline()[0].model.state_dict()
    assert not torch.allclose(start["tables.0.weight"], single["tables.0.weight"], atol=1e-3)  # it trained
