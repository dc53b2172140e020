"""The explorer page's files, shipped inside the package (``embedlayer/viz/static/``).

Nothing is fetched from the internet: the page is one HTML file, one stylesheet and three scripts,
served by ``server.py`` or inlined into one file by ``offline.py``.
"""

from __future__ import annotations

from importlib import resources

from embedlayer.errors import DataError

__all__ = ["ASSETS", "ASSET_TYPES", "load_assets", "read_asset"]

ASSETS = ("index.html", "explorer.css", "render.js", "query.js", "app.js")
ASSET_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
}


def read_asset(name: str) -> str:
    """The text of one of ``ASSETS``.

    Raises:
        DataError: the file is missing from the installed package (a broken install).
    """
    if name not in ASSETS:
        raise DataError(f"explorer asset {name!r}: expected one of {', '.join(ASSETS)}")
    try:
        return (resources.files("embedlayer.viz") / "static" / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"the explorer's file static/{name} is missing from the installed embedlayer package; "
            f"expected it beside embedlayer/viz/ (reinstall embedlayer)"
        ) from None


def load_assets() -> dict[str, bytes]:
    """URL path -> bytes for every asset: ``/`` is index.html, the others are ``/static/<name>``."""
    out = {"/": read_asset("index.html").encode("utf-8")}
    for name in ASSETS[1:]:
        out[f"/static/{name}"] = read_asset(name).encode("utf-8")
    return out
