"""Checks of ShardedEmbeddingBag, run on every rank by test_sharded_tables.py and test_nccl.py:
equal to one process's EmbeddingBag (sum, mean, per-sample weights, padding, duplicates, empty
bags and batches) within 1e-6, and bad ids fail on every rank naming the rank and the id."""

from __future__ import annotations

import pytest
import torch

from embedlayer.distributed import ShardedEmbeddingBag, make_sharded_optimizer
from embedlayer.errors import ConfigError, IdOutOfRangeError
from embedlayer.layers import EmbeddingBag
from embedlayer.sparse import make_sparse_optimizer

TOL = {"atol": 1e-6, "rtol": 0.0}


def bag_batches(world_size: int, n_rows: int, step: int, padding_idx: int | None):
    """Per rank (ids, offsets or None, weights or None): flat bags with an empty bag, fixed-size
    2-D bags, duplicates inside a bag and across bags, the padding id, and one empty batch."""
    g = torch.Generator().manual_seed(200 + step)
    out = []
    for r in range(world_size):
        if world_size > 1 and r == (step + 1) % world_size:  # an empty batch: no ids, no bags
            out.append((torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), None))
            continue
        if r % 2 == 0:
            ids = torch.randint(0, n_rows, (9,), generator=g)
            ids[1] = ids[0]  # duplicate inside the first bag
            ids[5] = ids[0]  # and in another bag
            if padding_idx is not None:
                ids[3] = padding_idx
            offsets = torch.tensor([0, 3, 3, 7])  # bag 1 is empty
        else:
            ids = torch.randint(0, n_rows, (3, 4), generator=g)
            ids[2] = ids[2, 0]  # one bag of a single id repeated
            offsets = None
        weights = torch.rand(ids.shape, generator=g) + 0.25 if step % 2 else None
        out.append((ids, offsets, weights))
    return out


def _check_bags(group, n_rows: int, dim: int, padding_idx: int | None, mode: str, names: list[str]) -> None:
    W, rank = group.world_size, group.rank
    for name in names:
        ref = EmbeddingBag(n_rows, dim, mode=mode, padding_idx=padding_idx, generator=torch.Generator().manual_seed(3))
        table = ShardedEmbeddingBag(n_rows, dim, mode=mode, padding_idx=padding_idx, group=group, seed=3)
        torch.testing.assert_close(table.full_weight(), ref.weight.detach(), atol=0.0, rtol=0.0)
        torch.manual_seed(1)
        ref_head, head = torch.nn.Linear(dim, 2), torch.nn.Linear(dim, 2)
        head.load_state_dict(ref_head.state_dict())

        def loss(out, h, step, r):
            return 0.1 * ((h(out) - 0.1 * (step + r)) ** 2).sum()

        parts = bag_batches(W, n_rows, 1, padding_idx)  # weighted, no optimizer: gradients
        out = table(*parts[rank])
        torch.testing.assert_close(out, ref(*parts[rank]), **TOL)
        loss(out, head, 1, rank).backward()
        sum(loss(ref(*p), ref_head, 1, r) for r, p in enumerate(parts)).backward()
        grad = table.weight.grad.to_dense()
        torch.testing.assert_close(grad, ref.weight.grad[table.row_start : table.row_stop], **TOL)
        head_grad = head.weight.grad.clone()
        torch.distributed.all_reduce(head_grad)
        torch.testing.assert_close(head_grad, ref_head.weight.grad, **TOL)
        table.weight.grad = ref.weight.grad = None
        opt = make_sharded_optimizer(name, table, lr=0.05)
        ref_opt = make_sparse_optimizer(name, ref, lr=0.05).bind()
        for step in range(2, 5):
            parts = bag_batches(W, n_rows, step, padding_idx)
            loss(table(*parts[rank]), head, step, rank).backward()
            sum(loss(ref(*p), ref_head, step, r) for r, p in enumerate(parts)).backward()
            opt.step()
            ref_opt.step()
            torch.testing.assert_close(table.full_weight(), ref.weight.detach(), **TOL, msg=f"{mode} {name} {step}")
        for key, value in opt.state_for(table).items():
            expected = ref_opt.state[ref.weight][key][table.row_start : table.row_stop]
            torch.testing.assert_close(value, expected, atol=1e-6, rtol=1e-6, msg=f"{name} state {key}")


def _check_bad_ids(group) -> None:
    """An out-of-range id on one rank raises IdOutOfRangeError on every rank, naming that rank
    and the id; the group stays usable."""
    table = ShardedEmbeddingBag(7, 2, mode="sum", group=group)
    last = group.world_size - 1
    for bad in (7, -1):
        ids = torch.tensor([1, bad, 2]) if group.rank == last else torch.tensor([0, 3])
        with pytest.raises(IdOutOfRangeError, match=rf"id {bad} on rank {last} \(position 1 "):
            table(ids, torch.tensor([0]))
    with pytest.raises(ConfigError, match="per_sample_weights require a gradient"):
        table(torch.tensor([[1, 2]]), None, torch.ones(1, 2, requires_grad=True))
    out = table(torch.tensor([[group.rank, 6]]))  # the next lookup works on every rank
    torch.testing.assert_close(out, table.full_weight()[[group.rank, 6]].sum(0, keepdim=True))


def bag_worker(group, cases) -> None:
    for case in cases:
        _check_bags(group, *case)
    _check_bad_ids(group)
