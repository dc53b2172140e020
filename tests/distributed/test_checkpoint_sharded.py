"""Sharded checkpoints: written by 2 ranks, loaded by 3, saved, loaded by 1: bit-equal tables and
optimizer state; export to a native vectors folder; clear errors for bad checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file
from spawned import spawn

from embedlayer.distributed.checkpoint import META, read_sharded_meta, read_table_rows

pytestmark = pytest.mark.slow

A = torch.randn(11, 4, generator=torch.Generator().manual_seed(1))  # table "a", padding row 0
B = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))  # bag "b", no padding row


def _tables(group, a=A, b=B):
    from embedlayer.distributed import ShardedEmbedding, ShardedEmbeddingBag, make_sharded_optimizer

    ta = ShardedEmbedding.from_full(a, group, padding_idx=0)
    tb = ShardedEmbeddingBag.from_full(b, group, padding_idx=None, mode="sum")
    return {"a": ta, "b": tb}, make_sharded_optimizer("adam", [ta, tb], lr=0.1)


def _train(tables, group) -> None:
    """Two steps touching every row (ids differ per rank, some duplicated)."""
    for step in range(2):
        ids = (torch.arange(11) * (group.rank + 1) + step) % 11
        bag_ids = torch.tensor([0, 1, 2, 3, 4, 4])[group.rank :]
        loss = (tables["a"](ids) * torch.arange(4.0)).sum() + tables["b"](bag_ids, torch.tensor([0, 2])).pow(2).sum()
        loss.backward()


def _round_trip(group, tmp: Path) -> None:
    from embedlayer.distributed import ShardGroup
    from embedlayer.distributed.checkpoint import load_sharded, save_sharded

    pair, solo = dist.new_group([0, 1]), dist.new_group([0])
    if group.rank < 2:
        g2 = ShardGroup(pair)
        tables, opt = _tables(g2)
        _train(tables, g2)
        save_sharded(tmp / "w2", tables, opt, g2)
    group.barrier()
    tables, opt = _tables(group, torch.zeros(11, 4), torch.zeros(5, 3))
    load_sharded(tmp / "w2", tables, opt, group)
    save_sharded(tmp / "w3", tables, opt, group)
    group.barrier()
    if group.rank == 0:
        g1 = ShardGroup(solo)
        tables, opt = _tables(g1, torch.zeros(11, 4), torch.zeros(5, 3))
        load_sharded(tmp / "w3", tables, opt, g1)
        save_sharded(tmp / "w1", tables, opt, g1)
        _errors(g1, tmp)
    group.barrier()


def _state(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint, rows of all shards concatenated in rank order."""
    meta = read_sharded_meta(folder)
    parts = [load_file(str(folder / f)) for f in meta["files"]]
    keys = sorted({k for p in parts for k in p})
    return {k: torch.cat([p[k] for p in parts if k in p]) for k in keys}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Checkpoints w2, w3, w1 (one spawn of 3 processes; the error cases run there too)."""
    tmp = tmp_path_factory.mktemp("sharded")
    spawn(_round_trip, 3, tmp)
    return tmp


def test_two_three_one_round_trip_is_exact(saved: Path) -> None:
    tmp_path = saved
    w2, w1 = _state(tmp_path / "w2"), _state(tmp_path / "w1")
    assert (
        sorted(w2)
        == sorted(w1)
        == [
            "state/a/exp_avg",
            "state/a/exp_avg_sq",
            "state/a/row_step",
            "state/b/exp_avg",
            "state/b/exp_avg_sq",
            "state/b/row_step",
            "table/a",
            "table/b",
        ]
    )
    for key in w2:
        assert torch.equal(w2[key], w1[key]), key
    assert not torch.equal(w2["table/a"], A)  # training moved the rows...
    assert torch.equal(w2["table/a"][0], torch.zeros(4))  # ...but never the padding row
    assert bool((w2["state/a/row_step"][1:] > 0).all())  # every other row was trained
    meta2, meta3, meta1 = (read_sharded_meta(tmp_path / w) for w in ("w2", "w3", "w1"))
    assert meta3["tables"]["a"]["ranges"] == [[0, 4], [4, 8], [8, 11]]
    assert meta2["tables"]["b"]["ranges"] == [[0, 3], [3, 5]]
    assert meta1["world_size"] == 1 and meta1["tables"]["a"]["rows"] == 11
    assert meta2["optimizer"]["name"] == "adam" and meta2["optimizer"]["hyper"]["lr"] == 0.1
    assert meta1["optimizer_scalars"][0]["a"] == meta2["optimizer_scalars"][0]["a"]
    assert torch.equal(read_table_rows(tmp_path / "w3", "a", 3, 9), w2["table/a"][3:9])


def test_export_native_equals_the_full_table(saved: Path, tmp_path: Path) -> None:
    from embedlayer.distributed.export import export_native
    from embedlayer.errors import ConfigError
    from embedlayer.vectors.native import open_native

    words = [f"w{i}" for i in range(11)]
    for ck in ("w2", "w3"):
        export_native(saved / ck, tmp_path / ck, table="a", words=words)
        table = open_native(tmp_path / ck)
        assert list(table.words) == words
        assert torch.equal(torch.from_numpy(table.matrix[:].copy()), _state(saved / "w2")["table/a"])
    export_native(saved / "w2", tmp_path / "b", table="b")
    assert list(open_native(tmp_path / "b").words) == ["0", "1", "2", "3", "4"]
    with pytest.raises(ConfigError, match="already exists"):
        export_native(saved / "w2", tmp_path / "w2", table="a")
    with pytest.raises(ConfigError, match="3 given for table 'a' of 11 rows"):
        export_native(saved / "w2", tmp_path / "v2", table="a", words=["x", "y", "z"])
    with pytest.raises(ConfigError, match="table 'c'"):
        export_native(saved / "w2", tmp_path / "v2", table="c")


def _errors(group, tmp: Path) -> None:
    """Clear errors: an existing folder without force, another shape, an unknown version, a corrupt
    and a missing shard, no checkpoint."""
    from embedlayer.distributed.checkpoint import load_sharded, save_sharded
    from embedlayer.errors import ConfigError, FormatError

    tables, opt = _tables(group)
    save_sharded(tmp / "ok", tables, opt, group)
    assert (tmp / "ok" / META).is_file()
    with pytest.raises(ConfigError, match=r"already holds 2 entries .*pass force"):
        save_sharded(tmp / "ok", tables, opt, group)
    save_sharded(tmp / "ok", tables, opt, group, force=True)
    small, _ = _tables(group, torch.zeros(10, 4))
    with pytest.raises(ConfigError, match=r"table 'a': .* has shape 11 x 4; the module is 10 x 4"):
        load_sharded(tmp / "ok", small)
    meta = json.loads((tmp / "ok" / META).read_text())
    (tmp / "v9").mkdir()
    (tmp / "v9" / META).write_text(json.dumps({**meta, "version": 9}))
    with pytest.raises(FormatError, match=r"v9/sharded.json: version 9; this embedlayer reads version 1"):
        load_sharded(tmp / "v9", tables)
    shard = tmp / "ok" / meta["files"][0]
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(FormatError, match=r"shard-00000-of-00001.safetensors: not a readable safetensors file"):
        load_sharded(tmp / "ok", tables, opt)
    shard.unlink()
    with pytest.raises(FormatError, match=r"shard-00000-of-00001.safetensors: missing; .* rank 0 wrote rows 0..11"):
        load_sharded(tmp / "ok", tables)
    with pytest.raises(FormatError, match=r"nothing/sharded.json: missing"):
        load_sharded(tmp / "nothing", tables)
