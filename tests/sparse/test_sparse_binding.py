"""Binding a row-wise optimizer to its tables: explicit, one update per backward, never saved."""

import copy
import io
import pickle

import numpy as np
import pytest
import torch
from sparse_reference import Reference

from embedlayer.errors import ConfigError
from embedlayer.layers import Embedding, EmbeddingBag
from embedlayer.sparse import LazyAdam, RowwiseAdagrad, SparseSGD

V, D = 23, 6


def _layer(seed=0, padding_idx=None):
    return Embedding(V, D, padding_idx=padding_idx, generator=torch.Generator().manual_seed(seed))


def test_building_binds_nothing_and_bind_routes_lookups_until_unbind():
    layer = _layer()
    opt = SparseSGD(layer, lr=1.0)
    assert layer.row_sink is None and not opt.bound  # building an optimizer leaves the layer alone
    assert opt.bind() is opt and layer.row_sink is not None and opt.bound
    before = layer.weight.detach().clone()
    layer(torch.tensor([2])).sum().backward()
    assert torch.equal(layer.weight[2], before[2] - 1) and layer.weight.grad is None
    opt.unbind()
    assert layer.row_sink is None and not opt.bound
    layer(torch.tensor([2])).sum().backward()
    assert layer.weight.grad is not None  # ordinary autograd again
    with torch.no_grad():  # no graph, no update: inference lookups never touch the optimizer
        layer(torch.tensor([3]))


def test_two_lookups_in_one_backward_make_one_update():
    layer = _layer(seed=4)
    ref = Reference("adam", layer.weight.detach().clone().numpy(), lr=0.1)
    LazyAdam(layer, lr=0.1).bind()  # fused: applied once, at the end of backward
    a, b = torch.tensor([1, 2, 3]), torch.tensor([3, 3, 7])
    (layer(a).sum() + 2 * layer(b).sum()).backward()
    ref.step(torch.cat([a, b]).numpy(), np.concatenate([np.ones((3, D)), 2 * np.ones((3, D))]))
    np.testing.assert_allclose(layer.weight.detach().numpy(), ref.w, atol=1e-6)
    state = layer.row_sink.optimizer.state[layer.weight]
    assert state["step"] == 1 and state["row_step"][3] == 1  # one update, not one per lookup


@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
def test_an_optimizer_not_bound_applies_sparse_gradients_at_step():
    bound, loose = _layer(seed=6, padding_idx=0), _layer(seed=6, padding_idx=0)
    loose.sparse = True
    opts = [LazyAdam(bound, lr=0.1).bind(), LazyAdam(loose, lr=0.1)]
    ids = torch.tensor([[0, 4, 4, 9], [9, 1, 0, 2]])
    for layer, opt in zip((bound, loose), opts):
        opt.zero_grad()
        layer(ids).square().sum().backward()
        opt.step()
    assert loose.row_sink is None and loose.weight.grad.is_sparse
    assert torch.allclose(loose.weight, bound.weight, atol=1e-7, rtol=0)
    assert not torch.equal(loose.weight, _layer(seed=6, padding_idx=0).weight)  # it did train


