"""Replay recorded Internet Archive exchanges (../shared/wayback-recordings cassettes) on loopback.

Requests are matched on path and query, exactly as recorded (the host is ours). CDX listings for the
recorded captures can be given as text, in the Internet Archive's own plain-text format, since those
cassettes hold only the capture exchanges. Every request is logged; unknown ones get a 404 without
``Memento-Datetime`` (which is how the archive says "nothing here").
"""

from __future__ import annotations

import gzip
from http.server import BaseHTTPRequestHandler
from pathlib import Path
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer, respond

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
    """``cdx``: one listing for every CDX query, or {resumeKey or None: page} to replay paging.
    ``page_for(timestamp, url)``: optional bytes to answer captures the recording does not hold."""

    def __init__(self, exchanges: dict[str, tuple[int, list[tuple[str, str]], bytes]],
                 cdx: str | dict[str | None, str] = "", page_for=None):
        self.exchanges = exchanges
        self.cdx_pages = cdx if isinstance(cdx, dict) else {None: cdx}
        self.page_for = page_for
        self.requests: list[str] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                replay.requests.append(self.path)
                if self.path.startswith("/cdx/search/cdx"):
                    key = parse_qs(urlsplit(self.path).query).get("resumeKey", [None])[0]
                    body = replay.cdx_pages.get(key)
                    status = 200 if body is not None else 400
                    status, headers, body = status, [("Content-Type", "text/plain")], (body if body is not None else "bad resumeKey").encode()
                elif self.path in replay.exchanges:
                    status, headers, body = replay.exchanges[self.path]
                elif replay.page_for and (match := re.match(r"^/web/(\d{14})id_/(.+)$", self.path)):
                    stamp = datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
                    status, body = 200, replay.page_for(match.group(1), match.group(2))
                    headers = [("Content-Type", "text/html"), ("Memento-Datetime", format_datetime(stamp, usegmt=True))]
                else:
                    status, headers, body = 404, [], b"not in this recording"
                respond(self, status, headers, body)

        self._server = LoopbackServer(Handler).start()
        self.url = self._server.url
        self.close = self._server.close
