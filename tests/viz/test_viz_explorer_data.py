"""What the explorer answers: neighbours by cosine in the full space (not the picture), analogies, payloads."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from embedlayer.errors import ConfigError, VocabError
from embedlayer.vectors import Vectors
from embedlayer.viz.explorer import K_MAX, build_explorer
from embedlayer.viz.labels import LabelSet


@pytest.fixture(scope="module")
def data(glove: Vectors):
    return build_explorer(glove, source="/some/where/glove3k.txt", points=1000, dim=3)


def _unit(m: np.ndarray) -> np.ndarray:
    m = m.astype(np.float64)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _decode(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def test_neighbours_are_cosine_in_the_full_space(data, glove: Vectors) -> None:
    out = data.neighbours("france", 8)
    unit = _unit(glove.matrix)
    cos = unit @ unit[glove.key_to_index["france"]]
    cos[glove.key_to_index["france"]] = -np.inf
    top = np.argsort(-cos, kind="stable")[:8]
    assert [n["word"] for n in out["neighbors"]] == [glove.index_to_key[i] for i in top]
    assert [n["score"] for n in out["neighbors"]] == pytest.approx(cos[top].tolist(), abs=2e-6)
    assert out["query"] == {"word": "france", "index": glove.key_to_index["france"]} and out["k"] == 8
    # the picture's nearest points are another list: neighbours are not read from the projection
    coords = data.projection.coords.astype(np.float64)
    row = glove.key_to_index["france"]
    d = ((coords - coords[row]) ** 2).sum(1)
    d[row] = np.inf
    flat = [glove.index_to_key[i] for i in np.argsort(d)[:8]]
    assert flat != [n["word"] for n in out["neighbors"]]


def test_neighbours_beyond_the_drawn_points(data, glove: Vectors) -> None:
    out = data.neighbours("king", 30)
    rows = [glove.key_to_index[n["word"]] for n in out["neighbors"]]
    assert [n["index"] for n in out["neighbors"]] == [r if r < 1000 else -1 for r in rows]
    assert any(r >= 1000 for r in rows)  # searched the whole table, not only the 1000 drawn words


def test_analogy_by_hand(data, glove: Vectors) -> None:
    out = data.analogy("king", "man", "woman", 5)
    assert out["answers"][0]["word"] == "queen" and out["formula"] == "king − man + woman"
    unit = _unit(glove.matrix)
    a, b, c = (glove.key_to_index[w] for w in ("king", "man", "woman"))
    q = unit[a] - unit[b] + unit[c]
    cos = unit @ (q / np.linalg.norm(q))
    cos[[a, b, c]] = -np.inf
    top = np.argsort(-cos, kind="stable")[:5]
    assert [x["word"] for x in out["answers"]] == [glove.index_to_key[i] for i in top]
    assert [x["score"] for x in out["answers"]] == pytest.approx(cos[top].tolist(), abs=2e-6)


def test_unknown_words_and_bad_k(data) -> None:
    with pytest.raises(VocabError, match=r"word 'Kingg' is not in the vocabulary of glove3k\.txt \(3,000 words\)"):
        data.neighbours("Kingg")
    assert data.suggestions("King")[:1] == ["king"] and "kingdom" not in data.suggestions("King")[:1]
    assert "france" in data.suggestions("Fra") and "did you mean" in data.unknown_message("Fra")
    with pytest.raises(VocabError, match="'zzzq'"):
        data.analogy("king", "zzzq", "woman")
    for k in (0, K_MAX + 1, True, 2.5):
        with pytest.raises(ConfigError, match="expected an integer from 1 to 100"):
            data.neighbours("king", k)


def test_points_payload(data, glove: Vectors) -> None:
    p = data.points()
    assert p["format"] == "embedlayer.explorer" and p["source"] == "glove3k.txt"
    assert (p["count"], p["shown"], p["dim"]) == (3000, 1000, 50) and p["words"] == list(glove.index_to_key[:1000])
    coords = _decode(p["coords"], "<f4").reshape(1000, 3)
    np.testing.assert_array_equal(coords, data.projection.normalised())
    assert p["projection"]["components"] == 3 and p["projection"]["method"] == "pca" and p["labels"] is None
    offline = data.offline_points()
    vectors = _decode(offline["vectors"], "<f4").reshape(1000, 50)
    np.testing.assert_allclose(vectors, _unit(glove.matrix[:1000]), atol=1e-6)
    assert offline["offline"] is True and "vectors" not in p


def test_labels_in_payload(glove: Vectors) -> None:
    labels = LabelSet(
        by_word={"president": "politics", "government": "politics", "city": "place", "king": "x"},
        names=("politics", "place", "x"),
        source="/x/topics.tsv",
    )
    p = build_explorer(glove, source="g.txt", points=500, dim=2, labels=labels).points()
    ids = p["labels"]["ids"]
    assert glove.key_to_index["king"] >= 500  # labelled but not drawn
    assert ids[glove.key_to_index["president"]] == 0 and ids[glove.key_to_index["city"]] == 1 and ids.count(-1) == 497
    assert p["labels"]["names"] == ["politics", "place", "x"] and p["labels"]["source"] == "topics.tsv"
    assert p["labels"]["colours"][:2] == ["#4e79a7", "#f28e2b"] and p["labels"]["labelled"] == 3


def test_build_rejects_bad_points(glove: Vectors) -> None:
    with pytest.raises(ConfigError, match="points 0"):
        build_explorer(glove, source="g", points=0)
