"""Embedding: what an embedding layer is (one-hot matmul, sparse row updates), padding, init,
max_norm without touching the weight, and errors on bad ids."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlayer.errors import ConfigError, IdOutOfRangeError
from embedlayer.layers import Embedding


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the proofs -------------------------------------------------------------------------------------
@st.composite
def tables_and_ids(draw):
    V = draw(st.integers(1, 40))
    D = draw(st.integers(1, 12))
    ids = draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=30))
    seed = draw(st.integers(0, 2**31 - 1))
    return V, D, ids, seed


@settings(max_examples=40, deadline=None)
@given(tables_and_ids())
def test_lookup_equals_onehot_matmul_outputs_and_gradients(case) -> None:
    V, D, ids, seed = case
    layer = Embedding(V, D, padding_idx=None, generator=seeded(seed))
    ids_t = torch.tensor(ids)
    upstream = torch.randn(len(ids), D, generator=seeded(seed + 1))  # (n, D)

    out = layer(ids_t)  # (n, D)
    out.backward(upstream)

    weight = layer.weight.detach().clone().requires_grad_(True)  # (V, D)
    dense = F.one_hot(ids_t, V).float() @ weight  # (n, V) @ (V, D)
    dense.backward(upstream)

    assert (out - dense).abs().max().item() <= 1e-6
    assert (layer.weight.grad - weight.grad).abs().max().item() <= 1e-5
    # the gradient row of id v is the sum of the upstream rows where v occurs
    for v in set(ids):
        expected = upstream[[i for i, x in enumerate(ids) if x == v]].sum(0)
        torch.testing.assert_close(layer.weight.grad[v], expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_sgd_step_moves_exactly_the_batch_rows(seed: int) -> None:
    V, D, lr = 50, 6, 0.5
    layer = Embedding(V, D, padding_idx=None, sparse=True, generator=seeded(seed))
    ids = torch.tensor([[3, 17, 3, 42], [17, 3, 8, 8]])  # repeats on purpose
    before = layer.weight.detach().clone()
    upstream = torch.randn(2, 4, D, generator=seeded(seed + 100))
    layer(ids).backward(upstream)
    assert layer.weight.grad.is_sparse
    torch.optim.SGD(layer.parameters(), lr=lr).step()
    after = layer.weight.detach()

    batch = {3, 8, 17, 42}
    others = [r for r in range(V) if r not in batch]
    assert torch.equal(after[others], before[others])  # bit-exact: untouched
    flat_ids, flat_up = ids.flatten().tolist(), upstream.reshape(-1, D)
    for r in batch:
        grad = flat_up[[i for i, x in enumerate(flat_ids) if x == r]].sum(0)
        torch.testing.assert_close(after[r], before[r] - lr * grad)
        assert not torch.equal(after[r], before[r])


# --- padding row ------------------------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd_momentum_wd": (False, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1)),
    "sgd_nesterov": (False, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (False, lambda p: torch.optim.Adam(p, lr=0.05)),
    "adam_amsgrad_wd": (False, lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.1, amsgrad=True)),
    "adamw_wd": (False, lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.5)),
    "adagrad": (False, lambda p: torch.optim.Adagrad(p, lr=0.1, weight_decay=0.1)),
    "rmsprop": (False, lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    "sparse_adam": (True, lambda p: torch.optim.SparseAdam(p, lr=0.05)),
    "sparse_sgd": (True, lambda p: torch.optim.SGD(p, lr=0.1)),
    "sparse_adagrad": (True, lambda p: torch.optim.Adagrad(p, lr=0.1)),
}


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("padding_idx", [0, 5])
def test_padding_row_never_moves(name: str, padding_idx: int) -> None:
    sparse, make = OPTIMIZERS[name]
    layer = Embedding(12, 4, padding_idx=padding_idx, sparse=sparse, generator=seeded(0))
    optimizer = make(layer.parameters())
    start = layer.weight.detach().clone()
    g = seeded(1)
    for _ in range(5):
        ids = torch.randint(0, 12, (3, 6), generator=g)
        ids[:, -2:] = padding_idx  # every batch pads
        optimizer.zero_grad()
        ((layer(ids) - 1.0) ** 2).sum().backward()  # non-zero gradient on the padding positions
        optimizer.step()
    assert torch.equal(layer.weight[padding_idx].detach(), torch.zeros(4))
    assert not torch.equal(layer.weight.detach(), start)  # the other rows did train


def test_padding_row_zero_for_every_init_and_negative_index() -> None:
    for init in ("normal", "uniform", "xavier"):
        layer = Embedding(9, 3, padding_idx=-1, init=init, generator=seeded(0))
        assert layer.padding_idx == 8
        assert torch.equal(layer.weight[8].detach(), torch.zeros(3))
        assert layer.weight[:8].detach().abs().sum() > 0
    out = Embedding(5, 3, generator=seeded(0))(torch.tensor([0, 0]))
    assert torch.equal(out, torch.zeros(2, 3))


# --- init -----------------------------------------------------------------------------------------
def test_init_schemes_have_their_documented_distribution() -> None:
    V, D = 400, 50
    normal = Embedding(V, D, padding_idx=None, init="normal", std=0.5, generator=seeded(0)).weight.detach()
    assert normal.mean().item() == pytest.approx(0.0, abs=0.01)
    assert normal.std().item() == pytest.approx(0.5, rel=0.03)
    default = Embedding(V, D, padding_idx=None, generator=seeded(0)).weight.detach()
    assert default.std().item() == pytest.approx(1.0, rel=0.03)  # torch.nn.Embedding's N(0, 1)

    uniform = Embedding(V, D, padding_idx=None, init="uniform", std=0.5, generator=seeded(0)).weight.detach()
    bound = math.sqrt(3) * 0.5
    assert uniform.abs().max().item() <= bound and uniform.abs().max().item() > 0.98 * bound
    assert uniform.std().item() == pytest.approx(0.5, rel=0.03)

    xavier = Embedding(V, D, padding_idx=None, init="xavier", generator=seeded(0)).weight.detach()
    bound = math.sqrt(6 / (V + D))
    assert xavier.abs().max().item() <= bound and xavier.abs().max().item() > 0.98 * bound


def test_same_seed_same_table() -> None:
    for init in ("normal", "uniform", "xavier"):
        a = Embedding(30, 8, init=init, generator=seeded(7)).weight
        b = Embedding(30, 8, init=init, generator=seeded(7)).weight
        c = Embedding(30, 8, init=init, generator=seeded(8)).weight
        assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(3)
    a = Embedding(30, 8).weight.detach().clone()
    torch.manual_seed(3)
    assert torch.equal(Embedding(30, 8).weight, a)  # generator=None follows torch's default RNG


# --- freeze, sparse -----------------------------------------------------------------------------------
def test_freeze_unfreeze() -> None:
    layer = Embedding(10, 4)
    assert not layer.frozen and layer.weight.requires_grad
    assert layer.freeze() is layer
    assert layer.frozen and not layer.weight.requires_grad
    assert layer(torch.tensor([1, 2])).grad_fn is None
    assert layer.unfreeze() is layer and layer.weight.requires_grad
    assert Embedding(10, 4, freeze=True).frozen


def test_sparse_gradient_holds_only_looked_up_rows() -> None:
    layer = Embedding(100, 4, sparse=True, generator=seeded(0))
    layer(torch.tensor([5, 9, 5])).sum().backward()
    grad = layer.weight.grad.coalesce()
    assert grad.is_sparse
    assert grad.indices().flatten().tolist() == [5, 9]
    torch.testing.assert_close(grad.values(), torch.tensor([[2.0] * 4, [1.0] * 4]))


# --- max_norm --------------------------------------------------------------------------------------------
def test_max_norm_matches_torch_forward_but_leaves_weight_alone() -> None:
    layer = Embedding(20, 5, max_norm=1.5, generator=seeded(0))
    before = layer.weight.detach().clone()
    ids = torch.tensor([[1, 2, 3], [3, 0, 19]])
    out = layer(ids)
    assert torch.equal(layer.weight.detach(), before)  # not renormalised in place
    reference_weight = before.clone()
    reference = F.embedding(ids, reference_weight, padding_idx=0, max_norm=1.5)  # torch: edits its weight
    torch.testing.assert_close(out, reference)
    assert (torch.linalg.vector_norm(out, dim=-1) <= 1.5 + 1e-5).all()
    assert not torch.equal(reference_weight, before)  # ...which is what we avoid


def test_max_norm_gradient_is_that_of_the_formula() -> None:
    c, eps = 1.0, 1e-7
    layer = Embedding(6, 4, padding_idx=0, max_norm=c, generator=seeded(0))
    with torch.no_grad():
        layer.weight[2] *= 0.1  # below max_norm: passes through unscaled
    ids = torch.tensor([1, 2, 3, 0, 3])  # a repeat and the padding id
    upstream = torch.randn(5, 4, generator=seeded(1))
    layer(ids).backward(upstream)

    w = layer.weight.detach()
    expected = torch.zeros_like(w)
    for pos, r in enumerate(ids.tolist()):
        if r == 0:
            continue  # padding row: no gradient
        row, g = w[r].double(), upstream[pos].double()
        n = row.norm()
        if n > c:  # y = c w / (n + eps)  ->  dy^T g = c g / (n + eps) - c (w.g) w / (n (n + eps)^2)
            expected[r] += (c * g / (n + eps) - c * row.dot(g) * row / (n * (n + eps) ** 2)).float()
        else:
            expected[r] += g.float()
    torch.testing.assert_close(layer.weight.grad, expected, rtol=1e-5, atol=1e-6)
    assert torch.isfinite(layer.weight.grad).all()


def test_max_norm_with_weight_used_twice_backpropagates() -> None:
    """pytorch#26596: torch's in-place renorm makes this backward fail; ours does not."""
    layer = Embedding(8, 3, max_norm=0.5, generator=seeded(0))
    ids = torch.tensor([1, 2, 4])
    x = torch.randn(3, 3, generator=seeded(1), requires_grad=True)
    loss = (layer.weight @ x).sum() + layer(ids).sum()  # the matmul saves the weight for backward
    loss.backward()
    assert torch.isfinite(layer.weight.grad).all()
    torch.testing.assert_close(x.grad, layer.weight.detach().sum(0)[:, None].expand(3, 3))

    weight = layer.weight.detach().clone().requires_grad_(True)
    product = weight @ x  # saves weight for backward (x requires grad)
    F.embedding(ids, weight, max_norm=0.5)  # renormalises weight in place
    with pytest.raises(RuntimeError, match="inplace"):
        (product.sum()).backward()


