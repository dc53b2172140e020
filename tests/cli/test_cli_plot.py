"""`embedlayer plot` in-process: images written, one clear line and exit 2 for each kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import fails, run_json

from embedlayer.cli.main import main

WORDS = "king,queen,man,woman,paris,france,rome,italy,berlin,germany,good,bad,dog,horse,car,train"


@pytest.fixture
def glove_small(glove_head) -> Path:
    """The first 3,000 words of GloVe 6B 50d."""
    return glove_head(3000)


def _png(path: Path) -> None:
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img[..., :3].std() > 0.05


def test_plot_words(glove_small: Path, tmp_path: Path, capsys) -> None:
    out = run_json(capsys, "plot", str(glove_small), "--words", WORDS, "--out", str(tmp_path / "p" / "words.png"))
    assert out["points"] == 16 and out["labelled"] == 16 and out["overlaps"] == 0 and out["skipped_labels"] == 0
    assert out["title"].startswith("PCA of 16 words from glove3k.txt: 50-d → 2-d, ")
    assert "k-means clusters" in out["title"]
    _png(tmp_path / "p" / "words.png")
    assert (
        main(
            [
                "plot",
                str(glove_small),
                "--words",
                WORDS,
                "--dim",
                "3",
                "--clusters",
                "0",
                "--out",
                str(tmp_path / "w3.svg"),
            ]
        )
        == 0
    )
    assert "wrote" in capsys.readouterr().out and (tmp_path / "w3.svg").stat().st_size > 1000


def test_plot_top_and_from_file_with_labels(glove_small: Path, tmp_path: Path, capsys) -> None:
    labels = tmp_path / "labels.tsv"
    labels.write_text(
        "president\tpolitics\ngovernment\tpolitics\nyear\ttime\nyears\ttime\nday\ttime\n", encoding="utf-8"
    )
    out = run_json(
        capsys,
        "plot",
        str(glove_small),
        "--top",
        "150",
        "--labels",
        str(labels),
        "--max-labels",
        "60",
        "--out",
        str(tmp_path / "top.png"),
    )
    assert out["points"] == 150 and out["labelled"] <= 60 and out["colours"] == "colours: labels from labels.tsv"
    _png(tmp_path / "top.png")
    out = run_json(
        capsys,
        "plot",
        str(glove_small),
        "--from-file",
        str(labels),
        "--labels",
        str(labels),
        "--out",
        str(tmp_path / "file.png"),
    )
    assert out["points"] == 5 and out["labelled"] == 5


def test_plot_run_folder(tmp_path: Path, capsys) -> None:
    run = tmp_path / "demo-run"
    run.mkdir()
    history = [{"epoch": e, "train_loss": 1 / (e + 1), "dev_accuracy": 0.5 + e / 10} for e in range(3)]
    (run / "report.json").write_text(
        json.dumps(
            {
                "results": [{"name": "random", "history": history}],
                "neighbours": {"good": {"before": [["great", 0.9]], "after": [["fine", 0.8]]}},
            }
        ),
        encoding="utf-8",
    )
    out = run_json(capsys, "plot", str(run))
    assert out["written"] == [str(run / "plots" / "learning_curves.png"), str(run / "plots" / "neighbours.png")]
    _png(run / "plots" / "neighbours.png")
    assert "--top" in fails(capsys, "plot", str(run), "--top", "5")


def test_too_small_to_project(glove_small: Path, tmp_path: Path, capsys) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_bytes(b"".join(glove_small.read_bytes().splitlines(keepends=True)[:2]))
    line = fails(capsys, "plot", str(tiny), "--top", "10", "--out", str(tmp_path / "x.png"))
    assert line.endswith("tiny.txt: 2 vector(s) are too few to project to 2-d with PCA; expected at least 3 rows")
    line = fails(
        capsys, "plot", str(glove_small), "--words", "king,queen,man", "--dim", "3", "--out", str(tmp_path / "x.png")
    )
    assert "3 vector(s) are too few to project to 3-d with PCA; expected at least 4 rows" in line
    assert not (tmp_path / "x.png").exists()


def test_words_missing_from_the_vectors(glove_small: Path, tmp_path: Path, capsys) -> None:
    line = fails(capsys, "plot", str(glove_small), "--words", "king,qqzzx,queen,man", "--out", str(tmp_path / "x.png"))
    assert "1 requested word(s) are not in glove3k.txt (3,000 words): 'qqzzx'" in line and "--skip-missing" in line
    assert (
        main(
            [
                "plot",
                str(glove_small),
                "--words",
                "king,qqzzx,queen,man",
                "--skip-missing",
                "--out",
                str(tmp_path / "x.png"),
            ]
        )
        == 0
    )
    assert "left out 1 word(s) not in glove3k.txt: qqzzx" in capsys.readouterr().err
    assert "none of the 2 requested word(s)" in fails(
        capsys, "plot", str(glove_small), "--words", "qqzzx,yyq", "--skip-missing", "--out", str(tmp_path / "y.png")
    )


def test_unwritable_output(glove_small: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    line = fails(capsys, "plot", str(glove_small), "--words", WORDS, "--out", str(blocker / "plot.png"))
    assert f"--out '{blocker / 'plot.png'}' cannot be written: '{blocker}' is a file, not a folder" in line
    line = fails(capsys, "plot", str(glove_small), "--words", WORDS, "--out", str(tmp_path))
    assert "extension (none) is not an image format" in line
    (tmp_path / "dir.png").mkdir()
    assert "is a directory; expected a file path" in fails(
        capsys, "plot", str(glove_small), "--words", WORDS, "--out", str(tmp_path / "dir.png")
    )
    assert "expected .png, .svg or .pdf" in fails(capsys, "plot", str(glove_small), "--words", WORDS, "--out", "x.jpg")


def test_other_bad_arguments(glove_small: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "x.png")
    assert "choose the words to draw" in fails(capsys, "plot", str(glove_small), "--out", out)
    assert "--out is required" in fails(capsys, "plot", str(glove_small), "--top", "5")
    assert "--size 'big'" in fails(capsys, "plot", str(glove_small), "--top", "5", "--size", "big", "--out", out)
    assert "--top 0" in fails(capsys, "plot", str(glove_small), "--top", "0", "--out", out)
    assert "--clusters 50: expected at most" in fails(
        capsys, "plot", str(glove_small), "--top", "20", "--clusters", "50", "--out", out
    )
    bad = tmp_path / "bad.tsv"
    bad.write_text("king\troyal\nqueen\n", encoding="utf-8")
    assert "bad.tsv:2: 'queen' has no label" in fails(
        capsys, "plot", str(glove_small), "--top", "20", "--labels", str(bad), "--out", out
    )
    assert "no such file" in fails(capsys, "plot", str(tmp_path / "nope.txt"), "--top", "5", "--out", out)


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header (and that it is a PNG)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _head(src: Path, dst: Path, n: int) -> Path:
    with open(src, encoding="utf-8") as fh:
        dst.write_text("".join(line for _, line in zip(range(n + 1), fh)), encoding="utf-8")
    return dst


@pytest.fixture
def keep_threads():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # the train commands set --threads 1


def test_plot_tabular_model_folder(shared_data: Path, tmp_path: Path, capsys, keep_threads) -> None:
    train = _head(shared_data / "tabular" / "adult_train.csv", tmp_path / "adult.csv", 400)
    model = tmp_path / "adult-model"
    argv = ["tabular", "train", "--train", str(train), "--target", "income", "--out", str(model)]
    run_json(capsys, *argv, "--epochs", "2", "--quiet", "--threads", "1")
    out = tmp_path / "plots"
    assert main(["plot", str(model), "--out", str(out), "--size", "6x4", "--dpi", "50", "--json"]) == 0
    captured = capsys.readouterr()
    names = [Path(p).name for p in json.loads(captured.out)["written"]]
    assert names[0] == "learning_curves.png" and {"occupation.png", "workclass.png", "race.png"} <= set(names)
    assert "gender.png" not in names and "age.png" not in names  # 2 categories; numeric bins unless asked
    assert "left out column gender: 2 categories" in captured.err
    assert _png_size(out / "learning_curves.png") == (1100, 440)
    for name in names[1:]:
        assert _png_size(out / name) == (300, 200)
    _png(out / "occupation.png")
    chosen = tmp_path / "chosen"
    written = run_json(capsys, "plot", str(model), "--columns", "age,occupation", "--out", str(chosen))["written"]
    assert [Path(p).name for p in written] == ["learning_curves.png", "age.png", "occupation.png"]
    line = fails(capsys, "plot", str(model), "--columns", "occupation,colour", "--out", str(tmp_path / "bad"))
    assert "--columns colour: not a column of the model" in line and "occupation" in line
    assert not (tmp_path / "bad").exists()
    assert "--words and --vectors apply to" in fails(capsys, "plot", str(model), "--words", "Sales")
    demo = tmp_path / "demo-run"
    demo.mkdir()
    (demo / "report.json").write_text(json.dumps({"results": [{"name": "r", "history": []}]}), encoding="utf-8")
    assert "--columns applies to a `tabular train`" in fails(capsys, "plot", str(demo), "--columns", "a")


def test_plot_recommender_folder(shared_data: Path, tmp_path: Path, capsys, keep_threads) -> None:
    ratings = _head(shared_data / "tabular" / "ml100k_ratings.tsv", tmp_path / "r.tsv", 3000)
    model = tmp_path / "ml-model"
    argv = ["recommend", "train", "--ratings", str(ratings), "--out", str(model)]
    run_json(capsys, *argv, "--epochs", "2", "--quiet", "--threads", "1")
    out = tmp_path / "plots"
    argv = ["plot", str(model), "--out", str(out), "--max-labels", "30", "--size", "8x6", "--dpi", "40"]
    written = run_json(capsys, *argv)["written"]
    assert [Path(p).name for p in written] == ["learning_curves.png", "user_id.png", "item_id.png"]
    assert _png_size(out / "item_id.png") == (320, 240)
    _png(out / "item_id.png")
    assert main(["plot", str(model), "--columns", "item_id", "--out", str(tmp_path / "items")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {tmp_path / 'items' / 'learning_curves.png'}",
        f"wrote {tmp_path / 'items' / 'item_id.png'}",
    ]
    assert "--columns rating: not a column" in fails(capsys, "plot", str(model), "--columns", "rating")
