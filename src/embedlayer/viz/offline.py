"""The explorer as one self-contained HTML file that works offline (``embedlayer explore --html``).

The page's stylesheet and scripts are inlined, and the data is embedded as JSON: the words, the
projected coordinates, the labels, and the unit-length vectors of the drawn words (float32,
base64). The page then computes neighbours and analogies itself, by exact cosine over those
vectors, so search, click and the analogy box all work from ``file://`` with no server.

Choice and limits: embedding the vectors (rather than precomputed neighbour lists) keeps analogies
working and gives the same answers as the server over the same words, at 4·N·D bytes (×4/3 for
base64): 20,000 × 50 is about 5 MB, 50,000 × 100 about 27 MB. The file holds only the drawn words,
so neighbours are searched among them (the server searches the whole table). ``MAX_FLOATS`` caps
N·D at 8,000,000 (about 43 MB of HTML); above it, draw fewer words with ``--points``. A query
scans all N rows (N·D multiply-adds: ~2.5 M for 50,000 × 50, a few milliseconds in a browser).
A Content-Security-Policy in the file forbids every network request.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from embedlayer._io import atomic_write
from embedlayer.errors import ConfigError
from embedlayer.viz.assets import read_asset
from embedlayer.viz.explorer import ExplorerData

__all__ = ["MAX_FLOATS", "check_offline_size", "offline_html", "write_offline_html"]

MAX_FLOATS = 8_000_000
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
_STYLE_TAG = '<link rel="stylesheet" href="static/explorer.css">'
_SCRIPTS = ("render.js", "query.js", "app.js")


def _script_json(obj: object) -> str:
    """JSON safe inside a <script> element: no '<', '>', '&' or line separators left raw."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _inline(page: str, tag: str, element: str) -> str:
    assert page.count(tag) == 1, f"index.html must hold {tag} exactly once"
    return page.replace(tag, element)


def check_offline_size(points: int, dim: int) -> None:
    """Raises ConfigError when ``points`` × ``dim`` numbers exceed ``MAX_FLOATS``."""
    floats = points * dim
    if floats > MAX_FLOATS:
        raise ConfigError(
            f"{points:,} words × {dim} dimensions = {floats:,} numbers are too many for one offline "
            f"HTML file; expected at most {MAX_FLOATS:,} (draw fewer words with --points, e.g. "
            f"--points {MAX_FLOATS // dim})"
        )


def offline_html(data: ExplorerData) -> str:
    """The whole page as one HTML string with its assets and ``data.offline_points()`` inlined.

    Raises:
        ConfigError: the drawn rows hold more than ``MAX_FLOATS`` numbers.
    """
    check_offline_size(data.shown, data.vectors.vector_size)
    page = read_asset("index.html")
    page = page.replace("<head>\n", f'<head>\n<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n', 1)
    page = _inline(page, _STYLE_TAG, f"<style>\n{read_asset('explorer.css')}</style>")
    tags = [(f'<script src="static/{name}"></script>', read_asset(name)) for name in _SCRIPTS]
    for name, (_, code) in zip(_SCRIPTS, tags):
        assert "</script" not in code.lower(), f"{name} must not contain '</script'"
    payload = f'<script type="application/json" id="embedded-data">{_script_json(data.offline_points())}</script>\n'
    for i, (tag, code) in enumerate(tags):
        page = _inline(page, tag, (payload if i == 0 else "") + f"<script>\n{code}</script>")
    return page


def write_offline_html(data: ExplorerData, path: str | os.PathLike[str]) -> Path:
    """Write ``offline_html(data)`` to ``path`` atomically; returns the path."""
    text = offline_html(data)
    with atomic_write(path) as fh:
        fh.write(text)
    return Path(path)
