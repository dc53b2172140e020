"""The explorer's server over real HTTP on 127.0.0.1: assets, queries, validation, a burst of 50 clients."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import pytest

from embedlayer.errors import ConfigError
from embedlayer.vectors import Vectors
from embedlayer.viz.explorer import build_explorer
from embedlayer.viz.server import ExplorerServer


@pytest.fixture(scope="module")
def data(glove: Vectors):
    return build_explorer(glove, source="glove3k.txt", points=2000, dim=3)


@pytest.fixture(scope="module")
def server(data):
    with ExplorerServer(0).start(data) as srv:
        yield srv


def request(server, path: str, method: str = "GET", headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, dict(resp.getheaders()), body
    finally:
        conn.close()


def get_json(server, path: str):
    status, headers, body = request(server, path)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    return status, json.loads(body)


def test_binds_loopback_only(server) -> None:
    assert server._httpd.server_address[0] == "127.0.0.1" and server.url == f"http://127.0.0.1:{server.port}/"


def test_page_and_assets_come_from_the_package(server) -> None:
    static = resources.files("embedlayer.viz") / "static"
    status, headers, body = request(server, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == (static / "index.html").read_bytes()
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"
    for name, kind in (
        ("app.js", "text/javascript"),
        ("render.js", "text/javascript"),
        ("query.js", "text/javascript"),
        ("explorer.css", "text/css"),
    ):
        status, headers, body = request(server, f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and body == (static / name).read_bytes()
    status, headers, body = request(server, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000


@pytest.mark.parametrize(
    "path",
    [
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/",
        "/etc/passwd",
        "/static/app.js/",
        "/favicon.ico",
        "/api",
        "/api/points/x",
    ],
)
def test_nothing_else_is_served(server, path: str) -> None:
    status, body = get_json(server, path)
    assert status == 404 and "no such path" in body["error"]


def test_points_and_queries(server, data) -> None:
    status, body = get_json(server, "/api/points")
    assert status == 200 and body == json.loads(json.dumps(data.points()))
    status, body = get_json(server, "/api/neighbors?word=king&k=5")
    assert status == 200 and body == json.loads(json.dumps(data.neighbours("king", 5)))
    status, body = get_json(server, "/api/neighbors?word=france")
    assert status == 200 and len(body["neighbors"]) == 10  # k defaults to 10
    status, body = get_json(server, "/api/analogy?a=king&b=man&c=woman&k=3")
    assert status == 200 and body["answers"][0]["word"] == "queen"
    status, body = get_json(server, "/api/neighbors?word=%C3%A9t%C3%A9&k=2")  # UTF-8, percent-encoded
    assert status in (200, 404) and ("neighbors" in body or "été" in body["error"])


def test_unknown_word_is_a_message(server) -> None:
    status, body = get_json(server, "/api/neighbors?word=Kingg&k=5")
    assert status == 404 and body["kind"] == "unknown_word" and body["word"] == "Kingg"
    assert body["error"].startswith("word 'Kingg' is not in the vocabulary of glove3k.txt (3,000 words)")
    status, body = get_json(server, "/api/neighbors?word=King")
    assert status == 404 and body["suggestions"][0] == "king" and "did you mean king" in body["error"]
    status, body = get_json(server, "/api/analogy?a=king&b=zzzq&c=woman")
    assert status == 404 and body["word"] == "zzzq"


@pytest.mark.parametrize(
    "query, message",
    [
        ("word=king&k=0", "parameter k='0': expected an integer from 1 to 100"),
        ("word=king&k=101", "parameter k='101'"),
        ("word=king&k=abc", "parameter k='abc'"),
        ("word=king&k=2.5", "parameter k='2.5'"),
        ("word=king&k=-3", "parameter k='-3'"),
        ("word=king&k=", "parameter k=''"),
        ("word=king&k=%EF%BC%95", "parameter k='５'"),  # a full-width digit is not ASCII
        ("word=&k=3", "parameter 'word' is missing or empty"),
        ("k=3", "parameter 'word' is missing or empty"),
        ("word=king&word=queen", "parameter 'word' is given more than once"),
        ("word=king&topn=3", "unknown parameter 'topn'; expected: word, k"),
        ("word=%ff", "malformed query string"),
        ("word=" + "a" * 201, "has 201 characters; expected at most 200"),
    ],
)
def test_bad_parameters_are_400_json(server, query: str, message: str) -> None:
    status, body = get_json(server, f"/api/neighbors?{query}")
    assert status == 400 and message in body["error"]


def test_bad_parameters_elsewhere(server) -> None:
    assert get_json(server, "/api/points?x=1")[0] == 400
    assert get_json(server, "/static/app.js?v=1")[0] == 400
    assert get_json(server, "/api/analogy?a=king&b=man")[1]["error"].startswith("parameter 'c' is missing")
    status, body = get_json(server, "/?renderer=vr")
    assert status == 400 and "expected webgl or 2d" in body["error"]
    assert request(server, "/?renderer=2d")[0] == 200


def test_read_only_and_host_checked(server) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, body = request(server, "/api/neighbors?word=king", method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD" and "read-only" in json.loads(body)["error"]
    status, _, body = request(server, "/", headers={"Host": "evil.example:80"})
    assert status == 403 and "is not this server" in json.loads(body)["error"]
    assert request(server, "/", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_malformed_requests_get_json_not_an_html_page(server) -> None:
    def raw(data: bytes) -> str:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(data)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode("latin-1")

    # a request line http.server cannot parse is answered HTTP/0.9 style (a body without headers): JSON
    assert json.loads(raw(b"GET / HTTP/9.9\r\n\r\n"))["error"] == "Invalid HTTP version (9.9)"
    assert json.loads(raw(b"THIS IS NOT HTTP\r\n\r\n"))["error"].startswith("Bad request version")


def test_a_burst_of_fifty_concurrent_clients(server, data) -> None:
    expected = {w: json.loads(json.dumps(data.neighbours(w, 7))) for w in ("king", "france", "good", "city", "water")}
    analogy = json.loads(json.dumps(data.analogy("king", "man", "woman", 4)))
    start = threading.Barrier(50)

    def client(i: int) -> list[bool]:
        start.wait()  # everyone at once
        ok = []
        for j in range(4):
            kind = (i + j) % 4
            if kind == 0:
                word = list(expected)[(i + j) % 5]
                status, body = get_json(server, f"/api/neighbors?word={word}&k=7")
                ok.append(status == 200 and body == expected[word])
            elif kind == 1:
                status, body = get_json(server, "/api/analogy?a=king&b=man&c=woman&k=4")
                ok.append(status == 200 and body == analogy)
            elif kind == 2:
                status, body = get_json(server, "/api/neighbors?word=nosuchwordzz")
                ok.append(status == 404 and body["kind"] == "unknown_word")
            else:
                status, body = get_json(server, "/api/neighbors?word=king&k=999")
                ok.append(status == 400)
        return ok

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = [ok for r in pool.map(client, range(50)) for ok in r]
    assert len(results) == 200 and all(results)
    assert get_json(server, "/api/neighbors?word=king&k=7")[1] == expected["king"]  # still serving


def test_port_in_use_and_bad_ports(server) -> None:
    with pytest.raises(ConfigError, match=rf"port {server.port} on 127.0.0.1 is already in use; .*--port 0"):
        ExplorerServer(server.port)
    for port in (-1, 65536, "80"):
        with pytest.raises(ConfigError, match="expected an integer from 0 to 65535"):
            ExplorerServer(port)  # type: ignore[arg-type]
