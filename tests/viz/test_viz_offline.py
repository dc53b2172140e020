"""The self-contained HTML file: every asset inlined, data embedded safely, nothing from the network."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError
from embedlayer.vectors import Vectors
from embedlayer.viz.assets import read_asset
from embedlayer.viz.explorer import build_explorer
from embedlayer.viz.offline import (
    MAX_FLOATS,
    check_offline_size,
    offline_html,
    write_offline_html,
)


def _embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="embedded-data">(.*?)</script>', html, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


def test_file_is_self_contained(glove: Vectors, tmp_path: Path) -> None:
    data = build_explorer(glove, source="glove3k.txt", points=800)
    path = write_offline_html(data, tmp_path / "out" / "explorer.html")
    html = path.read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in html and "default-src 'none'" in html
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(?!data:)', html)  # nothing to fetch
    assert "http://" not in html and "https://" not in html
    assert all(read_asset(name) in html for name in ("app.js", "render.js", "query.js", "explorer.css"))
    payload = _embedded(html)
    assert payload["words"] == list(glove.index_to_key[:800]) and payload["offline"] is True
    vectors = np.frombuffer(base64.b64decode(payload["vectors"]), "<f4").reshape(800, 50)
    np.testing.assert_allclose(vectors, glove.normed_matrix()[:800], atol=1e-7)
    assert html.index("embedded-data") < html.index("EmbedRender = {")  # data before the scripts that read it


def test_words_that_look_like_markup_are_embedded_safely(tmp_path: Path) -> None:
    words = ["</script><script>alert(1)</script>", "a&b", "<!--", "line\u2028sep", "ok", "x>y", "tab"]
    rng = np.random.default_rng(0)
    data = build_explorer(Vectors(words, rng.normal(size=(7, 4))), source="odd.txt", dim=2)
    html = offline_html(data)
    assert html.count("</script>") == 4 and "<!--" not in html  # the data and the three scripts, no word
    assert _embedded(html)["words"] == words


def test_size_limit() -> None:
    check_offline_size(MAX_FLOATS // 50, 50)
    with pytest.raises(
        ConfigError,
        match=r"160,050 words × 50 dimensions = 8,002,500 numbers are too many .* "
        r"--points 160000",
    ):
        check_offline_size(160_050, 50)
