"""Encoders: output shapes, padding invariance, length-0 texts, masked pooling golden values."""

import pytest
import torch

from embedlayer.errors import ConfigError
from embedlayer.models import BagEncoder, CNNEncoder, EncoderConfig, RNNEncoder, TransformerEncoder, build_encoder

D = 8
CONFIGS = {
    "bag-mean": EncoderConfig(kind="bag", pooling="mean"),
    "bag-max": EncoderConfig(kind="bag", pooling="max"),
    "cnn": EncoderConfig(kind="cnn", cnn_widths=(2, 5), cnn_channels=6),
    "gru-last": EncoderConfig(kind="rnn", rnn_cell="gru", rnn_hidden=5, bidirectional=True, rnn_pooling="last"),
    "lstm-max": EncoderConfig(
        kind="rnn", rnn_cell="lstm", rnn_hidden=5, rnn_layers=2, bidirectional=True, rnn_pooling="max"
    ),
    "lstm-mean-uni": EncoderConfig(kind="rnn", rnn_cell="lstm", rnn_hidden=5, bidirectional=False, rnn_pooling="mean"),
    "gru-last-uni": EncoderConfig(kind="rnn", rnn_cell="gru", rnn_hidden=5, bidirectional=False, rnn_pooling="last"),
    "transformer": EncoderConfig(kind="transformer", tf_heads=2, tf_layers=2, max_positions=16),
    "transformer-sin": EncoderConfig(
        kind="transformer", tf_heads=4, tf_layers=1, max_positions=16, tf_positions="sinusoidal"
    ),
}
OUT_DIMS = {
    "bag-mean": D,
    "bag-max": D,
    "cnn": 12,
    "gru-last": 10,
    "lstm-max": 10,
    "lstm-mean-uni": 5,
    "gru-last-uni": 5,
    "transformer": D,
    "transformer-sin": D,
}


