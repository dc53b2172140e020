"""``from_pretrained`` behaves as torch's: the same tensor, the same outputs, the same gradients."""

import pytest
import torch
import torch.nn.functional as F

from embedlayer.errors import ConfigError
from embedlayer.layers import Embedding, EmbeddingBag


def table(V=9, D=4, seed=0):
    return torch.randn(V, D, generator=torch.Generator().manual_seed(seed))


IDS = torch.tensor([[1, 2, 4], [4, 0, 8]])


def test_wraps_the_tensor_without_a_copy_and_is_frozen_by_default():
    w = table()
    ours, theirs = Embedding.from_pretrained(w), torch.nn.Embedding.from_pretrained(w)
    assert ours.weight.data_ptr() == w.data_ptr() == theirs.weight.data_ptr()
    assert not ours.weight.requires_grad and not theirs.weight.requires_grad
    assert ours.padding_idx is None and theirs.padding_idx is None  # torch's default, not the constructor's 0
    assert torch.equal(ours(IDS), theirs(IDS))
    with torch.no_grad():
        w[2] = 5.0
    assert (ours(torch.tensor([2])) == 5.0).all()  # one memory


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("padding_idx", [None, 4, -1])
def test_outputs_and_gradients_equal_torchs(sparse, padding_idx):
    w = table(seed=1)
    ours = Embedding.from_pretrained(w.clone(), False, padding_idx, sparse=sparse)  # torch's positional order
    theirs = torch.nn.Embedding.from_pretrained(w.clone(), False, padding_idx, sparse=sparse)
    assert ours.padding_idx == theirs.padding_idx
    target = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(2))
    out_ours, out_theirs = ours(IDS), theirs(IDS)
    assert torch.equal(out_ours, out_theirs)
    F.mse_loss(out_ours, target).backward()
    F.mse_loss(out_theirs, target).backward()
    assert ours.weight.grad.is_sparse == theirs.weight.grad.is_sparse == sparse
    assert torch.equal(ours.weight.grad.to_dense(), theirs.weight.grad.to_dense())
    assert torch.equal(ours.weight.detach(), w)  # the padding row is left as it is, as torch does


def test_max_norm_gives_torchs_outputs_without_editing_the_weight():
    w = table(seed=3) * 3
    ours = Embedding.from_pretrained(w.clone(), max_norm=1.5, norm_type=1.0)
    theirs = torch.nn.Embedding.from_pretrained(w.clone(), max_norm=1.5, norm_type=1.0)
    torch.testing.assert_close(ours(IDS), theirs(IDS), atol=1e-6, rtol=0)
    assert torch.equal(ours.weight, w) and not torch.equal(theirs.weight, w)  # torch renormalises in place


def test_what_is_refused():
    with pytest.raises(ConfigError, match="Embedding.from_pretrained: scale_grad_by_freq=True is not supported"):
        Embedding.from_pretrained(table(), scale_grad_by_freq=True)
    with pytest.raises(
        ConfigError,
        match=r"Embedding.from_pretrained: expected a 2-D float32, float16 or bfloat16 "
        r"tensor, got torch.float64 \(9, 4\)",
    ):
        Embedding.from_pretrained(table().double())
    with pytest.raises(ConfigError, match=r"got torch.float32 \(9,\)"):
        Embedding.from_pretrained(table()[:, 0])
    with pytest.raises(ConfigError, match="EmbeddingBag.from_pretrained: max_norm=1.0 is not supported by bags"):
        EmbeddingBag.from_pretrained(table(), max_norm=1.0)


def test_half_storage_returns_float32_rows():
    w = table(seed=4).bfloat16()
    layer = Embedding.from_pretrained(w)
    assert layer.weight.dtype == torch.bfloat16 and layer.weight.data_ptr() == w.data_ptr()
    assert torch.equal(layer(IDS), w.float()[IDS])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_bag_outputs_and_gradients_equal_torchs(mode):
    w = table(seed=5)
    ours = EmbeddingBag.from_pretrained(w.clone(), False, None, 2.0, False, mode, padding_idx=0)
    theirs = torch.nn.EmbeddingBag.from_pretrained(w.clone(), False, None, 2.0, False, mode, padding_idx=0)
    ids, offsets = torch.tensor([1, 2, 2, 0, 7, 3]), torch.tensor([0, 3, 3, 5])  # an empty bag, a padding id
    weights = torch.tensor([0.5, 2.0, -1.0, 3.0, 1.5, 1.0]) if mode == "sum" else None
    out_ours, out_theirs = ours(ids, offsets, weights), theirs(ids, offsets, weights)
    torch.testing.assert_close(out_ours, out_theirs, atol=1e-6, rtol=0)
    target = torch.randn(4, 4, generator=torch.Generator().manual_seed(6))
    F.mse_loss(out_ours, target).backward()
    F.mse_loss(out_theirs, target).backward()
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, atol=1e-6, rtol=0)


def test_bag_wraps_the_tensor_and_keeps_torchs_defaults():
    w = table()
    bag = EmbeddingBag.from_pretrained(w, include_last_offset=True)
    assert bag.weight.data_ptr() == w.data_ptr() and bag.frozen and bag.mode == "mean" and bag.padding_idx is None
    out = bag(torch.tensor([1, 2, 3]), torch.tensor([0, 1, 3]))
    assert torch.equal(out, torch.stack([w[1], (w[2] + w[3]) / 2]))


def test_from_weight_is_from_pretrained_trained_in_place():
    w = table()
    layer = Embedding.from_weight(w, padding_idx=2)
    assert layer.weight.data_ptr() == w.data_ptr() and not layer.frozen and layer.storage is None
    assert torch.equal(layer.weight, w)  # no initialisation, the padding row left as it is
    bag = EmbeddingBag.from_weight(w, mode="sum")
    assert bag.weight.data_ptr() == w.data_ptr() and not bag.frozen and bag.mode == "sum"
