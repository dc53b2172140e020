"""Bags: sum / mean / max with per-id weights in every mode, against an explicit loop."""

import pytest
import torch

from embedlayer.kernels.bag import embedding_bag
from embedlayer.layers import EmbeddingBag
from embedlayer.sparse import SparseSGD

V, D = 17, 5


def explicit_loop(weight, ids, bounds, mode, psw, padding_idx):
    """Each bag on its own, with torch ops autograd differentiates: the definition, spelled out."""
    outs = []
    for b in range(len(bounds) - 1):
        items = [i for i in range(bounds[b], bounds[b + 1]) if int(ids[i]) != padding_idx]
        if not items:
            outs.append(torch.zeros(weight.shape[1]))
            continue
        w = [psw[i] if psw is not None else torch.tensor(1.0) for i in items]
        rows = torch.stack([w[k] * weight[int(ids[i])] for k, i in enumerate(items)])  # (n, D)
        if mode == "sum":
            outs.append(rows.sum(0))
        elif mode == "mean":
            total = torch.stack(w).sum()
            outs.append(rows.sum(0) / total if float(total.detach()) != 0 else torch.zeros(weight.shape[1]))
        else:
            outs.append(rows.max(0).values)
    return torch.stack(outs)


def random_bags(seed):
    gen = torch.Generator().manual_seed(seed)
    sizes = torch.randint(0, 6, (7,), generator=gen).tolist()
    sizes[2] = 0  # an empty bag
    ids = torch.randint(0, V, (sum(sizes),), generator=gen)
    ids[::4] = 0  # padding ids sprinkled in
    starts = torch.tensor([0] + sizes[:-1]).cumsum(0)
    return ids, starts, [0, *torch.tensor(sizes).cumsum(0).tolist()], gen


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_forward_and_backward_equal_the_explicit_loop(mode, weighted, seed):
    ids, offsets, bounds, gen = random_bags(seed)
    weight = torch.randn(V, D, generator=gen, requires_grad=True)
    psw = (torch.rand(ids.shape[0], generator=gen) * 2 - 0.5).requires_grad_(True) if weighted else None
    out = embedding_bag(weight, ids, offsets, mode=mode, per_sample_weights=psw, padding_idx=0)
    grad_out = torch.randn(out.shape, generator=gen)
    (out * grad_out).sum().backward()
    weight_ref = weight.detach().clone().requires_grad_(True)
    psw_ref = psw.detach().clone().requires_grad_(True) if weighted else None
    ref = explicit_loop(weight_ref, ids, bounds, mode, psw_ref, padding_idx=0)
    (ref * grad_out).sum().backward()
    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.allclose(weight.grad, weight_ref.grad, atol=1e-6)
    assert (weight.grad[0] == 0).all()  # padding row: no gradient
    if weighted:
        assert torch.allclose(psw.grad, psw_ref.grad, atol=1e-5)
        assert (psw.grad[ids == 0] == 0).all()
    assert (out[2] == 0).all()  # the empty bag


def test_mean_with_weights_is_the_weighted_mean_and_zero_weight_bags_are_zero():
    weight = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 6.0]])
    ids, offsets = torch.tensor([1, 2, 1, 2]), torch.tensor([0, 2])
    psw = torch.tensor([1.0, 3.0, 0.0, 0.0])
    out = embedding_bag(weight, ids, offsets, mode="mean", per_sample_weights=psw)
    assert torch.allclose(out, torch.tensor([[2.5, 5.0], [0.0, 0.0]]))


def test_fixed_size_bags_and_include_last_offset_agree_with_flat_form():
    weight = torch.randn(V, D)
    ids2d = torch.randint(0, V, (3, 4))
    flat = embedding_bag(weight, ids2d.reshape(-1), torch.tensor([0, 4, 8]), mode="max")
    assert torch.equal(embedding_bag(weight, ids2d, mode="max"), flat)
    last = embedding_bag(weight, ids2d.reshape(-1), torch.tensor([0, 4, 8, 12]), mode="max", include_last_offset=True)
    assert torch.equal(last, flat)


def test_sum_without_padding_matches_torch_embedding_bag():
    weight = torch.randn(V, D)
    ids, offsets = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6]), torch.tensor([0, 3, 3, 5])
    psw = torch.rand(8)
    ours = embedding_bag(weight, ids, offsets, mode="sum", per_sample_weights=psw)
    theirs = torch.nn.functional.embedding_bag(ids, weight, offsets, mode="sum", per_sample_weights=psw)
    assert torch.allclose(ours, theirs, atol=1e-6)
    for mode in ("mean", "max"):
        assert torch.allclose(
            embedding_bag(weight, ids, offsets, mode=mode),
            torch.nn.functional.embedding_bag(ids, weight, offsets, mode=mode),
            atol=1e-6,
        )


def test_layer_sparse_gradient_equals_dense_and_half_storage_computes_in_float32():
    ids, offsets = torch.tensor([1, 2, 2, 0, 5]), torch.tensor([0, 2])
    dense = EmbeddingBag(V, D, mode="mean", generator=torch.Generator().manual_seed(0))
    sparse = EmbeddingBag(V, D, mode="mean", sparse=True, generator=torch.Generator().manual_seed(0))
    dense(ids, offsets).pow(2).sum().backward()
    sparse(ids, offsets).pow(2).sum().backward()
    assert sparse.weight.grad.is_sparse
    assert torch.allclose(sparse.weight.grad.to_dense(), dense.weight.grad, atol=1e-6)
    half = EmbeddingBag(V, D, mode="sum", dtype=torch.bfloat16, generator=torch.Generator().manual_seed(0))
    out = half(ids, offsets)
    assert out.dtype == torch.float32
    ref = embedding_bag(half.weight.detach().float(), ids, offsets, mode="sum", padding_idx=0)
    assert torch.equal(out, ref)


def test_bag_trained_by_a_fused_optimizer():
    bag = EmbeddingBag(V, D, mode="sum", padding_idx=0, generator=torch.Generator().manual_seed(1))
    before = bag.weight.detach().clone()
    SparseSGD(bag, lr=0.5).bind()
    ids, offsets = torch.tensor([3, 3, 0, 4]), torch.tensor([0, 2])
    psw = torch.tensor([1.0, 2.0, 5.0, -1.0])
    bag(ids, offsets, psw).sum().backward()
    assert bag.weight.grad is None
    expected = before.clone()
    expected[3] -= 0.5 * (1.0 + 2.0)  # duplicates summed with their weights
    expected[4] -= 0.5 * -1.0
    assert torch.allclose(bag.weight.detach(), expected, atol=1e-6)