# --- errors ------------------------------------------------------------------------------------------
def test_out_of_range_ids_name_the_id_and_size() -> None:
    layer = Embedding(10, 3)
    with pytest.raises(IdOutOfRangeError, match=r"id 10 at position \(1, 0\) is out of range .* 10 rows"):
        layer(torch.tensor([[1, 2], [10, 3]]))
    with pytest.raises(IdOutOfRangeError, match=r"id -1 at position 2 "):
        layer(torch.tensor([0, 4, -1]))
    with pytest.raises(IndexError):  # IdOutOfRangeError is an IndexError too
        layer(torch.tensor([99]))


def test_non_integer_ids_are_refused() -> None:
    layer = Embedding(10, 3)
    with pytest.raises(ConfigError, match="ids must be integers .* got dtype torch.float32"):
        layer(torch.tensor([1.0, 2.0]))
    with pytest.raises(ConfigError, match="torch.bool"):
        layer(torch.tensor([True]))
    with pytest.raises(ConfigError, match="got list"):
        layer([1, 2])  # type: ignore[arg-type]
    for dtype in (torch.int32, torch.int16, torch.uint8):
        torch.testing.assert_close(layer(torch.tensor([1, 2], dtype=dtype)), layer(torch.tensor([1, 2])))
    assert layer(torch.zeros(0, dtype=torch.long)).shape == (0, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_embeddings": 0}, "num_embeddings must be a positive int, got 0"),
        ({"embedding_dim": 2.5}, "embedding_dim must be a positive int, got 2.5"),
        ({"padding_idx": 10}, r"padding_idx must be None or an int in \[-10, 10\), got 10"),
        ({"init": "kaiming"}, "init must be one of .* got 'kaiming'"),
        ({"std": 0.0}, "std must be a positive finite number"),
        ({"max_norm": -1.0}, "max_norm must be a positive number or None, got -1.0"),
        ({"norm_type": 0}, "norm_type must be a positive number"),
    ],
)
def test_config_errors(kwargs: dict, message: str) -> None:
    args = {"num_embeddings": 10, "embedding_dim": 3} | kwargs
    with pytest.raises(ConfigError, match=message):
        Embedding(args.pop("num_embeddings"), args.pop("embedding_dim"), **args)
