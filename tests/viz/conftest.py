"""Fixtures for the viz tests: a few thousand real GloVe vectors, and headless Chromium when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from embedlayer.vectors import Vectors, load_vectors

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def glove_path(shared_data: Path, tmp_path_factory) -> Path:
    """The first 3,000 words of GloVe 6B 50d as a GloVe text file."""
    path = tmp_path_factory.mktemp("glove") / "glove3k.txt"
    with open(shared_data / "vectors" / "glove.6B.50d.top20k.txt", "rb") as fh:
        path.write_bytes(b"".join(next(fh) for _ in range(3000)))
    return path


@pytest.fixture(scope="session")
def glove(glove_path: Path) -> Vectors:
    return load_vectors(glove_path)


def chromium_skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if os.environ.get("EMBEDLAYER_SKIP_BROWSER"):
        return "EMBEDLAYER_SKIP_BROWSER is set"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"{CHROMIUM} not found: install Debian's chromium and chromium-driver (as root: apt-get install -y "
            f"chromium chromium-driver; `make test` does it under CI=true)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (it is in the dev extra: pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The browser the tests drive (Debian's)."""
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_instance():
    reason = chromium_skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """Headless Debian Chromium with WebGL through SwiftShader (software GL, as a CI machine has)."""
    b = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
    )
    yield b
    b.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors, page errors and every request URL."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.errors, pg.requests = [], []
    pg.on("console", lambda m: pg.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(f"pageerror: {e}"))
    pg.on("request", lambda r: pg.requests.append(r.url))
    yield pg
    context.close()
