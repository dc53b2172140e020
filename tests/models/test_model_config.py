"""EncoderConfig / ClassifierConfig: validation and JSON round trips."""

import json

import pytest

from embedlayer.errors import ConfigError
from embedlayer.models import ClassifierConfig, EncoderConfig


def test_encoder_defaults_follow_spec():
    cfg = EncoderConfig()
    assert (cfg.kind, cfg.pooling, cfg.cnn_widths, cfg.cnn_channels) == ("cnn", "mean", (3, 4, 5), 100)
    assert (cfg.rnn_cell, cfg.rnn_hidden, cfg.rnn_layers, cfg.bidirectional, cfg.rnn_pooling) == (
        "lstm",
        128,
        1,
        True,
        "max",
    )
    assert (cfg.tf_layers, cfg.tf_heads, cfg.tf_ff, cfg.max_positions, cfg.dropout) == (2, 2, None, 512, 0.5)


def test_configs_are_frozen_and_kw_only():
    cfg = EncoderConfig()
    with pytest.raises(AttributeError):
        cfg.kind = "rnn"  # type: ignore[misc]
    with pytest.raises(TypeError):
        EncoderConfig("rnn")  # type: ignore[misc]


def test_classifier_round_trip_through_json():
    cfg = ClassifierConfig(
        num_embeddings=50,
        embedding_dim=12,
        num_classes=3,
        padding_idx=None,
        encoder=EncoderConfig(kind="transformer", tf_heads=3, cnn_widths=(2, 7), tf_ff=20),
        embedding_max_norm=2.5,
        sparse_embedding=True,
    )
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["encoder"]["cnn_widths"] == [2, 7]
    back = ClassifierConfig.from_dict(data)
    assert back == cfg
    assert back.encoder.cnn_widths == (2, 7)  # list from JSON became a tuple again


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "lstm"),
        ("pooling", "sum"),
        ("cnn_widths", ()),
        ("cnn_widths", (3, 0)),
        ("cnn_channels", 0),
        ("rnn_cell", "rnn"),
        ("rnn_layers", 0),
        ("bidirectional", 1),
        ("rnn_pooling", "first"),
        ("tf_heads", 0),
        ("tf_ff", 0),
        ("max_positions", 0),
        ("tf_positions", "rotary"),
        ("dropout", 1.0),
        ("dropout", -0.1),
    ],
)
def test_encoder_validation_names_field_and_value(field, value):
    with pytest.raises(ConfigError) as info:
        EncoderConfig(**{field: value})
    assert f"EncoderConfig.{field}" in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_embeddings", 0),
        ("embedding_dim", 0),
        ("padding_idx", 10),
        ("padding_idx", -1),
        ("num_classes", 1),
        ("dropout", 1.5),
        ("embedding_max_norm", 0.0),
        ("sparse_embedding", "yes"),
    ],
)
def test_classifier_validation_names_field_and_value(field, value):
    kwargs = {"num_embeddings": 10, "num_classes": 2, field: value}
    with pytest.raises(ConfigError) as info:
        ClassifierConfig(**kwargs)
    assert f"ClassifierConfig.{field}" in str(info.value)
    assert repr(value) in str(info.value)


def test_heads_must_divide_embedding_dim():
    with pytest.raises(ConfigError, match=r"tf_heads.*divisor of the embedding dimension 10.*got 3"):
        ClassifierConfig(
            num_embeddings=5, embedding_dim=10, num_classes=2, encoder=EncoderConfig(kind="transformer", tf_heads=3)
        )
    # heads are only checked for the transformer
    ClassifierConfig(num_embeddings=5, embedding_dim=10, num_classes=2, encoder=EncoderConfig(kind="cnn", tf_heads=3))


def test_from_dict_rejects_unknown_and_missing_keys():
    good = ClassifierConfig(num_embeddings=5, num_classes=2).to_dict()
    with pytest.raises(ConfigError, match="unknown key.*'hidden'"):
        ClassifierConfig.from_dict({**good, "hidden": 3})
    with pytest.raises(ConfigError, match="missing required key.*'num_classes'"):
        ClassifierConfig.from_dict({k: v for k, v in good.items() if k != "num_classes"})
    with pytest.raises(ConfigError, match="unknown key.*'heads'"):
        EncoderConfig.from_dict({"heads": 2})
    with pytest.raises(ConfigError, match="EncoderConfig.kind"):
        ClassifierConfig.from_dict({**good, "encoder": {"kind": "gru"}})
