"""Optimizers: SparseAdam leaves absent rows alone, frozen tables are excluded, schedules, clipping."""

import math

import pytest
import torch

from embedlayer.batching import pad_batch
from embedlayer.errors import ConfigError
from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.train import TrainConfig
from embedlayer.train.optim import build_optimizers, clip_dense_grads, lr_factor, set_lr


def model(sparse, **kw):
    cfg = ClassifierConfig(
        num_embeddings=20,
        embedding_dim=4,
        num_classes=2,
        encoder=EncoderConfig(kind="bag"),
        dropout=0.0,
        sparse_embedding=sparse,
        **kw,
    )
    return build_classifier(cfg, seed=1)


def step(m, opts, seqs):
    batch = pad_batch(seqs, labels=[1] * len(seqs))
    for o in opts:
        o.zero_grad()
    loss = torch.nn.functional.cross_entropy(m(batch.ids, batch.lengths, batch.mask), batch.labels)
    loss.backward()
    for o in opts:
        o.step()


def test_sparse_table_goes_to_sparse_adam_and_rest_to_adam():
    m = model(True)
    opts = build_optimizers(m, TrainConfig(lr=0.01, embedding_lr=0.1))
    assert [type(o) for o in opts] == [torch.optim.Adam, torch.optim.SparseAdam]
    assert opts[1].param_groups[0]["params"] == [m.embedding.weight]
    assert opts[1].param_groups[0]["lr"] == 0.1
    dense = {id(p) for g in opts[0].param_groups for p in g["params"]}
    assert id(m.embedding.weight) not in dense and dense == {id(m.head.weight), id(m.head.bias)}


def test_sparse_step_moves_only_rows_in_the_batch():
    m = model(True)
    opts = build_optimizers(m, TrainConfig(lr=0.1))
    step(m, opts, [[1, 2, 3]])
    after_first = m.embedding.weight.detach().clone()
    state = opts[1].state[m.embedding.weight]
    m1, v1 = state["exp_avg"].clone(), state["exp_avg_sq"].clone()
    step(m, opts, [[4, 5], [5]])
    w = m.embedding.weight.detach()
    untouched = [i for i in range(20) if i not in (4, 5)]
    assert torch.equal(w[untouched], after_first[untouched])  # bit-identical
    assert torch.equal(state["exp_avg"][untouched], m1[untouched])  # moments not decayed either
    assert torch.equal(state["exp_avg_sq"][untouched], v1[untouched])
    never = [i for i in range(20) if i not in (1, 2, 3, 4, 5)]
    assert (state["exp_avg"][never] == 0).all() and (state["exp_avg_sq"][never] == 0).all()
    assert not torch.equal(w[[4, 5]], after_first[[4, 5]])
    assert (w[0] == 0).all()  # padding row


def test_dense_adam_by_contrast_keeps_moving_absent_rows():
    # why SparseAdam matters: dense Adam's momentum moves rows 1-3 although they are not in batch 2
    m = model(False)
    opts = build_optimizers(m, TrainConfig(lr=0.1))
    assert len(opts) == 1
    step(m, opts, [[1, 2, 3]])
    before = m.embedding.weight.detach().clone()
    step(m, opts, [[4, 5]])
    assert not torch.equal(m.embedding.weight.detach()[1:4], before[1:4])
    assert (m.embedding.weight[0] == 0).all()


def test_frozen_table_excluded_and_embedding_lr_group_for_dense_table():
    m = model(True)
    m.embedding.freeze()
    opts = build_optimizers(m, TrainConfig())
    assert len(opts) == 1
    assert all(p is not m.embedding.weight for g in opts[0].param_groups for p in g["params"])
    m = model(False)
    (opt,) = build_optimizers(m, TrainConfig(lr=0.01, embedding_lr=0.5, optimizer="adamw", weight_decay=0.1))
    assert isinstance(opt, torch.optim.AdamW)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.5]
    assert opt.param_groups[1]["params"] == [m.embedding.weight]
    for p in m.parameters():
        p.requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        build_optimizers(m, TrainConfig())


def test_lr_factor_golden_values():
    assert [lr_factor(s, 10, "linear", 2) for s in (0, 1, 2, 6)] == [0.5, 1.0, 1.0, 0.5]
    assert lr_factor(9, 10, "linear", 2) == pytest.approx(1 / 8)
    assert lr_factor(4, 10, "cosine", 2) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(6, 10, "cosine", 2) == pytest.approx(0.5)
    assert [lr_factor(s, 10, "constant", 4) for s in (0, 3, 9)] == [0.25, 1.0, 1.0]
    assert lr_factor(0, 10, "linear") == 1.0
    with pytest.raises(ConfigError, match="'step'"):
        lr_factor(3, 10, "step")


def test_set_lr_scales_every_optimizer_from_its_peak():
    m = model(True)
    opts = build_optimizers(m, TrainConfig(lr=0.01, embedding_lr=0.2))
    set_lr(opts, 0.5)
    assert opts[0].param_groups[0]["lr"] == 0.005 and opts[1].param_groups[0]["lr"] == 0.1
    set_lr(opts, 1.0)
    assert opts[1].param_groups[0]["lr"] == 0.2


def test_clipping_dense_only_because_torch_cannot_norm_sparse_grads():
    m = model(True)
    batch = pad_batch([[1, 2]], labels=[0])
    (m(batch.ids, batch.lengths, batch.mask).sum() * 1000).backward()
    assert m.embedding.weight.grad.is_sparse
    sparse_before = m.embedding.weight.grad.to_dense().clone()
    with pytest.raises(NotImplementedError):  # the reason clip_dense_grads exists
        torch.nn.utils.clip_grad_norm_(list(m.parameters()), 1.0)
    norm = clip_dense_grads(m.parameters(), 1.0)
    assert norm > 1.0
    dense_norm = torch.linalg.vector_norm(torch.cat([m.head.weight.grad.flatten(), m.head.bias.grad]))
    assert dense_norm == pytest.approx(1.0, rel=1e-4)
    assert torch.equal(m.embedding.weight.grad.to_dense(), sparse_before)
