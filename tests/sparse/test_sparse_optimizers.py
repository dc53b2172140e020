"""Row-wise optimizers: equal to straightforward references and to torch where semantics coincide."""

import numpy as np
import pytest
import torch
from sparse_reference import Reference, batches

from embedlayer.layers import Embedding
from embedlayer.sparse import (
    LazyAdam,
    RowwiseAdagrad,
    SparseAdagrad,
    SparseSGD,
    make_sparse_optimizer,
)

V, D = 23, 6

CASES = {
    "sgd": (SparseSGD, {"lr": 0.05}),
    "sgd-wd": (SparseSGD, {"lr": 0.05, "weight_decay": 0.1}),
    "adagrad": (SparseAdagrad, {"lr": 0.1}),
    "adagrad-wd-init": (SparseAdagrad, {"lr": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.1}),
    "rowwise-adagrad": (RowwiseAdagrad, {"lr": 0.1}),
    "rowwise-adagrad-wd": (RowwiseAdagrad, {"lr": 0.1, "weight_decay": 0.05}),
    "adam": (LazyAdam, {"lr": 0.01}),
    "adam-wd": (LazyAdam, {"lr": 0.01, "weight_decay": 0.1}),
    "adamw": (LazyAdam, {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    "adam-global": (LazyAdam, {"lr": 0.01, "bias_correction": "global", "betas": (0.8, 0.95)}),
}


def reference_for(cls, kw, table, padding_idx):
    kind = cls.name
    ref_kw = {
        k: v
        for k, v in kw.items()
        if k in ("lr", "weight_decay", "eps", "betas", "bias_correction", "initial_accumulator_value")
    }
    ref_kw["decoupled"] = kw.get("decoupled_weight_decay", False)
    return Reference(kind, table, padding_idx=padding_idx, **ref_kw)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_reference_with_repeated_ids_and_padding(case):
    cls, kw = CASES[case]
    table = torch.randn(V, D, generator=torch.Generator().manual_seed(3))
    table[0] = 0
    opt = cls(Embedding.from_weight(table, padding_idx=0), **kw)
    ref = reference_for(cls, kw, table.numpy(), padding_idx=0)
    for ids, grads in batches(V, steps=6, n=40, D=D, seed=1):
        ids[5] = 0  # padding occurrences carry gradient that must be ignored
        opt.apply_gradients(opt.tables[0], torch.from_numpy(ids), torch.from_numpy(grads))
        ref.step(ids, grads)
    np.testing.assert_allclose(table.numpy(), ref.w, atol=1e-6, rtol=0)
    assert (table[0] == 0).all()  # the padding row never moves


def test_untouched_rows_and_their_state_stay_bit_identical():
    table = torch.randn(V, D)
    opt = LazyAdam(table, lr=0.1, weight_decay=0.5)
    opt.apply_gradients(table, torch.tensor([1, 2, 2]), torch.ones(3, D))
    before = table.clone()
    state = opt.state[opt.tables[0].weight]
    m_before = state["exp_avg"].clone()
    opt.apply_gradients(table, torch.tensor([4, 4]), torch.ones(2, D))
    untouched = [r for r in range(V) if r != 4]
    assert torch.equal(table[untouched], before[untouched])  # no decay on rows not in the batch
    assert torch.equal(state["exp_avg"][untouched], m_before[untouched])
    assert state["row_step"].tolist()[:5] == [0, 1, 1, 0, 1]
    assert not torch.equal(table[4], before[4])


def test_lazy_adam_counts_steps_per_row():
    # a row first seen at step 3 gets the bias correction of a first update: |delta| = lr exactly
    table = torch.zeros(5, 2)
    opt = LazyAdam(table, lr=0.01)
    for _ in range(3):
        opt.apply_gradients(table, torch.tensor([1]), torch.ones(1, 2))
    opt.apply_gradients(table, torch.tensor([2]), torch.full((1, 2), 3.0))
    assert torch.allclose(table[2], torch.full((2,), -0.01), atol=1e-7)
    glob = torch.zeros(5, 2)
    opt_g = LazyAdam(glob, lr=0.01, bias_correction="global")
    for _ in range(3):
        opt_g.apply_gradients(glob, torch.tensor([1]), torch.ones(1, 2))
    opt_g.apply_gradients(glob, torch.tensor([2]), torch.full((1, 2), 3.0))
    b1, b2, t = 0.9, 0.999, 4
    expected = -0.01 * (0.1 * 3 / (1 - b1**t)) / (np.sqrt(0.001 * 9 / (1 - b2**t)) + 1e-8)
    assert torch.allclose(glob[2], torch.full((2,), float(expected)), atol=1e-7)


def _torch_pair(seed=0, padding_idx=None):
    ours = Embedding(V, D, padding_idx=padding_idx, generator=torch.Generator().manual_seed(seed))
    theirs = torch.nn.Embedding(V, D, padding_idx=padding_idx, sparse=True)
    theirs.weight.data.copy_(ours.weight.data)
    return ours, theirs


@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
@pytest.mark.parametrize("name", ["sgd", "adagrad", "sparse-adam"])
def test_fused_layer_equals_torch_where_semantics_coincide(name):
    ours, theirs = _torch_pair(padding_idx=0)
    if name == "sgd":
        opt = SparseSGD(ours, lr=0.1).bind()
        ref = torch.optim.SGD(theirs.parameters(), lr=0.1)
    elif name == "adagrad":
        opt = SparseAdagrad(ours, lr=0.1, initial_accumulator_value=0.1).bind()
        ref = torch.optim.Adagrad(theirs.parameters(), lr=0.1, initial_accumulator_value=0.1)
    else:
        opt = LazyAdam(ours, lr=0.05, bias_correction="global").bind()
        ref = torch.optim.SparseAdam(theirs.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(5)
    for _ in range(5):
        ids = torch.randint(0, 8, (4, 7), generator=gen)  # few distinct ids: many repeats, padding 0
        target = torch.randn(4, 7, D, generator=gen)
        opt.zero_grad()
        ((ours(ids) - target) ** 2).sum().backward()  # fused: the update happens at its end
        opt.step()
        ref.zero_grad()
        ((theirs(ids) - target) ** 2).sum().backward()
        ref.step()
    assert ours.weight.grad is None  # no gradient tensor, dense or sparse
    assert torch.allclose(ours.weight, theirs.weight, atol=1e-6, rtol=0)
    assert (ours.weight[0] == 0).all()


def test_lazy_adam_equals_dense_adamw_when_every_row_occurs():
    ours, _ = _torch_pair(seed=2)
    dense = torch.nn.Embedding(V, D)
    dense.weight.data.copy_(ours.weight.data)
    LazyAdam(ours, lr=0.02, weight_decay=0.1, decoupled_weight_decay=True).bind()  # backward updates
    ref = torch.optim.AdamW(dense.parameters(), lr=0.02, weight_decay=0.1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(4):
        ids = torch.cat([torch.arange(V), torch.randint(0, V, (10,), generator=gen)])
        target = torch.randn(ids.shape[0], D, generator=gen)
        ((ours(ids) - target) ** 2).mean().backward()
        ref.zero_grad()
        ((dense(ids) - target) ** 2).mean().backward()
        ref.step()
    assert torch.allclose(ours.weight, dense.weight, atol=1e-6, rtol=0)


def test_deferred_mode_sums_several_lookups_into_one_update():
    fused_layer, _ = _torch_pair(seed=4)
    deferred_layer, _ = _torch_pair(seed=4)
    ref_table = fused_layer.weight.detach().clone()
    deferred = LazyAdam(deferred_layer, lr=0.1, fused=False).bind()
    ref = Reference("adam", ref_table.numpy(), lr=0.1)
    a, b = torch.tensor([1, 2, 3]), torch.tensor([3, 3, 7])
    deferred.zero_grad()
    (deferred_layer(a).sum() + 2 * deferred_layer(b).sum()).backward()
    assert torch.equal(deferred_layer.weight.detach(), ref_table)  # nothing applied before step()
    deferred.step()
    ref.step(torch.cat([a, b]).numpy(), np.concatenate([np.ones((3, D)), 2 * np.ones((3, D))]))
    np.testing.assert_allclose(deferred_layer.weight.detach().numpy(), ref.w, atol=1e-6)
    assert ref.row_step[3] == 1  # one update of row 3 (not one per lookup)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_storage_is_updated_in_float32_and_rounded_once(dtype):
    table32 = torch.randn(V, D, generator=torch.Generator().manual_seed(1))
    table = table32.to(dtype)
    opt = LazyAdam(Embedding.from_weight(table), lr=0.05)
    ref = Reference("adam", table.float().numpy(), lr=0.05)
    ids, grads = batches(V, steps=1, n=30, D=D, seed=2)[0]
    opt.apply_gradients(table, torch.from_numpy(ids), torch.from_numpy(grads))
    ref.step(ids, grads)
    assert table.dtype == dtype
    expected = torch.from_numpy(ref.w).float().to(dtype)  # one rounding of the float32 result
    touched = sorted(set(ids.tolist()))
    assert torch.equal(table[touched], expected[touched])
    state = opt.state[opt.tables[0].weight]
    assert state["exp_avg"].dtype == torch.float32


def test_state_dict_round_trip_continues_identically():
    gen = torch.Generator().manual_seed(0)
    a_table, b_table = torch.randn(V, D, generator=gen), None
    b_table = a_table.clone()
    a = RowwiseAdagrad(a_table, lr=0.1, weight_decay=0.01)
    steps = batches(V, steps=4, n=20, D=D, seed=3)
    for ids, grads in steps[:2]:
        a.apply_gradients(a_table, torch.from_numpy(ids), torch.from_numpy(grads))
    saved = {k: v for k, v in a.state_dict().items()}
    saved["state"] = {
        i: {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
        for i, s in saved["state"].items()
    }
    b_table.copy_(a_table)
    b = RowwiseAdagrad(b_table, lr=0.5)
    b.load_state_dict(saved)
    assert b.param_groups[0]["lr"] == 0.1
    for ids, grads in steps[2:]:
        a.apply_gradients(a_table, torch.from_numpy(ids), torch.from_numpy(grads))
        b.apply_gradients(b_table, torch.from_numpy(ids), torch.from_numpy(grads))
    assert torch.equal(a_table, b_table)


def test_make_sparse_optimizer_names():
    table = torch.zeros(3, 2)
    for name, cls in [
        ("sgd", SparseSGD),
        ("adagrad", SparseAdagrad),
        ("rowwise-adagrad", RowwiseAdagrad),
        ("adam", LazyAdam),
    ]:
        opt = make_sparse_optimizer(name, table.clone(), lr=0.1)
        assert type(opt) is cls and opt.name == name
