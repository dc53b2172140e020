"""The `embedlayer` command line, called in-process: help, the happy paths, and bad input.

Bad input must give exit status 2 and exactly one line on stderr, ``embedlayer: error: ...``, that
names the file (and line); ``--debug`` lets the exception through instead.
"""

from __future__ import annotations

import io
import json
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from embedlayer.cli.main import main
from embedlayer.errors import DataError, ModelError
from embedlayer.vocab import Vocab

FILLER = ("the", "a", "movie", "film", "was", "really", "quite", "plot", "actors", "and", "it", "very")


def write_tsv(path: Path, n: int, seed: int, *, header: bool = True) -> Path:
    """A labelled TSV where the label is decided by one cue word ("good" -> pos, "bad" -> neg)."""
    rng = random.Random(seed)
    rows = ["text\tlabel"] if header else []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 7))]
        words.insert(rng.randint(0, len(words)), "good" if label == "pos" else "bad")
        rows.append(f"{' '.join(words)}\t{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


TRAIN_ARGS = ["--epochs", "2", "--encoder", "bag", "--dim", "16", "--lr", "0.05", "--batch-size", "16", "--quiet"]


def one_json(capsys) -> dict:
    """The single JSON object a --json command printed on stdout."""
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def expect_error(capsys, argv: list[str], *fragments: str) -> str:
    """Run ``argv``; check status 2, one ``embedlayer: error:`` line holding ``fragments``, no traceback."""
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("embedlayer: error: "), lines[0]
    assert "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert captured.out == ""
    return lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_tsv(folder / "train.tsv", 120, seed=1)
    write_tsv(folder / "dev.tsv", 40, seed=2)
    return folder


@pytest.fixture(scope="module")
def model(data_dir) -> tuple[Path, dict]:
    """A model trained once through the CLI; (its folder, the JSON summary printed by train)."""
    out = data_dir / "model"
    capture = io.StringIO()
    saved, sys.stdout = sys.stdout, capture
    try:
        status = main(
            [
                "classify",
                "train",
                "--train",
                str(data_dir / "train.tsv"),
                "--dev",
                str(data_dir / "dev.tsv"),
                "--out",
                str(out),
                *TRAIN_ARGS,
                "--json",
            ]
        )
    finally:
        sys.stdout = saved
    assert status == 0
    lines = capture.getvalue().strip().splitlines()
    assert len(lines) == 1
    return out, json.loads(lines[0])


# ----------------------------------------------------------------------------- help
HELP = [
    ([], ["classify", "vocab", "explain", "demo", "--debug", "--version"]),
    (["classify"], ["train", "evaluate", "predict"]),
    (
        ["classify", "train"],
        [
            "--train",
            "--dev",
            "--out",
            "--text-col",
            "--label-col",
            "--vectors",
            "--freeze",
            "--encoder",
            "--epochs",
            "--json",
            "--quiet",
            "--strict-encoding",
            "--debug",
        ],
    ),
    (["classify", "evaluate"], ["--model", "--data", "--json", "--text-col", "--label-col"]),
    (["classify", "predict"], ["--model", "FILE|-", "--all", "--json", "--text-col"]),
    (["vocab"], ["build", "show"]),
    (["vocab", "build"], ["--out", "--tokenizer", "--min-count", "--max-size", "--oov", "--buckets", "--json"]),
    (["vocab", "show"], ["--top", "--json"]),
    (["explain"], ["--vocab-sizes", "--dim", "--batch", "--json"]),
    (["demo"], ["--out", "--encoder", "--epochs", "--limit", "--json"]),
]


@pytest.mark.parametrize("command, options", HELP, ids=[" ".join(c) or "embedlayer" for c, _ in HELP])
def test_help_exits_zero_and_lists_options(capsys, command, options):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: embedlayer")
    for option in options:
        assert option in out, option


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("embedlayer ")


def test_usage_error_is_status_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["classify", "train", "--out", "x"])  # --train missing
    assert info.value.code == 2
    assert "--train" in capsys.readouterr().err


