"""The small loopback HTTP servers the tests stand up (fault proxy, recorded-archive replay, Save Page Now
endpoint, webhook receiver) share one lifecycle and one way of answering."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def respond(handler: BaseHTTPRequestHandler, status: int, headers: Iterable[tuple[str, str]] = (),
            body: bytes = b"") -> None:
    """Send a complete answer with a Content-Length, so keep-alive clients know where it ends."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port), serving from a daemon thread once started."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
