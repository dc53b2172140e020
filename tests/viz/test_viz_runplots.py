"""Run-folder pictures: the demo's report and a real `classify train` folder, neighbours checked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import DataError, VocabError
from embedlayer.vectors import Vectors
from embedlayer.viz.runplots import (
    classifier_neighbours,
    is_run_folder,
    plot_run,
    read_run,
)


def _png_ok(path: Path) -> None:
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and min(img.shape[:2]) > 200 and img[..., :3].std() > 0.05


@pytest.fixture
def demo_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "demo-run"
    folder.mkdir()

    def history(accuracy: float) -> list[dict]:
        return [
            {"epoch": e, "train_loss": 1 / (e + 1), "lr": 1e-3, "dev_accuracy": accuracy + e / 20} for e in range(3)
        ]

    neighbours = {
        "good": {"before": [["great", 0.9], ["nice", 0.8]], "after": [["great", 0.85], ["fine", 0.8]]},
        "bad": {"before": [["worse", 0.9]], "after": [["awful", 0.7]]},
    }
    report = {
        "results": [{"name": "random", "history": history(0.5)}, {"name": "glove-finetuned", "history": history(0.6)}],
        "neighbours": neighbours,
    }
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


def test_demo_folder(demo_folder: Path, tmp_path: Path) -> None:
    run = read_run(demo_folder)
    assert run.kind == "demo" and [r["name"] for r in run.runs] == ["random", "glove-finetuned"]
    written = plot_run(demo_folder, tmp_path / "plots")
    assert [p.name for p in written] == ["learning_curves.png", "neighbours.png"]
    for p in written:
        _png_ok(p)
    only = plot_run(demo_folder, tmp_path / "one", words=["bad"])
    assert len(only) == 2
    with pytest.raises(VocabError, match=r"no neighbour lists for \['ugly'\]"):
        plot_run(demo_folder, tmp_path / "x", words=["ugly"])


def test_not_a_run_folder(tmp_path: Path, glove_path: Path) -> None:
    assert not is_run_folder(glove_path) and not is_run_folder(tmp_path)
    with pytest.raises(DataError, match="not a run folder"):
        read_run(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "report.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match=r"report\.json: not valid JSON"):
        read_run(bad)


@pytest.fixture(scope="module")
def classifier_folder(shared_data: Path, glove: Vectors, tmp_path_factory) -> Path:
    """A real `classify train` folder: a bag-of-embeddings model on 800 SST-2 phrases, from GloVe."""
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
    from embedlayer.text import read_examples
    from embedlayer.train import TrainConfig

    examples = list(
        read_examples(shared_data / "classification" / "sst2_train.tsv", text_col="sentence", label_col="label")
    )[:800]
    out = tmp_path_factory.mktemp("runs") / "sst2-bag"
    config = PipelineConfig(tokenizer="whitespace", encoder=EncoderConfig(kind="bag"), seed=0)
    pipeline = TextClassificationPipeline.build(examples[:700], config, vectors=glove)
    pipeline.fit(
        examples[:700],
        examples[700:],
        TrainConfig(epochs=2, embedding_lr=0.05, seed=0),
        checkpoint_dir=out / "checkpoint",
    )
    pipeline.save(out)
    return out


def test_classifier_folder_curves_and_neighbours(classifier_folder: Path, glove: Vectors, tmp_path: Path) -> None:
    run = read_run(classifier_folder)
    assert run.kind == "classifier" and len(run.runs[0]["history"]) == 2 and run.neighbours is None
    assert [p.name for p in plot_run(classifier_folder, tmp_path / "a")] == ["learning_curves.png"]
    written = plot_run(classifier_folder, tmp_path / "b", vectors=glove, topn=4)
    assert [p.name for p in written] == ["learning_curves.png", "neighbours.png"]
    for p in written:
        _png_ok(p)


def test_classifier_neighbours_by_hand(classifier_folder: Path, glove: Vectors) -> None:
    from embedlayer.tasks import TextClassificationPipeline

    table = classifier_neighbours(classifier_folder, glove, topn=3)
    assert len(table) == 8
    pipeline = TextClassificationPipeline.load(classifier_folder)
    vocab = pipeline.vocab
    candidates = [
        t for t, c in zip(vocab.itos, vocab.counts) if c >= 5 and t.isalpha() and t in glove and t not in vocab.specials
    ]
    before = np.stack([glove[t] for t in candidates]).astype(np.float64)
    after = pipeline.model.embedding.weight.detach().numpy()[[vocab.stoi[t] for t in candidates]].astype(np.float64)
    for word, sides in table.items():
        i = candidates.index(word)
        for side, m in (("before", before), ("after", after)):
            unit = m / np.linalg.norm(m, axis=1, keepdims=True)
            cos = unit @ unit[i]
            cos[i] = -np.inf
            top = np.argsort(-cos, kind="stable")[:3]
            assert [n for n, _ in sides[side]] == [candidates[j] for j in top]
            assert [s for _, s in sides[side]] == pytest.approx([round(cos[j], 3) for j in top], abs=1.1e-3)
    head = min(2000, len(candidates))
    b, a = before[:head], after[:head]
    moved = (b * a).sum(1) / np.linalg.norm(b, axis=1) / np.linalg.norm(a, axis=1)  # (head,) cosines
    assert list(table) == [candidates[j] for j in np.argsort(moved, kind="stable")[:8]]  # the 8 that moved most
    assert moved.min() < 0.999  # training did move rows
    with pytest.raises(VocabError, match="'zzzq'"):
        classifier_neighbours(classifier_folder, glove, words=["zzzq"])
