"""Every encoder kind learns a task that needs the token identities: label = does token 7 occur.

Each run takes well under 2 s on 2 idle CPU cores (no wall-clock assertion: shared machines vary)."""

import pytest

from embedlayer.models import ClassifierConfig, EncoderConfig, build_classifier
from embedlayer.train import TrainConfig, evaluate, fit

ENCODERS = {
    "bag": EncoderConfig(kind="bag", pooling="max"),
    "cnn": EncoderConfig(kind="cnn", cnn_widths=(1, 2), cnn_channels=16),
    "rnn": EncoderConfig(kind="rnn", rnn_cell="gru", rnn_hidden=16, rnn_pooling="max"),
    "transformer": EncoderConfig(kind="transformer", tf_layers=1, tf_heads=2, tf_ff=32, max_positions=16, dropout=0.0),
}


@pytest.mark.parametrize("kind", ENCODERS)
def test_each_encoder_learns_token_presence(kind, task):
    train = task.examples(512, seed=21)
    test = task.batches(task.examples(256, seed=22), 128)
    cfg = ClassifierConfig(
        num_embeddings=task.vocab,
        embedding_dim=16,
        num_classes=2,
        dropout=0.1,
        encoder=ENCODERS[kind],
        sparse_embedding=(kind == "bag"),
    )
    model = build_classifier(cfg, seed=0)
    fit(model, task.loader(train, 32), None, TrainConfig(epochs=6, lr=0.01, embedding_lr=0.05, schedule="constant"))
    accuracy = evaluate(model, test).accuracy
    assert accuracy > 0.95, f"{kind}: {accuracy:.3f}"
