"""Checks of ShardedEmbedding, run on every rank by test_sharded_tables.py and test_nccl.py:
outputs, gradients (dense and row) and several steps of each row-wise optimizer equal one process
on the concatenated batches, within 1e-6; DDP beside it; an out-of-range id fails every rank."""

from __future__ import annotations

import pytest
import torch

from embedlayer.distributed import ShardedEmbedding, dense_parameters, exclude_from_ddp, make_sharded_optimizer
from embedlayer.errors import IdOutOfRangeError
from embedlayer.layers import Embedding
from embedlayer.sparse import make_sparse_optimizer

TOL = {"atol": 1e-6, "rtol": 0.0}


def batches(world_size: int, n_rows: int, step: int, padding_idx: int | None) -> list[torch.Tensor]:
    """One batch per rank: duplicates, the padding id, other shapes, and an empty batch on one rank."""
    g = torch.Generator().manual_seed(100 + step)
    out = []
    for r in range(world_size):
        if world_size > 1 and r == step % world_size:
            out.append(torch.zeros(0, dtype=torch.long))  # empty batch on one rank each step
            continue
        shape = (3, 4) if r % 2 else (5 + r,)
        ids = torch.randint(0, n_rows, shape, generator=g)
        ids.view(-1)[0] = ids.view(-1)[-1]  # a duplicate
        if padding_idx is not None:
            ids.view(-1)[1] = padding_idx
        out.append(ids)
    return out


def loss_of(rows: torch.Tensor, head: torch.nn.Module | None, step: int, rank: int) -> torch.Tensor:
    """A rank's loss: squared error of a dense head over its rows (a summed loss); ``head`` None:
    ``rows`` are already the head's output."""
    out = (rows if head is None else head(rows)).squeeze(-1)
    target = torch.linspace(-1, 1, out.numel()).reshape(out.shape) * (step + rank + 1)
    return ((out - target) ** 2).sum()


def _check_embedding(group, n_rows: int, dim: int, padding_idx: int | None, names: list[str]) -> None:
    W, rank = group.world_size, group.rank
    for name in names:
        ref = Embedding(n_rows, dim, padding_idx=padding_idx, generator=torch.Generator().manual_seed(7))
        table = ShardedEmbedding(n_rows, dim, padding_idx=padding_idx, group=group, seed=7)
        assert (table.row_start, table.row_stop) == table.shard.range(rank)
        torch.testing.assert_close(table.full_weight(), ref.weight.detach(), atol=0.0, rtol=0.0)
        torch.manual_seed(0)
        ref_head = torch.nn.Linear(dim, 1)
        head = torch.nn.Linear(dim, 1)
        head.load_state_dict(ref_head.state_dict())
        # gradients without an optimizer: sparse row gradient on the shard, dense head gradient
        parts = batches(W, n_rows, 0, padding_idx)
        out = table(parts[rank])
        torch.testing.assert_close(out, ref(parts[rank]), **TOL)
        loss_of(out, head, 0, rank).backward()
        sum(loss_of(ref(p), ref_head, 0, r) for r, p in enumerate(parts)).backward()
        grad = table.weight.grad.to_dense()
        torch.testing.assert_close(grad, ref.weight.grad[table.row_start : table.row_stop], **TOL)
        head_grad = head.weight.grad.clone()
        torch.distributed.all_reduce(head_grad)
        torch.testing.assert_close(head_grad, ref_head.weight.grad, **TOL)
        table.weight.grad = None
        ref.weight.grad = None
        # several steps of the row-wise optimizer, bound (updates at the end of backward)
        opt = make_sharded_optimizer(name, [table], lr=0.05)
        ref_opt = make_sparse_optimizer(name, ref, lr=0.05).bind()
        for step in range(1, 4):
            parts = batches(W, n_rows, step, padding_idx)
            loss_of(table(parts[rank]), head, step, rank).backward()
            sum(loss_of(ref(p), ref_head, step, r) for r, p in enumerate(parts)).backward()
            opt.step()
            ref_opt.step()
            torch.testing.assert_close(table.full_weight(), ref.weight.detach(), **TOL, msg=f"{name} step {step}")
        state = opt.state_for(table)
        ref_state = ref_opt.state[ref.weight]
        for key, value in state.items():  # accumulators of squared gradients: large, so also relative
            expected = ref_state[key][table.row_start : table.row_stop]
            torch.testing.assert_close(value, expected, atol=1e-6, rtol=1e-6, msg=f"{name} state {key}")
        assert opt.step_count(table) == ref_state["step"] == 3
        if padding_idx is not None:
            assert not table.full_weight()[padding_idx].any()


def _check_ddp(group) -> None:
    """Under DDP the dense head is averaged over ranks and the shard is left out of DDP: it keeps
    its own rows, and its bound optimizer still trains them."""
    from torch.nn.parallel import DistributedDataParallel

    W, rank = group.world_size, group.rank
    model = torch.nn.Sequential(ShardedEmbedding(6, 3, group=group, seed=1), torch.nn.Linear(3, 1))
    ref = Embedding(6, 3, padding_idx=None, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    ref_head = torch.nn.Linear(3, 1)
    model[1].load_state_dict(ref_head.state_dict())
    assert exclude_from_ddp(model) == ["0.weight"]
    assert [p.shape for p in dense_parameters(model)] == [p.shape for p in ref_head.parameters()]
    ddp = DistributedDataParallel(model)
    opt = make_sharded_optimizer("adam", model[0], lr=0.1, fused=False)  # applied by step()
    ref_opt = make_sparse_optimizer("adam", ref, lr=0.1).bind()
    parts = batches(W, 6, 1, None)
    loss_of(ddp(parts[rank]), None, 1, rank).backward()
    sum(loss_of(ref_head(ref(p)), None, 1, r) for r, p in enumerate(parts)).backward()
    assert not torch.equal(model[0].full_weight(), ref.weight.detach())  # not yet: step() applies
    opt.step()
    ref_opt.step()  # fused: nothing left to apply
    torch.testing.assert_close(model[0].full_weight(), ref.weight.detach(), **TOL)
    torch.testing.assert_close(model[1].weight.grad * W, ref_head.weight.grad, atol=1e-6, rtol=1e-6)  # DDP averages


def embedding_worker(group, cases, ddp: bool = True) -> None:
    for n_rows, dim, padding_idx, names in cases:
        _check_embedding(group, n_rows, dim, padding_idx, names)
    if ddp:
        _check_ddp(group)
    # an out-of-range id on the last rank fails every rank, naming that rank and the id
    table = ShardedEmbedding(5, 2, group=group)
    last = group.world_size - 1
    ids = torch.tensor([[0, 1], [2, 5]]) if group.rank == last else torch.tensor([4])
    with pytest.raises(IdOutOfRangeError, match=rf"id 5 on rank {last} \(position 3 "):
        table(ids)
