"""`classify train --encoder fasttext`: train, evaluate, predict through the CLI, the model folder's
round trip (same predictions), and its bad inputs one line each."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails, run_json

from embedlayer.cli.main import main
from embedlayer.tasks import TextClassificationPipeline

FILLER = ("the", "a", "movie", "film", "was", "really", "quite", "plot", "actors", "and", "it", "very")


@pytest.fixture(scope="module")
def train_file(tmp_path_factory) -> Path:
    """Texts whose label is a cue bigram ("not bad" is pos, "not good" neg) among filler words."""
    rng = random.Random(2)
    lines = ["text\tlabel"]
    for i in range(300):
        label = ("neg", "pos")[i % 2]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        at = rng.randint(0, len(words))
        words[at:at] = ["not", "good" if label == "neg" else "bad"]
        lines.append(f"{' '.join(words)}\t{label}")
    path = tmp_path_factory.mktemp("data") / "train.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def model(train_file: Path, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("model") / "m"
    argv = ["classify", "train", "--train", str(train_file), "--dev", str(train_file), "--out", str(out)]
    assert main([*argv, "--encoder", "fasttext", "--buckets", "997", "--epochs", "8", "--threads", "1", "--quiet"]) == 0
    return out, {}


@pytest.mark.slow
def test_train_evaluate_predict(model, train_file, capsys, tmp_path):
    out, _ = model
    result = run_json(capsys, "classify", "evaluate", "--model", str(out), "--data", str(train_file))
    assert result["accuracy"] == 1.0  # the cue is a bigram of two words each seen in both labels
    texts = tmp_path / "texts.txt"
    texts.write_text("the film was not bad\nthe film was not good\n")
    predicted = run_json(capsys, "classify", "predict", "--model", str(out), str(texts))
    labels = [row["label"] for row in predicted["predictions"]]
    assert labels == ["pos", "neg"]


@pytest.mark.parametrize("combine", ["row", "word"])
def test_saved_model_predicts_as_the_trained_one(model, train_file, tmp_path, combine):
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig
    from embedlayer.text import read_examples
    from embedlayer.train import TrainConfig

    examples = list(read_examples(train_file))
    encoder = EncoderConfig(kind="fasttext", ft_buckets=500, ft_minn=2, ft_maxn=4, ft_combine=combine)
    pipeline = TextClassificationPipeline.build(examples, PipelineConfig(embedding_dim=8, encoder=encoder))
    pipeline.fit(examples, None, TrainConfig(epochs=3, lr=0.5, batch_size=1))
    pipeline.save(tmp_path / "m")
    loaded = TextClassificationPipeline.load(tmp_path / "m")
    assert loaded.model.config.encoder.kind == "fasttext" and loaded.model.scheme.maxn == 4
    assert loaded.model.scheme.combine == combine
    texts = [ex.text for ex in examples[:40]] + ["unsen wrods only", ""]
    np.testing.assert_array_equal(pipeline.predict_proba(texts), loaded.predict_proba(texts))
    assert loaded.evaluate(examples).accuracy == pipeline.evaluate(examples).accuracy


def test_bad_fasttext_options_are_one_line(train_file, capsys, tmp_path):
    argv = ["classify", "train", "--train", str(train_file), "--out", str(tmp_path / "x"), "--encoder", "fasttext"]
    assert "--word-ngrams" in fails(capsys, *argv, "--word-ngrams", "0")
    assert "--buckets" in fails(capsys, *argv, "--buckets", "0", "--subwords", "3-6")
    assert "--vectors" in fails(capsys, *argv, "--vectors", str(train_file))
    assert "--subword-combine" in fails(capsys, *argv, "--subword-combine", "mean")  # without --subwords


def test_subword_combine_chooses_how_a_words_rows_count():
    import argparse

    from embedlayer.cli.classify_fasttext import FT_COMBINES, FT_DEFAULT_COMBINE, fasttext_encoder_args

    base = {"encoder": "fasttext", "word_ngrams": 2, "subwords": "3-6"}
    for flag, combine in (("sum", "row"), ("mean", "word"), (None, FT_COMBINES[FT_DEFAULT_COMBINE])):
        assert fasttext_encoder_args(argparse.Namespace(**base, subword_combine=flag))["ft_combine"] == combine
    assert "ft_combine" not in fasttext_encoder_args(argparse.Namespace(**{**base, "subwords": None}))