# ----------------------------------------------------------------------------- classify
def test_train_json_summary(model):
    out, summary = model
    assert summary["train_examples"] == 120 and summary["dev_examples"] == 40
    assert summary["labels"] == ["neg", "pos"]
    assert summary["epochs_run"] == len(summary["history"]) == 2
    # best_epoch is the history entry (0-based "epoch") with the best dev accuracy: its weights were saved
    best = max(summary["history"], key=lambda h: h["dev_accuracy"])
    assert summary["best_epoch"] == best["epoch"] and [h["epoch"] for h in summary["history"]] == [0, 1]
    assert summary["dev"]["accuracy"] == pytest.approx(best["dev_accuracy"])
    saved = json.loads((out / "config.json").read_text())["training"]
    assert saved["best_epoch"] == summary["best_epoch"] and saved["train_examples"] == 120
    dev = summary["dev"]
    assert dev["examples"] == 40 and sum(map(sum, dev["confusion"])) == 40
    assert 0.8 < dev["accuracy"] <= 1 and 0 <= dev["macro_f1"] <= 1
    assert all(0 <= h["dev_accuracy"] <= 1 for h in summary["history"])
    for name in ("config.json", "vocab.json", "model.safetensors"):
        assert (out / name).is_file()


def test_evaluate_json(capsys, model, data_dir):
    out, summary = model
    assert main(["classify", "evaluate", "--model", str(out), "--data", str(data_dir / "dev.tsv"), "--json"]) == 0
    report = one_json(capsys)
    assert report["examples"] == 40 and report["labels"] == ["neg", "pos"]
    # the saved model is the one train evaluated
    assert report["accuracy"] == pytest.approx(summary["dev"]["accuracy"])
    assert report["confusion"] == summary["dev"]["confusion"]


def test_evaluate_text_output(capsys, model, data_dir):
    out, _ = model
    assert main(["classify", "evaluate", "--model", str(out), "--data", str(data_dir / "dev.tsv")]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "confusion matrix" in text
    assert text.count("\n") == 5  # summary, title, header, one row per label


def test_predict_json_from_file(capsys, model, tmp_path):
    out, _ = model
    texts = tmp_path / "texts.txt"
    texts.write_text("the movie was good\n\nthe plot was bad\n", encoding="utf-8")
    assert main(["classify", "predict", "--model", str(out), str(texts), "--json", "--all"]) == 0
    result = one_json(capsys)
    predictions = result["predictions"]
    assert [p["text"] for p in predictions] == ["the movie was good", "the plot was bad"]  # blank line skipped
    assert [p["label"] for p in predictions] == ["pos", "neg"]
    for p in predictions:
        assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-5)
        assert p["probability"] == max(p["probabilities"].values())


def test_predict_stdin(capsys, model, monkeypatch):
    out, _ = model
    monkeypatch.setattr(sys, "stdin", io.StringIO("really good film\n\nbad actors\n"))
    assert main(["classify", "predict", "--model", str(out), "-", "--json"]) == 0
    predictions = one_json(capsys)["predictions"]
    assert [(p["text"], p["label"]) for p in predictions] == [("really good film", "pos"), ("bad actors", "neg")]
    # plain output: label, probability, text, tab-separated, one line per text
    monkeypatch.setattr(sys, "stdin", io.StringIO("really good film\r\nbad actors\r\n"))
    assert main(["classify", "predict", "--model", str(out)]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[2]) for r in rows] == [("pos", "really good film"), ("neg", "bad actors")]
    assert all(0.5 < float(r[1]) <= 1 for r in rows)


