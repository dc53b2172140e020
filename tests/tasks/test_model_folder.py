"""A model folder is one unit (issue 13 §3, §5, §6): a save killed between files is never loaded as a
model, a file swapped in from another model is caught, every file follows the umask, and a
config.json without its encoder is an error, not a default."""

from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path

import pytest

from embedlayer.errors import ModelError
from embedlayer.models import EncoderConfig
from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
from embedlayer.text import Example
from embedlayer.train import TrainConfig
from embedlayer.vocab import Vocab

CONFIG = PipelineConfig(embedding_dim=8, encoder=EncoderConfig(kind="bag", dropout=0.0), dropout=0.0, seed=0)


def _examples(seed: int) -> list[Example]:
    rng = random.Random(seed)
    words = ["the", "film", "was", "plot", "very", "and"]
    return [
        Example(
            " ".join(rng.choice(words) for _ in range(4)) + (" good" if i % 2 else " bad"),
            "pos" if i % 2 else "neg",
            i + 1,
        )
        for i in range(40)
    ]


@pytest.fixture(scope="module")
def two_models() -> tuple[TextClassificationPipeline, TextClassificationPipeline]:
    """Two trained pipelines with the same shapes (vocabularies of one size) and other weights."""
    first = TextClassificationPipeline.build(_examples(1), CONFIG)
    first.fit(_examples(1), None, TrainConfig(epochs=1, batch_size=8, lr=0.05, patience=None))
    second = TextClassificationPipeline.build(_examples(1), CONFIG)
    second.fit(_examples(1), None, TrainConfig(epochs=2, batch_size=8, lr=0.05, patience=None, seed=5))
    return first, second


def test_a_save_killed_between_files_is_never_loaded_as_a_model(two_models, tmp_path, monkeypatch):
    old, new = two_models
    folder = tmp_path / "model"
    old.save(folder)

    def killed(self, path):
        raise KeyboardInterrupt("killed while writing the vocabulary")

    monkeypatch.setattr(Vocab, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        new.save(folder)  # the weights are new, the vocabulary not yet written
    monkeypatch.undo()
    with pytest.raises(ModelError, match=r"config\.json"):
        TextClassificationPipeline.load(folder)
    new.save(folder)  # a finished save gives a model again
    assert TextClassificationPipeline.load(folder).predict(["good film"]) == new.predict(["good film"])


def test_a_file_swapped_in_from_another_model_is_caught(two_models, tmp_path):
    old, new = two_models
    a, b = tmp_path / "a", tmp_path / "b"
    old.save(a)
    new.save(b)
    # another vocabulary of exactly the same size: two tokens of one length trade places
    lines = (a / "vocab.json").read_text().split("\n")
    rows = {k: json.loads(line.strip().rstrip(",")) for k, line in enumerate(lines) if line.startswith("    [")}
    k1, k2 = next(
        (k1, k2)
        for k1 in rows
        for k2 in rows
        if k1 < k2 and len(rows[k1][0]) == len(rows[k2][0]) and rows[k1][0] not in ("<pad>", "<unk>")
    )
    for k, other in ((k1, k2), (k2, k1)):
        lines[k] = lines[k].replace(json.dumps(rows[k][0]), json.dumps(rows[other][0]))
    size = (a / "vocab.json").stat().st_size
    (a / "vocab.json").write_text("\n".join(lines))
    assert (a / "vocab.json").stat().st_size == size
    with pytest.raises(ModelError, match=r"vocab\.json"):
        TextClassificationPipeline.load(a)
    TextClassificationPipeline.load(b)  # untouched: loads
    old.save(a)
    (a / "model.safetensors").write_bytes((b / "model.safetensors").read_bytes())  # same size, other weights
    with pytest.raises(ModelError, match=r"model\.safetensors"):
        TextClassificationPipeline.load(a)


def test_every_file_of_a_model_folder_follows_the_umask(two_models, tmp_path):
    old = os.umask(0o027)
    try:
        folder = two_models[0].save(tmp_path / "model")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes == dict.fromkeys(modes, 0o640) and "model.safetensors" in modes


def test_a_config_without_the_encoder_is_an_error(tmp_path):
    # the default encoder: without the check, the defaults would fit the weights and load silently
    pipeline = TextClassificationPipeline.build(_examples(1), PipelineConfig(embedding_dim=8, encoder=EncoderConfig()))
    folder = pipeline.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    del config["model"]["encoder"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"model\.encoder is missing"):
        TextClassificationPipeline.load(folder)


def test_a_config_edited_by_hand_still_loads_when_its_files_match(two_models, tmp_path):
    folder: Path = two_models[0].save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["note"] = "mine"
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    assert TextClassificationPipeline.load(folder).labels == ("neg", "pos")
