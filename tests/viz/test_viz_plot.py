"""The scatter: a valid image, every requested word labelled, no two labels overlapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError
from embedlayer.vectors import Vectors
from embedlayer.viz.clusters import kmeans_cosine
from embedlayer.viz.plot import check_image_path, plot_scatter
from embedlayer.viz.projection import project

WORDS = [
    "king",
    "queen",
    "man",
    "woman",
    "prince",
    "lady",
    "boy",
    "girl",
    "father",
    "mother",
    "son",
    "daughter",
    "paris",
    "france",
    "london",
    "england",
    "berlin",
    "germany",
    "rome",
    "italy",
    "madrid",
    "spain",
    "tokyo",
    "japan",
    "good",
    "bad",
    "great",
    "wife",
    "happy",
    "brother",
    "love",
    "sister",
    "dog",
    "red",
    "horse",
    "blue",
    "car",
    "truck",
    "bus",
    "train",
]


def _overlaps(boxes: np.ndarray) -> int:
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    hit = (
        (x0[:, None] < x1[None, :])
        & (x0[None, :] < x1[:, None])
        & (y0[:, None] < y1[None, :])
        & (y0[None, :] < y1[:, None])
    )
    np.fill_diagonal(hit, False)
    return int(hit.sum() // 2)


def _image(path: Path) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(path)


def test_scatter_of_forty_words_is_clean(glove: Vectors, tmp_path: Path) -> None:
    x = np.stack([glove[w] for w in WORDS])
    groups = kmeans_cosine(x, 5)
    out = tmp_path / "words.png"
    result = plot_scatter(
        project(x, 2),
        WORDS,
        out,
        title="PCA of 40 words",
        groups=groups,
        group_names=[f"cluster {i + 1}" for i in range(5)],
        group_title="k-means",
    )
    assert result.labelled == tuple(WORDS) and result.skipped == () and result.overlaps == 0
    assert _overlaps(result.boxes) == 0  # matplotlib's own measure of the drawn texts
    img = _image(out)
    assert img.shape[:2] == (result.size_px[1], result.size_px[0])
    ink = (img[..., :3] < 0.9).any(axis=2).mean()
    assert 0.01 < ink < 0.5 and img[..., :3].std() > 0.05  # something drawn, mostly white
    w, h = result.size_px
    assert (result.boxes[:, 0] >= 0).all() and (result.boxes[:, 2] <= w).all() and (result.boxes[:, 3] <= h).all()


def test_a_tight_crowd_of_requested_words_still_does_not_overlap(glove: Vectors, tmp_path: Path) -> None:
    words = [w for w in glove.index_to_key[:3000] if w.isdigit()][:80]  # numbers: one tight clump
    x = np.stack([glove[w] for w in words])
    result = plot_scatter(project(x, 2), words, tmp_path / "numbers.png", title="numbers")
    assert len(result.labelled) == len(words) and result.overlaps == 0 and _overlaps(result.boxes) == 0


def test_optional_labels_are_dropped_not_piled(glove: Vectors, tmp_path: Path) -> None:
    words = list(glove.index_to_key[:600])
    label = np.zeros(600, bool)
    label[:400] = True
    result = plot_scatter(
        project(glove.matrix[:600], 2),
        words,
        tmp_path / "top.png",
        title="top",
        label=label,
        required=False,
        size=(6, 4),
        dpi=80,
    )
    assert result.overlaps == 0 and _overlaps(result.boxes) == 0
    assert 0 < len(result.labelled) < 400 and len(result.labelled) + len(result.skipped) == 400
    assert set(result.labelled) <= set(words[:400])


def test_three_d_and_other_formats(glove: Vectors, tmp_path: Path) -> None:
    x = np.stack([glove[w] for w in WORDS[:20]])
    result = plot_scatter(project(x, 3), WORDS[:20], tmp_path / "w3.svg", title="3-d")
    assert result.overlaps == 0 and _overlaps(result.boxes) == 0
    assert (tmp_path / "w3.svg").read_bytes().lstrip().startswith(b"<?xml")
    plot_scatter(project(x, 2), WORDS[:20], tmp_path / "w.pdf", title="pdf")
    assert (tmp_path / "w.pdf").read_bytes().startswith(b"%PDF")


def test_bad_arguments(glove: Vectors, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"extension \.jpg is not an image format; expected \.png, \.svg or \.pdf"):
        check_image_path(tmp_path / "x.jpg")
    x = np.stack([glove[w] for w in WORDS[:5]])
    with pytest.raises(ConfigError, match="5 points but 4 words"):
        plot_scatter(project(x, 2), WORDS[:4], tmp_path / "x.png", title="t")
    assert not (tmp_path / "x.png").exists()