def test_an_optimizer_not_bound_refuses_a_dense_gradient():
    layer = _layer()
    opt = LazyAdam(layer, lr=0.1)
    before = layer.weight.detach().clone()
    layer(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(
        ConfigError,
        match=r"Embedding\(23, 6\) has a dense .grad and the optimizer is not bound.*"
        r"sparse=True.*bind\(\)",
    ):
        opt.step()
    assert torch.equal(layer.weight, before)


class TwoTables(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.words = Embedding(V, D, generator=torch.Generator().manual_seed(0))
        self.bag = EmbeddingBag(V, D, mode="sum", generator=torch.Generator().manual_seed(1))

    def forward(self, ids):
        return self.words(ids).sum() + self.bag(ids).sum()


def _trained_model():
    model = TwoTables()
    opt = LazyAdam([model.words, model.bag], lr=0.1).bind()
    model(torch.tensor([[1, 2], [3, 3]])).backward()
    assert opt.state[model.words.weight]["step"] == 1  # bound, trained, holding state
    return model, opt


def test_a_copy_or_a_saved_model_holds_no_optimizer():
    model, opt = _trained_model()
    assert b"LazyAdam" in pickle.dumps(opt)  # what the checks below would find if the binding came along
    clone = copy.deepcopy(model)
    assert clone.words.row_sink is None and clone.bag.row_sink is None
    assert model.words.row_sink is not None  # the original stays bound
    assert torch.equal(clone.words.weight, model.words.weight)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    for blob in (buffer.getvalue(), pickle.dumps(model)):
        assert b"LazyAdam" not in blob and b"embedlayer.sparse" not in blob
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert loaded.words.row_sink is None and torch.equal(loaded.bag.weight, model.bag.weight)
    state = model.state_dict()
    assert sorted(state) == ["bag.weight", "words.weight"]
    assert all(type(v) is torch.Tensor for v in state.values())
    loaded(torch.tensor([[1, 2]])).backward()  # a plain model: autograd gradients, no update
    assert loaded.words.weight.grad is not None and torch.equal(loaded.words.weight, model.words.weight)


def test_a_table_is_bound_to_one_optimizer_at_a_time():
    layer = Embedding(10, 4)
    first = SparseSGD(layer, lr=0.1).bind()
    second = LazyAdam(layer, lr=0.1)
    with pytest.raises(
        ConfigError,
        match=r"LazyAdam.bind\(\): Embedding\(10, 4\) is already bound to SparseSGD; "
        r"expected an unbound table \(call that optimizer's unbind\(\) first\)",
    ):
        second.bind()
    assert layer.row_sink.optimizer is first
    first.unbind()
    second.bind()
    assert layer.row_sink.optimizer is second
    first.unbind()  # unbinding an optimizer no longer bound leaves the other one in place
    assert layer.row_sink.optimizer is second


def test_bare_tensors_cannot_be_bound():
    with pytest.raises(ConfigError, match="bare tensors, whose lookups cannot be routed"):
        RowwiseAdagrad(torch.zeros(4, 2)).bind()


def test_a_bound_table_with_another_gradient_fails_loudly_and_is_not_updated():
    layer = Embedding(10, 4)
    SparseSGD(layer, lr=0.1).bind()
    before = layer.weight.detach().clone()
    penalty = (layer.weight**2).sum()  # another use of the table: a dense gradient the optimizer never sees
    with pytest.raises(
        ConfigError,
        match=r"Embedding\(10, 4\) is bound to it, but its weight has a dense .grad, "
        r"from another use than its lookups",
    ):
        (penalty + layer(torch.tensor([1, 2])).sum()).backward()
    assert torch.equal(layer.weight, before)


def test_a_table_saved_by_another_graph_fails_loudly_after_an_update():
    # the update writes the table: a graph built before it that saved the table must not run on
    # updated values without notice (its backward sees the bumped version counter)
    layer = Embedding(10, 4)
    SparseSGD(layer, lr=0.1).bind()
    penalty = (layer.weight**2).sum()  # saves the table for its backward
    version = layer.weight._version
    layer(torch.tensor([1, 2])).sum().backward()
    assert layer.weight._version > version  # every update bumps the version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        penalty.backward()


def test_a_backward_that_fails_half_way_leaves_nothing_for_the_next():
    layer = Embedding(10, 4)
    SparseSGD(layer, lr=1.0).bind()
    before = layer.weight.detach().clone()

    class Fail(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        (layer(torch.tensor([1])).sum() + Fail.apply(layer(torch.tensor([2])).sum())).backward()
    layer(torch.tensor([3])).sum().backward()  # the failed backward's rows are not applied with these
    changed = (layer.weight != before).any(dim=1).nonzero().flatten().tolist()
    assert changed == [3]
