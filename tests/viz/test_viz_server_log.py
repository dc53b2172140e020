"""The explorer's --log (issue 13 §6): a client that hangs up mid-answer is one line saying so, not
a 500 with a BrokenPipeError; lines logged from concurrent requests never run together."""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from embedlayer.vectors import Vectors
from embedlayer.viz.explorer import build_explorer
from embedlayer.viz.server import ExplorerServer


@pytest.fixture(scope="module")
def data(glove: Vectors):
    return build_explorer(glove, source="glove3k.txt", points=500, dim=2)


def _wait_for(lines: list[str], pattern: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not any(re.search(pattern, line) for line in lines) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_client_that_hangs_up_is_not_a_server_error(data) -> None:
    lines: list[str] = []
    with ExplorerServer(0, log=lines.append).start(data) as server:
        server._httpd.points_json = b"[" + b"0," * 20_000_000 + b"0]"  # 40 MB: more than the socket buffers
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"GET /api/points HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        _wait_for(lines, "hung up")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)  # and the server still answers
        conn.request("GET", "/api/neighbors?word=king&k=2")
        assert conn.getresponse().status == 200
        conn.close()
    assert any("hung up" in line and "/api/points" in line for line in lines), lines
    assert not [line for line in lines if " 500 " in line or "Error" in line or "error" in line], lines


def test_log_lines_from_concurrent_requests_stay_whole(data) -> None:
    out: list[str] = []

    def log(message: str) -> None:  # writes a line in two parts, as print does
        out.append(message)
        time.sleep(0.002)
        out.append("\n")

    with ExplorerServer(0, log=log).start(data) as server:

        def query(i: int) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                conn.request("GET", f"/api/neighbors?word=king&k={1 + i % 5}")
                response = conn.getresponse()
                response.read()  # all of it: a close with unread bytes resets, and the server logs a hang-up
                return response.status
            finally:
                conn.close()

        barrier = threading.Barrier(16)

        def together(i: int) -> int:
            barrier.wait()
            return query(i)

        with ThreadPoolExecutor(16) as pool:
            assert set(pool.map(together, range(16))) == {200}
    lines = "".join(out).splitlines()
    assert len(lines) == 16, lines
    assert all(re.fullmatch(r'"GET /api/neighbors\?word=king&k=\d HTTP/1.1" 200 -', line) for line in lines), lines
