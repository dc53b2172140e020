"""TextClassifier / build_classifier: shapes, seeding, pretrained tables, padding invariance."""

import pytest
import torch

from embedlayer.batching import pad_batch
from embedlayer.errors import ConfigError
from embedlayer.layers import Embedding
from embedlayer.models import ClassifierConfig, EncoderConfig, TextClassifier, build_classifier

KINDS = {
    "bag": EncoderConfig(kind="bag"),
    "cnn": EncoderConfig(kind="cnn", cnn_widths=(2, 3), cnn_channels=4),
    "rnn": EncoderConfig(kind="rnn", rnn_cell="gru", rnn_hidden=4),
    "transformer": EncoderConfig(kind="transformer", tf_layers=1, tf_heads=2, max_positions=32),
}


def config(kind="cnn", **kw):
    return ClassifierConfig(num_embeddings=20, embedding_dim=6, num_classes=3, encoder=KINDS[kind], **kw)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_weights_different_seed_different(kind):
    a, b = build_classifier(config(kind), seed=5), build_classifier(config(kind), seed=5)
    c = build_classifier(config(kind), seed=6)
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not torch.equal(wa["embedding.weight"], wc["embedding.weight"])
    assert not torch.equal(wa["head.weight"], wc["head.weight"])


def test_generator_seeding_and_global_rng_untouched():
    before = torch.get_rng_state()
    a = build_classifier(config(), generator=torch.Generator().manual_seed(3))
    b = build_classifier(config(), generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("kind", KINDS)
def test_forward_shapes_and_padding_invariance(kind):
    model = build_classifier(config(kind)).eval()
    assert isinstance(model.embedding, Embedding)
    assert model.embedding.weight.shape == (20, 6)
    seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9], []]
    short, long = pad_batch(seqs), pad_batch([s + [0] * 4 for s in seqs])
    long = type(long)(long.ids, short.lengths, torch.arange(long.ids.shape[1]) < short.lengths.unsqueeze(1), None)
    with torch.no_grad():
        a = model(short.ids, short.lengths, short.mask)
        b = model(long.ids, long.lengths, long.mask)
        c = model(short.ids, short.lengths)  # mask rebuilt from lengths
    assert a.shape == (4, 3)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a, c)


def test_pretrained_embedding_is_used_and_shape_checked():
    table = Embedding(20, 6, generator=torch.Generator().manual_seed(9)).freeze()
    model = build_classifier(config(), embedding=table)
    assert model.embedding is table and model.embedding.frozen
    with pytest.raises(ConfigError, match=r"shape \(20, 5\).*\(20, 6\)"):
        build_classifier(config(), embedding=Embedding(20, 5))


def test_sparse_max_norm_and_padding_idx_reach_the_table():
    model = build_classifier(config(sparse_embedding=True, embedding_max_norm=1.0, padding_idx=2))
    assert model.embedding.sparse and model.embedding.max_norm == 1.0 and model.embedding.padding_idx == 2
    assert (model.embedding.weight[2] == 0).all()
    assert isinstance(model, TextClassifier) and model.config.sparse_embedding


def test_dropout_active_in_train_mode_only():
    model = build_classifier(config("bag", dropout=0.5))
    batch = pad_batch([[1, 2, 3]] * 8)
    model.eval()
    with torch.no_grad():
        e1, e2 = model(batch.ids, batch.lengths, batch.mask), model(batch.ids, batch.lengths, batch.mask)
    torch.testing.assert_close(e1, e2)
    model.train()
    torch.manual_seed(0)
    with torch.no_grad():
        t = model(batch.ids, batch.lengths, batch.mask)
    assert not torch.allclose(t[0], t[1])  # identical rows, different dropout masks