def make_inputs(lengths, total, seed=0):
    """x (B, total, D) with garbage (not zero) in the padding, mask, lengths."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths, dtype=torch.int64)
    x = torch.randn(len(lengths), total, D, generator=g)
    mask = torch.arange(total).unsqueeze(0) < lengths.unsqueeze(1)
    return x, mask, lengths


def encoder(name):
    torch.manual_seed(0)
    return build_encoder(CONFIGS[name], D).eval()


@pytest.mark.parametrize("name", CONFIGS)
def test_output_shape_and_out_dim(name):
    enc = encoder(name)
    x, mask, lengths = make_inputs([3, 1, 7], 7)
    out = enc(x, mask, lengths)
    assert out.shape == (3, OUT_DIMS[name]) == (3, enc.out_dim)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", CONFIGS)
def test_extra_padding_does_not_change_output(name):
    enc = encoder(name)
    lengths = [4, 1, 6, 2, 0]
    x, mask, lens = make_inputs(lengths, 6)
    x_long, mask_long, _ = make_inputs(lengths, 11, seed=1)  # different garbage in the padding
    x_long[:, :6] = x
    with torch.no_grad():
        short, long = enc(x, mask, lens), enc(x_long, mask_long, lens)
    torch.testing.assert_close(long, short, rtol=1e-5, atol=1e-6)
    assert torch.isfinite(short).all()


@pytest.mark.parametrize("name", CONFIGS)
def test_each_row_is_independent_of_the_others(name):
    # a text encoded alone equals the same text inside a batch with longer texts
    enc = encoder(name)
    x, mask, lens = make_inputs([2, 6, 5], 6)
    with torch.no_grad():
        together = enc(x, mask, lens)
        alone = enc(x[:1, :2], mask[:1, :2], lens[:1])
    torch.testing.assert_close(alone[0], together[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CONFIGS)
def test_all_empty_batch_does_not_crash(name):
    enc = encoder(name)
    x, mask, lens = make_inputs([0, 0], 1)
    with torch.no_grad():
        out = enc(x, mask, lens)
    assert out.shape == (2, enc.out_dim) and torch.isfinite(out).all()
    torch.testing.assert_close(out[0], out[1])  # the garbage in the padding is never read


@pytest.mark.parametrize("name", CONFIGS)
def test_gradients_flow_only_to_real_tokens(name):
    enc = encoder(name).train()
    x, mask, lens = make_inputs([3, 5], 5)
    x.requires_grad_(True)
    enc(x, mask, lens).sum().backward()
    assert (x.grad[~mask] == 0).all()
    assert x.grad[mask].abs().sum() > 0


def test_bag_golden_values():
    x = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [100.0, 100.0]], [[-5.0, 6.0], [0.0, 0.0], [9.0, 9.0]]])
    lengths = torch.tensor([2, 1])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    torch.testing.assert_close(BagEncoder(2, pooling="mean")(x, mask, lengths), torch.tensor([[2.0, 1.0], [-5.0, 6.0]]))
    torch.testing.assert_close(BagEncoder(2, pooling="max")(x, mask, lengths), torch.tensor([[3.0, 4.0], [-5.0, 6.0]]))
    empty = torch.zeros(1, 3, dtype=torch.bool)
    assert (BagEncoder(2, pooling="max")(x[:1], empty, torch.tensor([0])) == 0).all()


def test_cnn_matches_hand_computed_windows():
    # one width-2 filter that sums both positions of feature 0: windows over real tokens only
    enc = CNNEncoder(1, widths=(2,), channels=1)
    with torch.no_grad():
        enc.convs[0].weight.copy_(torch.tensor([[[1.0, 1.0]]]))
        enc.convs[0].bias.zero_()
    x = torch.tensor([[[1.0], [2.0], [-10.0], [50.0]]])  # length 3: windows (1,2)=3, (2,-10)=-8
    mask = torch.tensor([[True, True, True, False]])
    assert enc(x, mask, torch.tensor([3])).item() == 3.0
    # length 1 (shorter than the filter): one window over (token, zero padding)
    assert enc(torch.tensor([[[4.0]]]), torch.tensor([[True]]), torch.tensor([1])).item() == 4.0
    # relu then max: a text whose only window is negative gives 0
    assert enc(torch.tensor([[[-4.0]]]), torch.tensor([[True]]), torch.tensor([1])).item() == 0.0


def test_rnn_last_pooling_is_final_state_of_each_direction():
    torch.manual_seed(0)
    enc = RNNEncoder(D, cell="gru", hidden=4, bidirectional=True, pooling="last").eval()
    x, mask, lens = make_inputs([3], 3)
    with torch.no_grad():
        out = enc(x, mask, lens)
        full, _ = enc.rnn(x)  # (1, 3, 8) unpacked run over the 3 real tokens
    torch.testing.assert_close(out[0, :4], full[0, -1, :4])  # forward direction ends at the last token
    torch.testing.assert_close(out[0, 4:], full[0, 0, 4:])  # backward direction ends at the first


def test_transformer_rejects_bad_heads_and_long_texts():
    with pytest.raises(ConfigError, match="divisor of the dimension 8"):
        TransformerEncoder(8, heads=3)
    with pytest.raises(ConfigError, match="tf_heads"):
        build_encoder(EncoderConfig(kind="transformer", tf_heads=3), 8)
    enc = TransformerEncoder(D, heads=2, max_positions=4).eval()
    x, mask, lens = make_inputs([5, 2], 5)
    with pytest.raises(ConfigError, match="5 tokens.*max_positions=4"):
        enc(x, mask, lens)
    # padding beyond max_positions is fine: only real tokens count
    x, mask, lens = make_inputs([4, 2], 9)
    with torch.no_grad():
        torch.testing.assert_close(enc(x, mask, lens), enc(x[:, :4], mask[:, :4], lens))


def test_build_encoder_kinds():
    assert isinstance(build_encoder(EncoderConfig(kind="bag"), D), BagEncoder)
    assert isinstance(build_encoder(EncoderConfig(kind="cnn"), D), CNNEncoder)
    assert isinstance(build_encoder(EncoderConfig(kind="rnn"), D), RNNEncoder)
    assert isinstance(build_encoder(EncoderConfig(kind="transformer"), D), TransformerEncoder)
