"""`embedlayer explore` in-process: the offline file, serving end to end, one clear line for bad input."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from cli_helpers import fails

from embedlayer.cli.main import main
from embedlayer.viz.server import ExplorerServer


@pytest.fixture
def glove_small(glove_head) -> Path:
    """The first 2,000 words of GloVe 6B 50d."""
    return glove_head(2000)


def test_html_file(glove_small: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "site" / "explorer.html"
    assert main(["explore", str(glove_small), "--points", "500", "--html", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["points"] == 500 and summary["bytes"] == out.stat().st_size
    assert summary["projection"].startswith("PCA 3-d")
    html = out.read_text(encoding="utf-8")
    assert '<script type="application/json" id="embedded-data">' in html and "http://" not in html


def test_serving_end_to_end(glove_small: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    seen: dict = {}

    def serve_then_stop(self, data) -> None:  # instead of serving forever: query it, then press Ctrl-C
        self.start(data)
        with urllib.request.urlopen(self.url + "api/neighbors?word=king&k=3", timeout=30) as resp:
            seen["neighbors"] = json.loads(resp.read())["neighbors"]
        with urllib.request.urlopen(self.url, timeout=30) as resp:
            seen["page"] = resp.read()
        raise KeyboardInterrupt

    monkeypatch.setattr(ExplorerServer, "serve", serve_then_stop)
    labels = tmp_path / "labels.tsv"
    labels.write_text("king\troyal\npresident\tpolitics\n", encoding="utf-8")
    assert main(["explore", str(glove_small), "--port", "0", "--labels", str(labels), "--dim", "2"]) == 0
    err = capsys.readouterr().err
    assert "serving http://127.0.0.1:" in err and "2,000 words drawn, PCA 2-d" in err and "stopped" in err
    assert "labels: 2 of 2,000 drawn words have one (2 label(s))" in err
    assert seen["neighbors"][0]["word"] == "prince" and b"static/app.js" in seen["page"]


def test_port_in_use(glove_small: Path, capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = fails(capsys, "explore", str(glove_small), "--port", str(port))
    assert line == (
        f"embedlayer: error: port {port} on 127.0.0.1 is already in use; stop what listens there or "
        f"choose another with --port (--port 0 picks a free one)"
    )
    assert "expected an integer from 0 to 65535" in fails(capsys, "explore", str(glove_small), "--port", "70000")


def test_bad_input(glove_small: Path, tmp_path: Path, capsys) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_bytes(b"".join(glove_small.read_bytes().splitlines(keepends=True)[:3]))
    line = fails(capsys, "explore", str(tiny), "--port", "0")
    assert line.endswith("tiny.txt: 3 vector(s) are too few to project to 3-d with PCA; expected at least 4 rows")
    assert "expected at least 3 rows" in fails(
        capsys, "explore", str(tiny), "--html", str(tmp_path / "t.html"), "--limit", "2", "--dim", "2"
    )
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert "is a file, not a folder" in fails(capsys, "explore", str(glove_small), "--html", str(blocker / "e.html"))
    labels = tmp_path / "labels.tsv"
    labels.write_text("zzqx\tnone\n", encoding="utf-8")
    assert "none of the 2,000 drawn words has a label" in fails(
        capsys, "explore", str(glove_small), "--labels", str(labels), "--html", str(tmp_path / "l.html")
    )
    assert "--points 0" in fails(capsys, "explore", str(glove_small), "--points", "0")
    assert "no such file" in fails(capsys, "explore", str(tmp_path / "nope.txt"), "--port", "0")


def test_html_size_limit(glove_small: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    from embedlayer.viz import offline

    monkeypatch.setattr(offline, "MAX_FLOATS", 10_000)
    line = fails(capsys, "explore", str(glove_small), "--html", str(tmp_path / "big.html"))
    assert "2,000 words × 50 dimensions = 100,000 numbers are too many" in line and "--points 200" in line
    assert not (tmp_path / "big.html").exists()
