"""The explorer in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Skipped with the reason when Chromium or Playwright is missing (see conftest.py); CI installs both.
Set EMBEDLAYER_SCREENSHOTS=DIR to keep the screenshots for a look.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from embedlayer.vectors import Vectors
from embedlayer.viz.explorer import build_explorer
from embedlayer.viz.labels import LabelSet
from embedlayer.viz.offline import write_offline_html
from embedlayer.viz.server import ExplorerServer

pytestmark = pytest.mark.browser

NUMBERS = [str(i) for i in range(1, 200)]
COUNTRIES = [
    "france",
    "germany",
    "italy",
    "spain",
    "china",
    "japan",
    "russia",
    "india",
    "britain",
    "canada",
    "brazil",
    "mexico",
    "egypt",
    "iran",
    "iraq",
]
ROYAL = ["king", "queen", "prince", "princess", "royal", "throne", "emperor"]


@pytest.fixture(scope="module")
def data(glove: Vectors):
    by_word = {**{w: "number" for w in NUMBERS}, **{w: "country" for w in COUNTRIES}, **{w: "royal" for w in ROYAL}}
    labels = LabelSet(by_word=by_word, names=("number", "country", "royal"), source="topics.tsv")
    return build_explorer(glove, source="glove3k.txt", points=len(glove), dim=3, labels=labels)


@pytest.fixture(scope="module")
def served(data):
    with ExplorerServer(0).start(data) as server:
        yield server


def api(server, path: str) -> dict:
    with urllib.request.urlopen(server.url + path, timeout=30) as resp:
        return json.loads(resp.read())


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll a JS expression (page.wait_for_function would eval a string, which the page's CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def open_page(page, url: str) -> None:
    """Load ``url`` and wait until the page has drawn; fail at once on a page error or a load message."""
    import time

    page.goto(url)
    errors = getattr(page, "errors", [])
    deadline = time.monotonic() + 30
    while page.evaluate("document.body.dataset.ready") != "1":
        assert not any(e.startswith("pageerror") for e in errors), errors
        assert page.locator("#message").is_hidden(), page.locator("#message").text_content()
        assert time.monotonic() < deadline, "the page did not finish drawing in 30 s"
        page.wait_for_timeout(50)


def shoot(page, tmp_path: Path, name: str) -> np.ndarray:
    """Screenshot of the page as an (H, W, 3) uint8 array; kept in $EMBEDLAYER_SCREENSHOTS if set."""
    from PIL import Image

    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    keep = os.environ.get("EMBEDLAYER_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return np.asarray(Image.open(path).convert("RGB"))


def stage(pixels: np.ndarray) -> np.ndarray:
    return pixels[:, 360:]  # right of the 340 px side panel


def assert_not_blank(pixels: np.ndarray) -> None:
    area = stage(pixels).astype(np.float64)
    assert area.std() > 8, "the stage is (nearly) one colour"
    background = np.median(area.reshape(-1, 3), axis=0)
    inked = (np.abs(area - background) > 15).any(axis=2).mean()
    assert inked > 0.005, f"only {inked:.4%} of the stage differs from its background"


def neighbour_rows(page, list_id: str = "neighbours") -> list[tuple[str, str]]:
    page.wait_for_selector(f"#{list_id} li")
    return list(
        zip(
            page.locator(f"#{list_id} li .word").all_text_contents(),
            page.locator(f"#{list_id} li .score").all_text_contents(),
        )
    )


def test_page_loads_without_console_errors(page, served, data, tmp_path: Path) -> None:
    open_page(page, served.url)
    assert page.evaluate("document.body.dataset.renderer") == "webgl"
    assert page.evaluate("window.__explorer.n") == 3000
    assert page.locator("#info").text_content().startswith("glove3k.txt: 3,000 words · 50-d vectors · PCA 3\u2011d")
    counts = [sum(w in data.vectors for w in group) for group in (NUMBERS, COUNTRIES, ROYAL)]
    assert page.locator("#legend li").all_text_contents() == [
        f"number{counts[0]}",
        f"country{counts[1]}",
        f"royal{counts[2]}",
    ]
    assert all(u.startswith(served.url) for u in page.requests), page.requests  # only its own assets
    assert_not_blank(shoot(page, tmp_path, "explorer-loaded"))
    assert page.errors == []


def test_search_with_completion_shows_neighbours_and_scores(page, served) -> None:
    open_page(page, served.url)
    page.locator("#search").press_sequentially("fran")
    page.wait_for_selector("#completions li")
    options = page.locator("#completions li").all_text_contents()
    assert options[0] == "france" and all(o.lower().startswith("fran") for o in options)
    page.locator("#completions li", has_text="france").first.dispatch_event("mousedown")
    expected = api(served, "api/neighbors?word=france&k=10")["neighbors"]
    assert neighbour_rows(page) == [(n["word"], f"{n['score']:.3f}") for n in expected]
    assert page.locator("#results-title").text_content() == "10 nearest to france"
    page.fill("#k", "3")
    page.fill("#search", "king")
    page.press("#search", "Enter")
    wait_until(page, "document.querySelectorAll('#neighbours li').length === 3")
    expected = api(served, "api/neighbors?word=king&k=3")["neighbors"]
    assert [w for w, _ in neighbour_rows(page)] == [n["word"] for n in expected]
    highlighted = page.evaluate("window.__explorer.highlight.found.map(f => f.word)")
    assert highlighted == [w for w, _ in neighbour_rows(page)]
    assert page.errors == []


def test_clicking_a_point_shows_its_neighbours(page, served, data) -> None:
    open_page(page, served.url)
    row = data.vectors.key_to_index["paris"]
    x, y = page.evaluate(f"[window.__explorer.screen[{2 * row}], window.__explorer.screen[{2 * row + 1}]]")
    box = page.locator("#overlay").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#neighbours li")
    assert page.locator("#results-title .query").text_content() == "paris"
    assert page.locator("#search").input_value() == "paris"
    assert page.errors == []


def test_analogy_box_answers(page, served) -> None:
    open_page(page, served.url)
    page.fill("#an-a", "king")
    page.fill("#an-b", "man")
    page.fill("#an-c", "woman")
    page.click("#an-go")
    rows = neighbour_rows(page, "analogy-results")
    expected = api(served, "api/analogy?a=king&b=man&c=woman&k=10")["answers"]
    assert rows[0][0] == "queen" and rows == [(a["word"], f"{a['score']:.3f}") for a in expected]
    wait_until(page, "window.__explorer.labelBoxes && window.__explorer.labelBoxes.length === 13")
    boxes = page.evaluate("window.__explorer.labelBoxes")  # the 3 query words and 10 answers, on the canvas
    clashes = [
        (a, b)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
    ]
    assert clashes == []
    assert page.errors == []


def test_unknown_word_and_bad_k_are_messages(page, served) -> None:
    open_page(page, served.url)
    page.fill("#search", "Kingg")
    page.press("#search", "Enter")
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert "word 'Kingg' is not in the vocabulary of glove3k.txt" in message.text_content()
    page.fill("#search", "King")
    page.press("#search", "Enter")
    page.wait_for_selector("#message button:text-is('king')")
    page.click("#message button:text-is('king')")  # the suggestion searches it
    page.wait_for_selector("#neighbours li")
    assert message.is_hidden()
    before = len(page.requests)
    page.fill("#k", "0")
    page.fill("#search", "queen")
    page.press("#search", "Enter")
    assert "k must be a whole number from 1 to 100" in message.text_content()
    assert len(page.requests) == before  # rejected in the page, no query sent
    # the only console errors are the browser's notes about the two 404 answers
    assert len(page.errors) == 2 and all("404" in e for e in page.errors), page.errors


def test_zoom_pan_and_rotate(page, served, tmp_path: Path) -> None:
    open_page(page, served.url)
    box = page.locator("#overlay").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    flat = shoot(page, tmp_path, "explorer-2d")
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -600)
    wait_until(page, "window.__explorer.view.zoom > 2")
    page.mouse.move(cx + 5, cy + 5)
    page.mouse.down()
    page.mouse.move(cx + 105, cy + 45, steps=5)
    page.mouse.up()
    view = page.evaluate("window.__explorer.view")
    assert (view["panX"], view["panY"], view["mode"]) == (100, 40, "2d")  # zoomed about the centre: no pan
    page.click("#reset")
    page.click("#view-3d")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 80, cy + 30, steps=4)
    page.mouse.up()
    view = page.evaluate("window.__explorer.view")
    assert view["mode"] == "3d" and view["yaw"] == pytest.approx(0.6 + 0.8) and view["pitch"] == pytest.approx(0.65)
    page.wait_for_timeout(100)
    rotated = shoot(page, tmp_path, "explorer-3d")
    assert_not_blank(rotated)
    assert np.abs(stage(rotated).astype(int) - stage(flat).astype(int)).mean() > 1  # the picture moved
    assert page.errors == []


def test_colours_come_from_the_label_file(page, served, tmp_path: Path) -> None:
    open_page(page, served.url)
    r, g, b = stage(shoot(page, tmp_path, "explorer-labels")).reshape(-1, 3).astype(int).T
    blue = int(((b - r > 40) & (b - g > 10)).sum())  # number: #4e79a7
    orange = int(((r - b > 80) & (g - b > 40)).sum())  # country: #f28e2b
    red = int(((r - g > 70) & (np.abs(g - b) < 25)).sum())  # royal: #e15759
    grey = int(((np.abs(r - b) < 8) & (r < 225)).sum())  # unlabelled: #c8c8c8, lighter
    assert blue > 200 and orange > 60 and red > 15 and grey > 2000, (blue, orange, red, grey)
    page.click("#legend li:has-text('royal')")  # focus one label: the others fade
    page.wait_for_timeout(100)
    assert page.locator("#legend li.muted").count() == 2


def test_canvas_2d_renderer(page, served, tmp_path: Path) -> None:
    open_page(page, served.url + "?renderer=2d")
    assert page.evaluate("document.body.dataset.renderer") == "2d"
    page.fill("#search", "water")
    page.press("#search", "Enter")
    assert len(neighbour_rows(page)) == 10
    assert_not_blank(shoot(page, tmp_path, "explorer-canvas2d"))
    assert page.errors == []


def test_falls_back_to_canvas_2d_without_webgl(playwright_instance, chromium_path, served) -> None:
    browser = playwright_instance.chromium.launch(
        executable_path=chromium_path, args=["--disable-webgl", "--disable-3d-apis"]
    )
    try:
        pg = browser.new_page()
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        open_page(pg, served.url)
        assert pg.evaluate("document.body.dataset.renderer") == "2d" and errors == []
        assert "canvas 2D" in pg.locator("#status").text_content()
    finally:
        browser.close()


def test_offline_file_works_from_file_url(page, data, served, tmp_path: Path) -> None:
    path = write_offline_html(data, tmp_path / "explorer.html")
    open_page(page, path.resolve().as_uri())
    assert "offline file" in page.locator("#info").text_content()
    page.fill("#search", "france")
    page.press("#search", "Enter")
    expected = api(served, "api/neighbors?word=france&k=10")["neighbors"]  # the server, same 3,000 words
    rows = neighbour_rows(page)
    assert [w for w, _ in rows] == [n["word"] for n in expected]
    assert [float(s) for _, s in rows] == pytest.approx([n["score"] for n in expected], abs=1.1e-3)
    page.fill("#an-a", "king")
    page.fill("#an-b", "man")
    page.fill("#an-c", "woman")
    page.click("#an-go")
    assert neighbour_rows(page, "analogy-results")[0][0] == "queen"
    page.fill("#search", "Kingg")
    page.press("#search", "Enter")
    assert "not in the vocabulary" in page.locator("#message").text_content()
    assert_not_blank(shoot(page, tmp_path, "explorer-offline"))
    assert all(u.startswith(("file://", "data:")) for u in page.requests), page.requests  # no network
    assert page.errors == []


def test_fifty_thousand_points(page, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32)) * 3
    matrix = (centres[rng.integers(40, size=50_000)] + rng.normal(size=(50_000, 32))).astype(np.float32)
    vectors = Vectors([f"w{i:05d}" for i in range(50_000)], matrix, copy=False)
    data = build_explorer(vectors, source="synthetic-50k", points=50_000, dim=3)
    with ExplorerServer(0).start(data) as server:
        open_page(page, server.url)
        assert page.evaluate("window.__explorer.n") == 50_000
        box = page.locator("#overlay").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(10):
            page.mouse.wheel(0, -120)
            page.wait_for_timeout(30)
        page.fill("#search", "w00042")
        page.press("#search", "Enter")
        assert len(neighbour_rows(page)) == 10
        stats = page.evaluate("window.__explorer.stats")
        print(
            f"50,000 points, {page.evaluate('document.body.dataset.renderer')}: {stats['draws']} draws, "
            f"last {stats['lastDrawMs']:.1f} ms, max {stats['maxDrawMs']:.1f} ms"
        )
        assert stats["draws"] >= 5
        assert_not_blank(shoot(page, tmp_path, "explorer-50k"))
    assert page.errors == []


TOOLTIP_GEOMETRY = """(k) => {
  const tip = document.getElementById('tooltip'), stage = document.getElementById('overlay').getBoundingClientRect();
  const t = tip.getBoundingClientRect(), b = window.__explorer.labelBoxes[k];
  return {text: tip.textContent, tip: [t.left, t.top, t.right, t.bottom],
          label: [stage.left + b[0], stage.top + b[1], stage.left + b[0] + b[2], stage.top + b[1] + b[3]],
          stage: [stage.left, stage.top, stage.right, stage.bottom], viewport: [window.innerWidth, window.innerHeight]};
}"""


def screen_of(page, row: int) -> tuple[float, float]:
    """Where point ``row`` is drawn, in page px, once the pending frame (if any) is drawn."""
    wait_until(page, "!window.__explorer.drawPending")
    x, y = page.evaluate(f"[window.__explorer.screen[{2 * row}], window.__explorer.screen[{2 * row + 1}]]")
    box = page.locator("#overlay").bounding_box()
    return box["x"] + x, box["y"] + y


def assert_tooltip_clear(page, row: int, word: str, label: int) -> None:
    """Hover point ``row``: its tooltip shows ``word``, covers none of label box ``label`` and stays in view."""
    box = page.locator("#overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*screen_of(page, row))
    wait_until(page, f"window.__explorer.hover === {row} && !document.getElementById('tooltip').hidden")
    g = page.evaluate(TOOLTIP_GEOMETRY, label)
    (tl, tt, tr, tb), (ll, lt, lr, lb) = g["tip"], g["label"]
    assert g["text"] == word
    assert not (tl < lr and ll < tr and tt < lb and lt < tb), (
        f"the tooltip {g['tip']} covers {word}'s label {g['label']}"
    )
    sl, st, sr, sb = g["stage"]
    assert sl <= tl and st <= tt and tr <= sr and tb <= sb, f"the tooltip {g['tip']} leaves the stage {g['stage']}"
    assert tl >= 0 and tt >= 0 and tr <= g["viewport"][0] and tb <= g["viewport"][1], (g["tip"], g["viewport"])


def test_hover_tooltip_keeps_clear_of_the_label_and_inside_the_view(page, served, data) -> None:
    open_page(page, served.url)
    page.fill("#search", "france")
    page.press("#search", "Enter")
    page.wait_for_selector("#neighbours li")
    wait_until(page, "window.__explorer.labelBoxes.length === 11")
    found = page.evaluate("window.__explorer.highlight.found.map(f => [f.index, f.word])")
    france = data.vectors.key_to_index["france"]
    # the labels are the query's (box 0) and then the found words' in order (boxes 1..10)
    for k, (row, word) in enumerate([(france, "france"), *found]):
        assert_tooltip_clear(page, row, word, k)
    box = page.locator("#overlay").bounding_box()
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    for corner in [(right - 20, bottom - 8), (right - 8, box["y"] + 30), (box["x"] + 10, box["y"] + 10)]:
        page.mouse.move(*screen_of(page, france))  # drag (pan) the query point into a corner of the stage
        page.mouse.down()
        page.mouse.move(*corner, steps=5)
        page.mouse.up()
        x, y = screen_of(page, france)
        assert abs(x - corner[0]) < 1 and abs(y - corner[1]) < 1
        assert_tooltip_clear(page, france, "france", 0)
    assert page.errors == []
