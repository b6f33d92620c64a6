"""A real HTTP server on 127.0.0.1 for tests: each route is a small handler function.

    with LoopbackServer({"/ok.png": serve_bytes(png, "image/png")}) as server:
        image_from_url(server.url("/ok.png"))

A handler receives the live `BaseHTTPRequestHandler` and writes the whole response
itself, so a test can send a 404, trickle bytes, cut a transfer short or loop redirects.
Requests are recorded in `server.requests` as (method, path, headers).
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Handler = Callable[[BaseHTTPRequestHandler], None]


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_bytes(body: bytes, content_type: str = "application/octet-stream", status: int = 200) -> Handler:
    """A handler that sends `body` whole, honouring a `Range: bytes=N-` request with 206."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        start = 0
        rng = req.headers.get("Range")
        if rng and rng.startswith("bytes=") and status == 200:
            start = int(rng[len("bytes="):].split("-")[0] or 0)
        if start >= len(body) and start > 0:
            req.send_response(416)
            req.send_header("Content-Range", f"bytes */{len(body)}")
            req.end_headers()
            return
        part = body[start:]
        req.send_response(206 if start else status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(part)))
        req.send_header("Accept-Ranges", "bytes")
        if start:
            req.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        req.end_headers()
        req.wfile.write(part)

    return handle


def serve_status(status: int, body: bytes = b"") -> Handler:
    """A handler that answers with an error status and a short body."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "text/plain")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    return handle


def serve_trickle(body: bytes, delay: float, content_type: str = "image/png") -> Handler:
    """A handler that sends one byte every `delay` seconds (a server that never quite finishes)."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        try:
            for i in range(len(body)):
                req.wfile.write(body[i:i + 1])
                req.wfile.flush()
                time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass

    return handle


def serve_redirect(location: str, status: int = 302) -> Handler:
    """A handler that redirects to `location` (point two at each other for a loop)."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        req.send_response(status)
        req.send_header("Location", location)
        req.send_header("Content-Length", "0")
        req.end_headers()

    return handle


def serve_delayed(body: bytes, delay: float, content_type: str = "image/png") -> Handler:
    """A handler that waits `delay` seconds, then sends `body` whole (a slow but honest server)."""
    send = serve_bytes(body, content_type)

    def handle(req: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        send(req)

    return handle


def serve_stream(head: bytes, total: int, content_type: str = "image/jpeg",
                 declare_length: bool = True, chunk: int = 64 * 1024) -> Handler:
    """A handler that sends `head` then zeros up to `total` bytes, never holding them all.

    With `declare_length=False` the body goes out chunked, so only counting the bytes
    as they arrive can tell how big it is.
    """
    filler = bytes(chunk)

    def handle(req: BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", content_type)
        if declare_length:
            req.send_header("Content-Length", str(total))
        else:
            req.send_header("Transfer-Encoding", "chunked")
        req.end_headers()
        sent = 0
        while sent < total:
            part = head if sent == 0 else filler[: min(chunk, total - sent)]
            if declare_length:
                req.wfile.write(part)
            else:
                req.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            sent += len(part)
        if not declare_length:
            req.wfile.write(b"0\r\n\r\n")

    return handle


def serve_cut(body: bytes, keep: int, content_type: str = "image/png") -> Handler:
    """A handler that promises all of `body`, sends the first `keep` bytes, then hangs up."""

    def handle(req: BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body[:keep])
        req.wfile.flush()
        req.close_connection = True

    return handle


class _Server(ThreadingHTTPServer):
    # The stdlib's listen backlog of 5 drops the SYNs of a burst of parallel connections,
    # and each dropped one costs a 1 s retransmit: a parallel-fetch test would time that.
    request_queue_size = 64

    def handle_error(self, request: object, client_address: object) -> None:
        # A client hanging up mid-exchange is routine here (tests cut transfers on purpose);
        # anything else still prints its traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 and a free port, serving `routes` until closed."""

    def __init__(self, routes: dict[str, Handler] | None = None):
        self.routes: dict[str, Handler] = dict(routes or {})
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                server.requests.append(("GET", path, dict(self.headers)))
                handler = server.routes.get(path, serve_status(404, b"not found"))
                try:
                    handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """The full http:// address of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
