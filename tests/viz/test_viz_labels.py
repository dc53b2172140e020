"""Label files, word lists, missing words, and k-means colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError, DataError, VocabError
from embedlayer.viz.clusters import auto_clusters, kmeans_cosine
from embedlayer.viz.labels import check_words, read_labels, read_word_list


def test_read_labels(tmp_path: Path) -> None:
    path = tmp_path / "labels.tsv"
    path.write_text(
        "# topics\nking\troyalty\nqueen\troyalty\n\nparis capital city\nrome\tcapital city\n"
        "king\troyalty\ndog\tanimal\n",
        encoding="utf-8",
    )
    labels = read_labels(path)
    assert dict(labels.by_word) == {
        "king": "royalty",
        "queen": "royalty",
        "paris": "capital city",
        "rome": "capital city",
        "dog": "animal",
    }
    assert labels.names == ("capital city", "royalty", "animal")  # by count, ties by name
    assert labels.ids(["dog", "cat", "rome", "king"]).tolist() == [2, -1, 0, 1]
    assert labels.coverage(["dog", "cat"]) == 1 and labels.source == str(path)
    assert read_word_list(path) == ["king", "queen", "paris", "rome", "dog"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("king\troyalty\nqueen\n", r"labels\.tsv:2: 'queen' has no label; expected 'word<TAB>label'"),
        (
            "king\troyalty\nking\tanimal\n",
            r"labels\.tsv:2: word 'king' has label 'animal' but line 1 gave it 'royalty'",
        ),
        ("# nothing\n\n", r"labels\.tsv: no labelled words"),
    ],
)
def test_bad_label_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_labels(path)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.tsv: no such file"):
        read_labels(tmp_path / "nope.tsv")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9\tfood\n")
    with pytest.raises(DataError, match="latin1.txt: bytes that are not UTF-8"):
        read_labels(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt: no words"):
        read_word_list(empty)


def test_check_words() -> None:
    known = {"a": 0, "b": 1}
    assert check_words(["a", "b"], known, source="v") == (["a", "b"], [])
    with pytest.raises(VocabError, match=r"1 requested word\(s\) are not in v: 'zz'; .*--skip-missing"):
        check_words(["a", "zz"], known, source="v")
    assert check_words(["a", "zz"], known, source="v", skip_missing=True) == (["a"], ["zz"])
    with pytest.raises(VocabError, match="none of the 2 requested word"):
        check_words(["y", "zz"], known, source="v", skip_missing=True)


def test_kmeans_recovers_directions() -> None:
    rng = np.random.default_rng(0)
    directions = np.eye(20)[:3] * 5
    sizes = (25, 15, 10)
    x = np.concatenate(
        [d * rng.uniform(0.5, 2, (n, 1)) + rng.normal(scale=0.4, size=(n, 20)) for d, n in zip(directions, sizes)]
    )  # cosine clusters of different lengths
    truth = np.repeat([0, 1, 2], sizes)
    ids = kmeans_cosine(x, 3, seed=1)
    assert ids.tolist() == truth.tolist()  # renumbered by size: the 25-blob is cluster 0
    assert kmeans_cosine(x, 3, seed=1).tolist() == ids.tolist()
    assert ids.dtype == np.int32


def test_kmeans_bad_k_and_auto() -> None:
    with pytest.raises(ConfigError, match="number of clusters 5: expected an integer from 1 to the number of points"):
        kmeans_cosine(np.ones((3, 2)), 5)
    assert [auto_clusters(n) for n in (5, 10, 40, 100, 10_000)] == [0, 2, 3, 5, 8]
