"""Replay recorded Internet Archive exchanges (../shared/wayback-recordings cassettes) on loopback.

Requests are matched on path and query, exactly as recorded (the host is ours). CDX listings for the
recorded captures can be given as text, in the Internet Archive's own plain-text format, since those
cassettes hold only the capture exchanges. Every request is logged; unknown ones get a 404 without
``Memento-Datetime`` (which is how the archive says "nothing here").
"""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SKIP_HEADERS = {"transfer-encoding", "content-encoding", "content-length", "connection"}


def load_cassette(path: Path) -> dict[str, tuple[int, list[tuple[str, str]], bytes]]:
    import yaml

    data = yaml.safe_load(path.read_text())
    exchanges = {}
    for interaction in data["interactions"]:
        parts = urlsplit(interaction["request"]["uri"])
        key = parts.path + (f"?{parts.query}" if parts.query else "")
        response = interaction["response"]
        body = response["body"]["string"]
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = [(name, value) for name, values in response["headers"].items() for value in values]
        if any(n.lower() == "content-encoding" and "gzip" in v for n, v in headers):
            body = gzip.decompress(body)
        headers = [(n, v) for n, v in headers if n.lower() not in SKIP_HEADERS]
        exchanges[key] = (response["status"]["code"], headers, body)
    return exchanges


class ReplayArchive:
    def __init__(self, exchanges: dict[str, tuple[int, list[tuple[str, str]], bytes]], cdx: str = ""):
        self.exchanges = exchanges
        self.cdx = cdx.encode()
        self.requests: list[str] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                replay.requests.append(self.path)
                if self.path.startswith("/cdx/search/cdx"):
                    status, headers, body = 200, [("Content-Type", "text/plain")], replay.cdx
                else:
                    status, headers, body = replay.exchanges.get(self.path, (404, [], b"not in this recording"))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
