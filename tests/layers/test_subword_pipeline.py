"""A text classifier with subword token vectors: unseen words read through their n-grams, the
model folder round trip (an unseen word included), pretrained starts, and word-only models unchanged."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from embedlayer.errors import ConfigError
from embedlayer.layers.subword import SubwordEmbedding
from embedlayer.models import ClassifierConfig, EncoderConfig
from embedlayer.subwords import SubwordSpec
from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
from embedlayer.text import Example
from embedlayer.train import TrainConfig
from embedlayer.vectors import FastTextVectors, Vectors

FILLER = ("the", "a", "movie", "film", "was", "really", "quite", "plot", "actors", "and", "it", "very")


def make_examples(n: int, seed: int) -> list[Example]:
    """Short texts whose label is decided by one cue word ("good" or "bad") among filler words."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = ("neg", "pos")[i % 2]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        words.insert(rng.randint(0, len(words)), "good" if label == "pos" else "bad")
        out.append(Example(" ".join(words), label, i + 1))
    return out


SPEC = SubwordSpec(min_n=3, max_n=5, buckets=1000)
FAST = TrainConfig(epochs=8, batch_size=16, lr=0.05, patience=None, seed=0)
UNSEEN = ["the movie was goodish", "the plot was baddest", "badly", "goodness itself"]


def _config(subwords: SubwordSpec | None) -> PipelineConfig:
    encoder = EncoderConfig(kind="bag", dropout=0.0)
    return PipelineConfig(embedding_dim=16, encoder=encoder, dropout=0.0, seed=0, subwords=subwords)


@pytest.fixture(scope="module")
def data():
    return make_examples(200, seed=1), make_examples(60, seed=2)


@pytest.fixture(scope="module")
def trained(data) -> TextClassificationPipeline:
    train, dev = data
    pipeline = TextClassificationPipeline.build(train, _config(SPEC))
    pipeline.fit(train, dev, FAST)
    return pipeline


def test_unseen_words_are_read_through_their_ngrams(trained, data) -> None:
    assert isinstance(trained.model.embedding, SubwordEmbedding)
    assert trained.evaluate(data[1]).accuracy == 1.0
    assert [label for label, _ in trained.predict(UNSEEN)] == ["pos", "neg", "neg", "pos"]
    word_only = TextClassificationPipeline.build(data[0], _config(None))
    word_only.fit(data[0], data[1], FAST)
    # without subwords every one of the cue-like words is <unk>: the same label for all four
    assert len({label for label, _ in word_only.predict(UNSEEN)}) == 1


def test_round_trip_through_the_model_folder(trained, tmp_path: Path) -> None:
    texts = [*UNSEEN, "the movie was good", "zzz qqq"]
    before = trained.predict_proba(texts)
    folder = trained.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["subwords"] == {"min_n": 3, "max_n": 5, "buckets": 1000, "combine": "sum", "word_rows": True}
    loaded = TextClassificationPipeline.load(folder)
    np.testing.assert_array_equal(loaded.predict_proba(texts), before)
    np.testing.assert_array_equal(loaded.predict_proba(texts[::-1]), before[::-1])  # new extra ids, same vectors
    layer = loaded.model.embedding
    assert isinstance(layer, SubwordEmbedding) and layer.weight.shape == (len(loaded.vocab) + 1000, 16)


def test_a_word_only_model_is_unchanged(data) -> None:
    train, dev = data
    plain = TextClassificationPipeline.build(train, _config(None))
    assert "subwords" not in plain.model.config.to_dict() and "subwords" not in _config(None).to_dict()
    assert type(plain.model.embedding).__name__ == "Embedding"
    ids = plain.encode(["the movie was goodish"])
    assert ids == [plain.vocab.encode(["the", "movie", "was", "goodish"])]  # <unk> as before


def test_pretrained_starts(data, shared_data: Path) -> None:
    train = data[0]
    glove = Vectors(["good", "bad", "movie"], np.eye(3, 16, dtype=np.float32))
    pipeline = TextClassificationPipeline.build(train, _config(SPEC), vectors=glove)
    layer = pipeline.model.embedding
    assert isinstance(layer, SubwordEmbedding) and layer.coverage is not None
    torch.testing.assert_close(layer.embed_words(["good", "bad"]), torch.eye(3, 16)[:2])
    fasttext = FastTextVectors.load(shared_data / "formats" / "lee_fasttext.bin")
    with pytest.raises(ConfigError, match=r"n-grams 3-5 in 1,000 buckets differ from the fastText vectors' 3-6"):
        TextClassificationPipeline.build(train, _config(SPEC), vectors=fasttext)
    spec = SubwordSpec(min_n=3, max_n=6, buckets=1000, combine="mean")
    pipeline = TextClassificationPipeline.build(train, _config(spec), vectors=fasttext)
    words = ["movie", "good", "goodish"]
    got = pipeline.model.embedding.embed_words(words).detach().numpy()
    np.testing.assert_allclose(got, np.stack([fasttext[w] for w in words]), atol=1e-6, rtol=0)


def test_configs_refuse_what_subwords_cannot_do() -> None:
    with pytest.raises(ConfigError, match=r"static_channel"):
        ClassifierConfig(num_embeddings=5, num_classes=2, subwords=SPEC, static_channel=True)
    with pytest.raises(ConfigError, match=r"static_channel"):
        PipelineConfig(subwords=SPEC, static_channel=True)
    cfg = ClassifierConfig(num_embeddings=5, num_classes=2, subwords=SPEC)
    assert ClassifierConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
