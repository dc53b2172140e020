"""`classify train`'s defaults (issue 16 §4): the settings measured best on SST-2 are what a command
without flags gets, each default depends on what it should (--encoder, --vectors, the row optimizer),
and every explicit flag still wins."""

from __future__ import annotations

import pytest

from embedlayer.cli.classify_config import configs
from embedlayer.cli.classify_fasttext import apply_encoder_defaults
from embedlayer.cli.main import build_parser


def _configs(*flags: str):
    """(PipelineConfig, TrainConfig) of `classify train FLAGS`, made as run_train makes them."""
    args = build_parser().parse_args(["classify", "train", "--train", "t.tsv", "--out", "m", *flags])
    apply_encoder_defaults(args)
    return configs(args)


def test_rnn_with_vectors_gets_the_measured_settings():
    config, train = _configs("--encoder", "rnn", "--vectors", "glove.txt")
    enc = config.encoder
    assert (enc.kind, enc.rnn_cell, enc.rnn_hidden, enc.rnn_layers, enc.rnn_pooling) == ("rnn", "lstm", 256, 2, "max")
    assert config.embedding_dropout == 0.2 and config.dropout == 0.5
    assert config.vectors_vocab == 100_000
    assert train.lr == 1e-3 and train.embedding_lr == pytest.approx(3e-3)
    assert train.epochs == 5 and train.patience == 3 and train.schedule == "linear"


def test_defaults_that_depend_on_other_flags():
    config, train = _configs("--encoder", "cnn")
    assert config.vectors_vocab == 0  # no --vectors: nothing to add
    assert train.epochs == 10  # encoders other than rnn
    assert config.encoder.rnn_layers == 1  # the rnn default does not leak into another encoder's config
    _, train = _configs("--lr", "0.002")
    assert train.embedding_lr == pytest.approx(0.006)  # a multiple of --lr, not a fixed rate
    for rows in ("sgd", "adagrad", "rowwise-adagrad"):
        _, train = _configs("--sparse-optimizer", rows)
        assert train.embedding_lr == train.lr, rows  # Adam's factor means nothing to them
    _, train = _configs("--sparse-optimizer", "adam")
    assert train.embedding_lr == pytest.approx(3e-3)


def test_explicit_flags_win():
    config, train = _configs(
        "--encoder", "rnn", "--vectors", "v.txt", "--hidden", "64", "--layers", "1", "--embedding-dropout", "0.5",
        "--embedding-lr", "0.01", "--vectors-vocab", "0", "--epochs", "7",
    )  # fmt: skip
    assert (config.encoder.rnn_hidden, config.encoder.rnn_layers) == (64, 1)
    assert config.embedding_dropout == 0.5 and config.vectors_vocab == 0
    assert train.embedding_lr == 0.01 and train.epochs == 7
    config, _ = _configs("--encoder", "transformer", "--layers", "3")
    assert config.encoder.tf_layers == 3 and config.encoder.rnn_layers == 1


def test_fasttext_defaults_are_the_dev_choices():
    config, train = _configs("--encoder", "fasttext", "--subwords", "3-6")
    assert (config.embedding_dim, train.epochs, train.lr, train.batch_size) == (50, 10, 0.5, 1)
    assert config.encoder.ft_combine == "row" and config.encoder.ft_word_ngrams == 2
