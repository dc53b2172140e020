"""The explorer's web server: read-only, on 127.0.0.1 only, its own assets and JSON queries.

Routes (GET and HEAD; any other method gets 405)::

    /                       the page (index.html)
    /static/<asset>         the page's CSS and JS, shipped in the package (a fixed list)
    /api/points             words, projected coordinates and labels (see ExplorerData.points)
    /api/neighbors?word=W&k=K          the K nearest words to W (cosine, full space)
    /api/analogy?a=A&b=B&c=C&k=K       the K words nearest to A − B + C

Every parameter is validated: an unknown or repeated parameter, a missing word or a bad ``k`` is
a 400 with a JSON ``{"error": ...}``; a word that is not in the vocabulary is a 404 with a JSON
message the page shows. Every response is JSON or one of the package's assets, never an HTML
error page. The Host header must name this server (127.0.0.1 or localhost with its port), which
stops a web page elsewhere from reaching it through DNS rebinding.
"""

from __future__ import annotations

import contextlib
import errno
import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from embedlayer.errors import ConfigError
from embedlayer.viz.assets import ASSET_TYPES, load_assets
from embedlayer.viz.explorer import K_DEFAULT, K_MAX, ExplorerData

__all__ = ["HOST", "ExplorerServer"]

HOST = "127.0.0.1"
MAX_WORD = 200  # characters in a query word
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ApiError(Exception):
    """An answer other than 200: HTTP status and a JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": message, **extra}


def _params(query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query string as a dict; 400 for a malformed, unknown or repeated parameter."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query), errors="strict", max_num_fields=8)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed query string ({exc}); expected name=value pairs joined by &") from None
    out: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            expect = ", ".join(allowed) if allowed else "none"
            raise ApiError(400, f"unknown parameter {name!r}; expected: {expect}")
        if name in out:
            raise ApiError(400, f"parameter {name!r} is given more than once; expected it once")
        out[name] = value
    return out


def _word(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, f"parameter {name!r} is missing or empty; expected a word")
    if len(value) > MAX_WORD:
        raise ApiError(400, f"parameter {name!r} has {len(value)} characters; expected at most {MAX_WORD}")
    return value


def _k(params: dict[str, str]) -> int:
    raw = params.get("k")
    if raw is None:
        return K_DEFAULT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= K_MAX:
        raise ApiError(400, f"parameter k={raw!r}: expected an integer from 1 to {K_MAX}")
    return int(raw)


class _Handler(BaseHTTPRequestHandler):
    """One request; the routes are in ``do_GET``. Runs in its own thread."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "embedlayer-explorer"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _refuse(self) -> None:
        self.close_connection = True  # a request body, if any, is never read: do not reuse the connection
        self._send_json(
            405,
            {"error": f"method {self.command} is not allowed: this server is read-only; expected GET or HEAD"},
            body=True,
            headers={"Allow": "GET, HEAD"},
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _answer(self, *, body: bool) -> None:
        try:
            self._check_host()
            url = urlsplit(self.path)
            if url.path in self.server.assets:
                p = _params(url.query, ("renderer",) if url.path == "/" else ())
                if p.get("renderer", "webgl") not in ("webgl", "2d"):
                    raise ApiError(400, f"parameter renderer={p['renderer']!r}: expected webgl or 2d")
                self._send_asset(url.path, body=body)
                return
            if url.path == "/api/points":
                _params(url.query, ())
                self._send(200, self.server.points_json, "application/json; charset=utf-8", body=body, cache=False)
                return
            self._send_json(200, self._api(url.path, url.query), body=body, cache=False)
        except ApiError as exc:
            self._send_json(exc.status, exc.body, body=body, cache=False)
        except ConnectionError:  # the client went away mid-answer (a closed tab, a cancelled fetch)
            self.close_connection = True
            self.server.report(f"{self.command} {self.path}: the client hung up before the answer was complete")
        except Exception as exc:  # noqa: BLE001 - a bug: report it as JSON, keep serving
            self.server.report(f"error answering {self.path!r}: {type(exc).__name__}: {exc}")
            self._send_json(500, {"error": f"internal error: {type(exc).__name__}"}, body=body, cache=False)

    def _check_host(self) -> None:
        host = (self.headers.get("Host") or "").lower()
        if host not in self.server.allowed_hosts:
            expected = sorted(self.server.allowed_hosts)
            raise ApiError(403, f"Host {host!r} is not this server; expected one of {expected}")

    def _api(self, path: str, query: str) -> dict[str, Any]:
        data = self.server.data
        if path == "/api/neighbors":
            p = _params(query, ("word", "k"))
            words, k = [_word(p, "word")], _k(p)
        elif path == "/api/analogy":
            p = _params(query, ("a", "b", "c", "k"))
            words, k = [_word(p, "a"), _word(p, "b"), _word(p, "c")], _k(p)
        else:
            raise ApiError(
                404, f"no such path {path!r}; expected /, /static/..., /api/points, /api/neighbors or /api/analogy"
            )
        unknown = data.unknown(words)
        if unknown is not None:
            raise ApiError(
                404,
                data.unknown_message(unknown),
                kind="unknown_word",
                word=unknown,
                suggestions=data.suggestions(unknown),
            )
        with self.server.compute:  # one query computes at a time: see _Server.compute
            if len(words) == 1:
                return data.neighbours(words[0], k)
            a, b, c = words
            return data.analogy(a, b, c, k)

    def _send_asset(self, path: str, *, body: bool) -> None:
        content = self.server.assets[path]
        headers = {"Content-Security-Policy": _PAGE_CSP} if path == "/" else {}
        self._send(
            200,
            content,
            ASSET_TYPES[path.rsplit(".", 1)[-1] if "." in path else "html"],
            body=body,
            cache=True,
            headers=headers,
        )

    def _send_json(
        self, status: int, obj: Any, *, body: bool, cache: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        content = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._send(status, content, "application/json; charset=utf-8", body=body, cache=cache, headers=headers)

    def _send(
        self, status: int, content: bytes, kind: str, *, body: bool, cache: bool, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-cache" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(content)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (malformed request line, header too long, ...) as JSON too."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client is gone: nobody to tell
            self._send_json(code, {"error": message or explain or f"HTTP {code}"}, body=self.command != "HEAD")

    def log_message(self, format: str, *args: Any) -> None:
        self.server.report(format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of concurrent page queries must not be refused at connect

    data: ExplorerData
    assets: dict[str, bytes]
    allowed_hosts: frozenset[str]
    points_json: bytes = b""
    # A query is one BLAS product over the whole table plus a top-k, each already multi-threaded:
    # many at once only fight for the cores (50 concurrent queries over 400k rows ran 10x slower
    # in total than one after another). Threads still read requests and write answers in parallel.
    compute: threading.Lock
    log: Callable[[str], None] | None = None
    # Requests are answered in threads: one line is logged at a time, so lines never run together
    # (print writes a message and its newline apart).
    log_lock: threading.Lock

    def report(self, message: str) -> None:
        if self.log is not None:
            with self.log_lock:
                self.log(message)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that fails outside a request's answer (a client that hangs up while sending
        it, say) is one line, not a traceback on the terminal."""
        what = "hung up" if isinstance(sys.exc_info()[1], ConnectionError) else "ended with an error"
        self.report(f"connection from {client_address[0]}:{client_address[1]} {what}")


class ExplorerServer:
    """The explorer's HTTP server, bound at construction (so a busy port fails before any work).

    Usage::

        server = ExplorerServer(port=8765)        # ConfigError when the port is taken
        server.serve(build_explorer(vectors, source=path))   # blocks; Ctrl-C raises KeyboardInterrupt

    or ``with ExplorerServer(0).start(data) as server: ... server.url ...`` in a background thread.
    """

    def __init__(self, port: int = 8765, *, log: Callable[[str], None] | None = None) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"port {port!r}: expected an integer from 0 to 65535 (0: any free port)")
        try:
            self._httpd = _Server((HOST, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {HOST} is already in use; stop what listens there or choose "
                    f"another with --port (--port 0 picks a free one)"
                ) from None
            if exc.errno == errno.EACCES:
                raise ConfigError(
                    f"port {port} on {HOST} needs privileges this user lacks; expected a port "
                    f"above 1023 (--port 0 picks a free one)"
                ) from None
            raise
        self._httpd.log = log
        self._httpd.log_lock = threading.Lock()
        self._httpd.compute = threading.Lock()
        self.port = int(self._httpd.server_address[1])
        self._httpd.allowed_hosts = frozenset({f"{HOST}:{self.port}", f"localhost:{self.port}"})
        self._httpd.assets = load_assets()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``"""
        return f"http://{HOST}:{self.port}/"

    def _load(self, data: ExplorerData) -> None:
        self._httpd.data = data
        self._httpd.points_json = json.dumps(data.points(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def serve(self, data: ExplorerData) -> None:
        """Answer requests about ``data`` until interrupted (KeyboardInterrupt); then close."""
        self._load(data)
        try:
            self._httpd.serve_forever(poll_interval=0.25)
        finally:
            self._httpd.server_close()

    def start(self, data: ExplorerData) -> ExplorerServer:
        """Answer requests in a background thread; ``close()`` stops it. Returns self."""
        self._load(data)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="embedlayer-explorer", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving (if started) and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ExplorerServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