def test_predict_stdin_bad_bytes(capsys, model, monkeypatch):
    out, _ = model
    stdin = lambda: io.TextIOWrapper(io.BytesIO(b"good film\nbad caf\xe9\n"), encoding="utf-8")  # noqa: E731
    monkeypatch.setattr(sys, "stdin", stdin())
    expect_error(
        capsys, ["classify", "predict", "--model", str(out), "--strict-encoding", "--json"], "<stdin>:2", "0xe9"
    )
    monkeypatch.setattr(sys, "stdin", stdin())
    assert main(["classify", "predict", "--model", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["predictions"]) == 2
    assert "<stdin>" in captured.err and "not UTF-8" in captured.err


def test_predict_stdin_empty(capsys, model, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n"))
    expect_error(capsys, ["classify", "predict", "--model", str(model[0])], "<stdin>", "no texts")


def test_predict_into_a_closed_pipe(capsys, model, monkeypatch):
    """`embedlayer classify predict ... | head -1`: the reader leaves; no error line, status 141."""

    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdin", io.StringIO("good film\n" * 5))
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["classify", "predict", "--model", str(model[0])]) == 141
    assert capsys.readouterr().err == ""


def test_evaluate_table_keeps_long_labels(capsys, tmp_path):
    train = tmp_path / "train.tsv"
    rows = ["text\tlabel"] + [
        f"{'good' if i % 2 else 'bad'} film {i}\t{'clearly_positive' if i % 2 else 'clearly_negative'}"
        for i in range(20)
    ]
    train.write_text("\n".join(rows) + "\n")
    assert main(train_argv(train, tmp_path / "m")) == 0
    capsys.readouterr()
    assert main(["classify", "evaluate", "--model", str(tmp_path / "m"), "--data", str(train)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split() == ["clearly_negative", "clearly_positive"]
    assert lines[3].split()[0] == "clearly_negative" and sum(map(int, lines[3].split()[1:])) == 10
    assert len({len(line) for line in lines[2:]}) == 1  # columns line up


# ----------------------------------------------------------------------------- vocab, explain
def test_vocab_build_and_show(capsys, data_dir, tmp_path):
    out = tmp_path / "vocab.json"
    assert main(["vocab", "build", str(data_dir / "train.tsv"), "--out", str(out), "--json"]) == 0
    built = one_json(capsys)
    vocab = Vocab.load(out)
    assert built["size"] == len(vocab) and built["specials"] == ["<pad>", "<unk>"]
    assert "text" not in vocab and "label" not in vocab  # the header row is not text
    assert main(["vocab", "show", str(out), "--json", "--top", "3"]) == 0
    shown = one_json(capsys)
    assert shown["size"] == len(vocab)
    assert shown["top"] == [[t, vocab.count(t)] for t in vocab.itos[2:5]]
    # independent count: the texts are lowercase words separated by spaces
    counts = Counter(
        w for line in (data_dir / "train.tsv").read_text().splitlines()[1:] for w in line.split("\t")[0].split()
    )
    assert shown["top"] == [[t, c] for t, c in sorted(counts.items(), key=lambda tc: (-tc[1], tc[0]))[:3]]
    assert counts["good"] == counts["bad"] == 60 and vocab.count("good") == 60
    assert shown["tokens_counted"] == sum(counts.values())


def test_vocab_show_bad_file(capsys, tmp_path):
    bad = tmp_path / "v.json"
    bad.write_text("{}")
    expect_error(capsys, ["vocab", "show", str(bad)], str(bad))


def test_explain_json(capsys):
    assert main(["explain", "--json", "--vocab-sizes", "100,1000", "--batch", "64", "--dim", "8"]) == 0
    report = one_json(capsys)
    assert report["equivalence"]["max_abs_diff_output"] < 1e-5
    assert report["equivalence"]["max_abs_diff_grad"] < 1e-5
    assert [row["vocab_size"] for row in report["cost"]] == [100, 1000]
    assert all(row["embedding_dim"] == 8 for row in report["cost"])
    assert report["sparse_step"]["equal"] is True


def test_explain_bad_sizes(capsys):
    expect_error(capsys, ["explain", "--vocab-sizes", "10,abc"], "--vocab-sizes", "'10,abc'")


# ----------------------------------------------------------------------------- bad input
def train_argv(train: Path, out: Path, *extra: str) -> list[str]:
    return ["classify", "train", "--train", str(train), "--out", str(out), *TRAIN_ARGS, *extra]


def test_empty_train_file(capsys, tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    expect_error(capsys, train_argv(empty, tmp_path / "m"), str(empty), "empty")
    assert not (tmp_path / "m" / "config.json").exists()


def test_missing_column_lists_available(capsys, data_dir, tmp_path):
    train = data_dir / "train.tsv"
    line = expect_error(capsys, train_argv(train, tmp_path / "m", "--text-col", "sentence"), f"{train}:1", "'sentence'")
    assert "'text'" in line and "'label'" in line


def test_row_without_label(capsys, tmp_path):
    bad = tmp_path / "nolabel.tsv"
    bad.write_text("text\tlabel\ngood film\tpos\nbad film\tneg\na plot with no label\n")
    expect_error(capsys, train_argv(bad, tmp_path / "m"), f"{bad}:4", "without a label")


def test_row_with_empty_label(capsys, tmp_path):
    bad = tmp_path / "emptylabel.csv"
    bad.write_text('text,label\n"good, really",pos\nbad film,\n')
    expect_error(capsys, train_argv(bad, tmp_path / "m"), f"{bad}:3", "without a label")


def test_unseen_label_at_evaluation(capsys, model, tmp_path):
    data = tmp_path / "test.tsv"
    data.write_text("text\tlabel\ngood film\tpos\nbad film\tneg\nso-so film\tneutral\n")
    line = expect_error(
        capsys, ["classify", "evaluate", "--model", str(model[0]), "--data", str(data)], f"{data}:4", "'neutral'"
    )
    assert "neg" in line and "pos" in line


def test_unseen_label_in_dev(capsys, data_dir, tmp_path):
    dev = tmp_path / "dev.tsv"
    dev.write_text("text\tlabel\ngood film\tpos\nso-so film\tmeh\n")
    expect_error(capsys, train_argv(data_dir / "train.tsv", tmp_path / "m", "--dev", str(dev)), f"{dev}:3", "'meh'")


def test_empty_text(capsys, tmp_path):
    bad = tmp_path / "notext.tsv"
    bad.write_text("text\tlabel\ngood film\tpos\n\tneg\n")
    expect_error(capsys, train_argv(bad, tmp_path / "m"), f"{bad}:3", "empty text")


def test_non_utf8(capsys, data_dir, tmp_path):
    bad = tmp_path / "latin1.tsv"
    content = (data_dir / "train.tsv").read_bytes().replace(b"movie", b"movi\xe9", 1)
    bad.write_bytes(content)
    line_no = content[: content.index(b"\xe9")].count(b"\n") + 1
    expect_error(capsys, train_argv(bad, tmp_path / "strict", "--strict-encoding"), f"{bad}:{line_no}", "0xe9")
    assert not (tmp_path / "strict" / "config.json").exists()
    # without --strict-encoding the byte is replaced, training succeeds and stderr says so
    assert main(train_argv(bad, tmp_path / "m", "--json")) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["train_examples"] == 120
    assert f"{bad}: 1 byte(s) that are not UTF-8 replaced on 1 line(s) (first: {line_no})" in captured.err
    assert (tmp_path / "m" / "config.json").is_file()


def test_model_whose_vocab_and_weights_disagree(capsys, model, data_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocab.json", "model.safetensors"):
        (broken / name).write_bytes((model[0] / name).read_bytes())
    Vocab.build([["just", "a", "few", "words"]]).save(broken / "vocab.json")
    expect_error(
        capsys,
        ["classify", "evaluate", "--model", str(broken), "--data", str(data_dir / "dev.tsv")],
        str(broken),
        "vocab.json",
    )


def test_model_dir_missing_a_file(capsys, model, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_bytes((model[0] / "config.json").read_bytes())
    expect_error(capsys, ["classify", "predict", "--model", str(partial), "-"], str(partial), "vocab.json")


def test_vectors_row_with_too_few_values(capsys, data_dir, tmp_path):
    vectors = tmp_path / "glove.txt"
    vectors.write_text("good 0.1 0.2 0.3\nbad 0.4 0.5 0.6\nfilm 0.7 0.8\n")
    expect_error(
        capsys,
        train_argv(data_dir / "train.tsv", tmp_path / "m", "--vectors", str(vectors)),
        f"{vectors}:3",
        "expected 3 values",
        "found 2",
    )


def test_vectors_pretrained_frozen_trains(capsys, data_dir, tmp_path):
    vectors = tmp_path / "glove.txt"
    vectors.write_text("good 0.1 0.2 0.3\nbad 0.4 0.5 0.6\nfilm 0.7 0.8 0.9\n")
    argv = train_argv(data_dir / "train.tsv", tmp_path / "m", "--vectors", str(vectors), "--freeze", "--json")
    assert main(argv) == 0
    summary = one_json(capsys)
    assert summary["coverage"]["exact"] == 3
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["embedding_dim"] == 3  # the vectors' dimension wins over --dim 16


@pytest.mark.parametrize(
    "command",
    [
        lambda d, m: train_argv(d / "nowhere.tsv", d / "m"),
        lambda d, m: ["classify", "evaluate", "--model", str(m), "--data", str(d / "nowhere.tsv")],
        lambda d, m: ["classify", "predict", "--model", str(m), str(d / "nowhere.tsv")],
        lambda d, m: ["vocab", "build", str(d / "nowhere.tsv"), "--out", str(d / "v.json")],
        lambda d, m: ["vocab", "show", str(d / "nowhere.tsv")],
        lambda d, m: train_argv(d / "train.tsv", d / "m", "--vectors", str(d / "nowhere.tsv")),
    ],
    ids=["train", "evaluate", "predict", "vocab-build", "vocab-show", "vectors"],
)
def test_missing_input_file(capsys, model, data_dir, command):
    expect_error(capsys, command(data_dir, model[0]), str(data_dir / "nowhere.tsv"))


def test_missing_model_dir(capsys, data_dir):
    expect_error(
        capsys,
        ["classify", "evaluate", "--model", str(data_dir / "no-model"), "--data", str(data_dir / "dev.tsv")],
        str(data_dir / "no-model"),
    )


def test_debug_lets_the_exception_through(capsys, tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        main(["--debug", *train_argv(empty, tmp_path / "m")])
    with pytest.raises(DataError, match="empty"):  # also after the command
        main([*train_argv(empty, tmp_path / "m"), "--debug"])
    with pytest.raises(ModelError):
        main(["--debug", "classify", "predict", "--model", str(tmp_path / "none"), "-"])
