"""TextClassificationPipeline: build, fit, evaluate, predict, save/load and its error cases."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from embedlayer.errors import ConfigError, DataError, ModelError
from embedlayer.models import EncoderConfig
from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
from embedlayer.text import Example
from embedlayer.train import TrainConfig
from embedlayer.vectors import Vectors
from embedlayer.vocab import Vocab

FILLER = ("the", "a", "movie", "film", "was", "really", "quite", "plot", "actors", "and", "it", "very")
CUE = {"pos": "good", "neg": "bad"}


def make_examples(n: int, seed: int, *, cues: dict[str, str] = CUE) -> list[Example]:
    """Short texts whose label is decided by one cue word hidden among filler words."""
    rng = random.Random(seed)
    labels = sorted(cues)
    out = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        words.insert(rng.randint(0, len(words)), cues[label])
        out.append(Example(" ".join(words), label, i + 1))
    return out


BAG = PipelineConfig(embedding_dim=16, encoder=EncoderConfig(kind="bag", dropout=0.0), dropout=0.0, seed=0)
FAST = TrainConfig(epochs=8, batch_size=16, lr=0.05, patience=None, seed=0)


@pytest.fixture(scope="module")
def data() -> tuple[list[Example], list[Example]]:
    return make_examples(200, seed=1), make_examples(60, seed=2)


@pytest.fixture(scope="module")
def trained(data) -> TextClassificationPipeline:
    train, dev = data
    pipeline = TextClassificationPipeline.build(train, BAG)
    pipeline.fit(train, dev, FAST)
    return pipeline


def test_learns_the_cue_word(trained, data):
    _, dev = data
    result = trained.evaluate(dev, source="dev")
    assert result.accuracy > 0.9
    assert result.confusion.sum() == len(dev)
    # an untrained pipeline with the same seed is not already right: learning happened in fit
    untrained = TextClassificationPipeline.build(data[0], BAG)
    assert untrained.evaluate(dev).loss > result.loss


def test_predict_labels_and_probabilities(trained):
    texts = ["the movie was good", "the plot was bad", "really very good film", "bad"]
    probs = trained.predict_proba(texts)
    assert probs.shape == (4, 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-6)
    assert (probs >= 0).all()
    predictions = trained.predict(texts)
    assert [label for label, _ in predictions] == ["pos", "neg", "pos", "neg"]
    for (label, p), row in zip(predictions, probs):
        assert p == pytest.approx(float(row.max())) and p > 0.5
        assert label == trained.labels[int(row.argmax())]
    # order of rows follows the order of texts, whatever the batch size
    np.testing.assert_allclose(trained.predict_proba(texts, batch_size=1), probs, rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_is_exact(trained, tmp_path):
    texts = ["the movie was good", "bad plot", "an unseen word entirely", "a"]
    folder = trained.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "vocab.json"]
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "embedlayer.text-classifier" and config["labels"] == ["neg", "pos"]
    loaded = TextClassificationPipeline.load(folder)
    assert loaded.labels == trained.labels
    assert loaded.vocab == trained.vocab
    assert loaded.max_len == trained.max_len
    assert loaded.tokenizer.config() == trained.tokenizer.config()
    np.testing.assert_array_equal(loaded.predict_proba(texts), trained.predict_proba(texts))
    for name, tensor in trained.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name


def test_labels_are_sorted_whatever_the_file_order():
    cues = {"zeta": "good", "alpha": "bad", "mid": "okay"}
    train = make_examples(30, seed=3, cues=cues)
    train.sort(key=lambda ex: ex.label, reverse=True)  # zeta first in the "file"
    pipeline = TextClassificationPipeline.build(train, BAG)
    assert pipeline.labels == ("alpha", "mid", "zeta")
    assert pipeline.label_ids([Example("x", "zeta", 1), Example("y", "alpha", 2)]) == [2, 0]
    assert pipeline.model.config.num_classes == 3


def test_encode_truncates_to_max_len(data):
    pipeline = TextClassificationPipeline.build(
        data[0], PipelineConfig(embedding_dim=8, encoder=EncoderConfig(kind="bag"), max_len=3)
    )
    ids = pipeline.encode(["the movie was really good", "good"])
    assert ids[0] == pipeline.vocab.encode(["the", "movie", "was"])
    assert ids[1] == [pipeline.vocab["good"]]


def _vectors(vocab_words: list[str], dim: int = 6) -> Vectors:
    rng = np.random.default_rng(0)
    words = [w for w in vocab_words if w != "movie"]  # one word the vectors lack
    return Vectors(words, rng.normal(size=(len(words), dim)).astype(np.float32))


@pytest.mark.parametrize("freeze", [True, False])
def test_pretrained_frozen_or_finetuned(data, freeze):
    train, dev = data
    vectors = _vectors([*FILLER, "good", "bad"])
    config = PipelineConfig(encoder=EncoderConfig(kind="bag", dropout=0.0), freeze=freeze, seed=0)
    pipeline = TextClassificationPipeline.build(train, config, vectors=vectors)
    weight = pipeline.model.embedding.weight
    assert weight.shape[1] == 6  # the vectors' dimension wins over embedding_dim
    assert pipeline.coverage is not None and pipeline.coverage.missing >= 1
    # the row of a covered word starts as the pretrained vector
    np.testing.assert_array_equal(weight[pipeline.vocab["good"]].detach().numpy(), vectors["good"])
    before = weight.detach().clone()
    pipeline.fit(train, dev, TrainConfig(epochs=2, batch_size=32, lr=0.05, seed=0))
    after = pipeline.model.embedding.weight.detach()
    if freeze:
        assert torch.equal(after, before)
    else:
        changed = (after != before).any(dim=1)
        assert changed[pipeline.vocab["good"]]
        assert not changed[pipeline.vocab.pad_id]  # the padding row never moves


def test_freeze_without_vectors_is_a_config_error(data):
    with pytest.raises(ConfigError, match="freeze"):
        TextClassificationPipeline.build(data[0], PipelineConfig(freeze=True))


def test_build_needs_examples_and_two_labels():
    with pytest.raises(DataError, match="no training examples"):
        TextClassificationPipeline.build([], BAG)
    with pytest.raises(DataError, match="distinct label"):
        TextClassificationPipeline.build([Example("a b", "x", 1), Example("c", "x", 2)], BAG)


def test_unseen_label_names_label_and_location(trained):
    examples = [Example("good film", "pos", 1), Example("bad film", "neg", 2), Example("meh", "neutral", 7)]
    with pytest.raises(DataError) as info:
        trained.evaluate(examples, source="test.tsv")
    message = str(info.value)
    assert "test.tsv:7" in message and "'neutral'" in message and "neg" in message and "pos" in message


def test_unseen_dev_label_during_fit(data):
    train, _ = data
    pipeline = TextClassificationPipeline.build(train, BAG)
    with pytest.raises(DataError, match=r"dev\.tsv:3: label 'other'"):
        pipeline.fit(
            train, [Example("good", "pos", 2), Example("bad", "other", 3)], FAST, sources=("train.tsv", "dev.tsv")
        )


def test_evaluate_nothing_is_a_data_error(trained):
    with pytest.raises(DataError, match="no examples"):
        trained.evaluate([], source="empty.tsv")


def test_vocab_and_weights_that_disagree(trained, tmp_path):
    folder = trained.save(tmp_path / "model")
    Vocab.build([["only", "three", "words"]]).save(folder / "vocab.json")
    with pytest.raises(ModelError, match="vocab.json") as info:
        TextClassificationPipeline.load(folder)
    assert str(folder) in str(info.value)


def test_weights_of_another_shape(trained, data, tmp_path):
    folder = trained.save(tmp_path / "a")
    other = TextClassificationPipeline.build(
        data[0], PipelineConfig(embedding_dim=4, encoder=EncoderConfig(kind="bag"))
    )
    other.save(tmp_path / "b")
    (folder / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(ModelError, match="shape"):
        TextClassificationPipeline.load(folder)


@pytest.mark.parametrize("name", ["config.json", "vocab.json", "model.safetensors"])
def test_missing_file_in_model_dir(trained, tmp_path, name):
    folder = trained.save(tmp_path / "model")
    (folder / name).unlink()
    with pytest.raises(ModelError, match=name):
        TextClassificationPipeline.load(folder)


def test_not_a_model_dir(tmp_path):
    with pytest.raises(ModelError, match="not a model directory"):
        TextClassificationPipeline.load(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something-else", "version": 1}', "format"),
        ('{"format": "embedlayer.text-classifier", "version": 99}', "version 99"),
    ],
)
def test_bad_config_json(trained, tmp_path, content, expected):
    folder = trained.save(tmp_path / "model")
    (folder / "config.json").write_text(content)
    with pytest.raises(ModelError, match=expected):
        TextClassificationPipeline.load(folder)


def test_truncated_weights(trained, tmp_path):
    folder = trained.save(tmp_path / "model")
    blob = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelError, match="model.safetensors"):
        TextClassificationPipeline.load(folder)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c.update(labels=["neg"]), "labels"),
        (lambda c: c.update(labels=["neg", "neg"]), "labels"),
        (lambda c: c.update(max_len=0), "max_len"),
        (lambda c: c["model"].pop("num_classes"), "num_classes"),
        (lambda c: c.update(tokenizer={"name": "nope"}), "nope"),
    ],
)
def test_inconsistent_config_json(trained, tmp_path, edit, expected):
    folder = trained.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=expected) as info:
        TextClassificationPipeline.load(folder)
    assert "config.json" in str(info.value)


def test_vectors_vocab_gives_unseen_words_their_pretrained_row(data):
    train, _ = data
    vectors = _vectors(["excellent", "dreadful", *FILLER, "good", "bad"])  # the first two never occur in train
    config = PipelineConfig(encoder=EncoderConfig(kind="bag", dropout=0.0), freeze=True, vectors_vocab=2)
    pipeline = TextClassificationPipeline.build(train, config, vectors=vectors)
    plain = TextClassificationPipeline.build(train, PipelineConfig(freeze=True), vectors=vectors)
    assert "excellent" in pipeline.vocab and "excellent" not in plain.vocab
    assert pipeline.encode(["excellent"])[0] != [pipeline.vocab.unk_id]
    row = pipeline.model.embedding.weight[pipeline.vocab["excellent"]].detach().numpy()
    np.testing.assert_array_equal(row, vectors["excellent"])
    assert pipeline.coverage.total == plain.coverage.total  # the report counts the training words only
    with pytest.raises(ConfigError, match=r"PipelineConfig.vectors_vocab: expected an integer >= 0, got -1"):
        TextClassificationPipeline.build(train, PipelineConfig(vectors_vocab=-1), vectors=vectors)


def test_static_channel_stays_pretrained_while_the_tuned_channel_moves(data, tmp_path):
    train, dev = data
    vectors = _vectors([*FILLER, "good", "bad"])
    config = PipelineConfig(encoder=EncoderConfig(kind="bag", dropout=0.0), static_channel=True, seed=0)
    pipeline = TextClassificationPipeline.build(train, config, vectors=vectors)
    model = pipeline.model
    static_before = model.static_embedding.weight.detach().clone()
    assert torch.equal(static_before, model.embedding.weight.detach())  # both channels start as the vectors
    assert model.encoder.out_dim == 12  # a bag of 2 x 6-d channels
    state = torch.get_rng_state()
    pipeline.fit(train, dev, TrainConfig(epochs=2, batch_size=32, lr=0.05, seed=0))
    assert torch.equal(model.static_embedding.weight, static_before)
    assert not torch.equal(model.embedding.weight.detach(), static_before)
    pipeline.save(tmp_path / "m")
    loaded = TextClassificationPipeline.load(tmp_path / "m")
    texts = [ex.text for ex in dev[:20]]
    np.testing.assert_array_equal(loaded.predict_proba(texts), pipeline.predict_proba(texts))
    assert torch.equal(torch.get_rng_state(), state)  # building and training left the global RNG alone
    with pytest.raises(ConfigError, match="static_channel=True needs pretrained vectors"):
        TextClassificationPipeline.build(train, PipelineConfig(static_channel=True))
