"""Subword and social tokenizers in the text classifier: the model folder keeps them, `classify
evaluate/predict` read with them, and the bad inputs of `classify train` are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlayer.cli.main import main
from embedlayer.errors import ModelError
from embedlayer.models import EncoderConfig
from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
from embedlayer.text import read_examples
from embedlayer.text.social import SocialTokenizer
from embedlayer.train import TrainConfig

pytest.importorskip("tokenizers")


def _head(src: Path, dst: Path, lines: int) -> Path:
    with open(src, encoding="utf-8") as fh:
        dst.write_text("".join(next(fh) for _ in range(lines)), encoding="utf-8")
    return dst


@pytest.fixture
def sst2(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    folder = shared_data / "classification"
    return (
        _head(folder / "sst2_train.tsv", tmp_path / "train.tsv", 601),
        _head(folder / "sst2_dev.tsv", tmp_path / "dev.tsv", 101),
    )


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("embedlayer: error: "), lines
    return lines[0]


@pytest.mark.slow
def test_cli_bpe_train_predict_evaluate(sst2: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    train, dev = sst2
    out = tmp_path / "model"
    common = ["--text-col", "sentence", "--threads", "1"]
    argv = ["classify", "train", "--train", str(train), "--dev", str(dev), "--out", str(out), *common]
    argv += ["--tokenizer", "bpe", "--tokenizer-vocab", "600", "--encoder", "bag", "--epochs", "1", "--json"]
    assert main(argv) == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    config = json.loads((out / "config.json").read_text())
    assert config["tokenizer"]["name"] == "hf" and config["tokenizer"]["model"] == "BPE"
    assert set(config["files"]) == {"vocab.json", "model.safetensors", "tokenizer.json"}
    pipeline = TextClassificationPipeline.load(out)
    texts = [ex.text for ex in read_examples(dev, text_col="sentence", label_col="label")]
    expected = pipeline.predict(texts)
    assert main(["classify", "predict", "--model", str(out), str(dev), *common, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["label"] for p in got] == [label for label, _ in expected]
    assert [p["probability"] for p in got] == pytest.approx([prob for _, prob in expected], abs=1e-6)
    assert main(["classify", "evaluate", "--model", str(out), "--data", str(dev), *common, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(summary["dev"]["accuracy"])
    # the folder's tokenizer.json is part of the unit: another file is refused
    (out / "tokenizer.json").write_text((out / "tokenizer.json").read_text().replace('"Ġ', '"G', 1))
    assert "tokenizer.json: does not match config.json" in _fails(
        capsys, "classify", "predict", "--model", str(out), str(dev)
    )


def test_pipeline_bpe_and_social_round_trip(sst2: tuple[Path, Path], tmp_path: Path) -> None:
    train_path, _ = sst2
    train = list(read_examples(train_path, text_col="sentence", label_col="label"))[:300]
    texts = [ex.text for ex in train[:50]] + ["an unseen 😀 Привет text"]
    quick = TrainConfig(epochs=1, batch_size=64)
    bag = EncoderConfig(kind="bag")
    config = PipelineConfig(tokenizer="bpe", tokenizer_vocab=400, encoder=bag, seed=1)
    social = SocialTokenizer(split_hashtags=True, words=frozenset({"great", "film"}))
    for name, pipeline in (
        ("bpe", TextClassificationPipeline.build(train, config)),
        ("social", TextClassificationPipeline.build(train, PipelineConfig(encoder=bag, seed=1), tokenizer=social)),
    ):
        pipeline.fit(train, None, quick)
        before = pipeline.predict_proba(texts)
        pipeline.save(tmp_path / name)
        back = TextClassificationPipeline.load(tmp_path / name)
        assert back.tokenizer == pipeline.tokenizer and back.vocab == pipeline.vocab
        np.testing.assert_array_equal(back.predict_proba(texts), before)
    assert back.tokenizer.tokenize("#GreatFilm") == ["#greatfilm", "great", "film"]
    assert (tmp_path / "social" / "hashtag_words.txt").read_text() == "film\ngreat\n"
    (tmp_path / "social" / "hashtag_words.txt").unlink()
    with pytest.raises(ModelError, match="hashtag_words.txt is missing"):
        TextClassificationPipeline.load(tmp_path / "social")


def test_cli_tokenizer_bad_inputs(sst2: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    train, _ = sst2
    out = tmp_path / "out"
    base = ["classify", "train", "--train", str(train), "--text-col", "sentence", "--out", str(out), "--quiet"]
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": {"type": "BPE", ', encoding="utf-8")
    line = _fails(capsys, *base, "--tokenizer-file", str(bad))
    assert line.startswith(f"embedlayer: error: --tokenizer-file {bad}: not a Hugging Face tokenizer.json (")
    none = tmp_path / "none.json"
    line = _fails(capsys, *base, "--tokenizer-file", str(none))
    assert (
        line
        == f"embedlayer: error: --tokenizer-file {none}: does not exist; expected a Hugging Face tokenizer.json file"
    )
    line = _fails(capsys, *base, "--tokenizer-vocab", "5000")
    assert line.startswith(
        "embedlayer: error: --tokenizer-vocab 5000: expected it with --tokenizer bpe, wordpiece, unigram"
    )
    assert line.endswith("got --tokenizer word")
    line = _fails(capsys, *base, "--tokenizer", "social", "--tokenizer-file", str(bad))
    assert "expected one of the two" in line
    line = _fails(capsys, *base, "--tokenizer", "wordpiece", "--tokenizer-vocab", "20")
    assert "vocabulary size 20 is below the alphabet of the training texts" in line
    assert not out.exists()
