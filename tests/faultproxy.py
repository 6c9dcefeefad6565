"""A small fault-injecting HTTP proxy in front of a real archive (pywb), for tests and benchmarks.

Faults go on the wire, never into the code under test: rules answer 429s (with or without
Retry-After), 503 storms, stalls longer than the client's timeout, truncated bodies, injected malformed
CDX lines, or the Internet Archive's blocked-URL answer. Every request is logged with its arrival time and
endpoint kind, so tests can assert the client's request rate.
"""

from __future__ import annotations

import re
from collections import deque
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackServer, respond

IA_BLOCKED_BODY = (b"org.archive.util.io.RuntimeIOException: org.archive.wayback.exception."
                   b"AdministrativeAccessControlException: Blocked Site Error\n")


@dataclass
class Fault:
    """Answer requests whose path matches ``pattern`` with ``action``, ``times`` times (None = always)."""

    pattern: str
    action: str                      # "429" | "503" | "stall" | "truncate" | "malformed-cdx" | "blocked" | "reset"
    times: int | None = 1
    retry_after: str | None = None   # for 429/503
    stall_seconds: float = 30.0
    used: int = 0

    def matches(self, path: str) -> bool:
        return re.search(self.pattern, path) is not None and (self.times is None or self.used < self.times)


@dataclass
class Hit:
    at: float
    kind: str
    path: str
    status: int
    rows: int | None = None   # a CDX answer: how many rows (lines) it carried -- what the archive paged

    @property
    def query(self) -> dict[str, str]:
        """The request's query parameters (the first value of each)."""
        return {name: values[0] for name, values in parse_qs(urlsplit(self.path).query).items()}


@dataclass
class FaultProxy:
    upstream: str                               # e.g. http://127.0.0.1:8080
    faults: list[Fault] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

        self._server = LoopbackServer(Handler)

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> "FaultProxy":
        self._server.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.close()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """No more faults: answer everything as the archive does."""
        with self._lock:
            self.faults.clear()

    # --- observations ----------------------------------------------------------------------------
    def count(self, kind: str | None = None, status: int | None = None) -> int:
        return len([h for h in self.hits if (kind is None or h.kind == kind) and (status is None or h.status == status)])

    def max_in_window(self, kind: str, window: float) -> int:
        """The most requests of ``kind`` that arrived within any ``window`` seconds."""
        times = sorted(h.at for h in self.hits if h.kind == kind)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] > window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def cdx_queries(self, url: str | None = None) -> list[dict[str, str]]:
        """The parameters of each CDX query seen (for exactly ``url``, if given), in arrival order."""
        return [hit.query for hit in self.hits
                if hit.kind == "cdx" and (url is None or unquote(hit.query.get("url", "")) == url)]

    def cdx_rows(self) -> list[int]:
        """How many rows each CDX answer the archive gave carried, in arrival order."""
        return [hit.rows for hit in self.hits if hit.kind == "cdx" and hit.rows is not None]

    def times(self, kind: str) -> list[float]:
        return sorted(h.at for h in self.hits if h.kind == kind)

    # --- serving ---------------------------------------------------------------------------------
    @staticmethod
    def kind_of(path: str) -> str:
        if "/cdx" in path.split("?")[0] or "/timemap" in path:
            return "cdx"
        return "capture" if re.search(r"/\d{4,14}id_/", path) else "other"

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(path):
                    fault.used += 1
                    return fault
        return None

    def _record(self, path: str, status: int, body: bytes | None = None) -> None:
        kind = self.kind_of(path)
        rows = len([line for line in body.splitlines() if line.strip()]) if kind == "cdx" and body is not None else None
        with self._lock:
            self.hits.append(Hit(time.monotonic(), kind, path, status, rows))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        fault = self._take_fault(path)
        if fault is not None and fault.action in ("429", "503", "blocked"):
            status = {"429": 429, "503": 503, "blocked": 403}[fault.action]
            body = IA_BLOCKED_BODY if fault.action == "blocked" else b"slow down\n"
            headers = {"Content-Type": "text/plain;charset=UTF-8"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            self._record(path, status)
            respond(handler, status, headers.items(), body)
            return
        if fault is not None and fault.action == "stall":
            self._record(path, 0)
            time.sleep(fault.stall_seconds)
            handler.close_connection = True
            return
        if fault is not None and fault.action == "reset":
            self._record(path, 0)
            handler.close_connection = True
            handler.connection.close()
            return
        status, headers, body = self._forward(path)
        self._record(path, status, body if status == 200 else None)
        if fault is not None and fault.action == "malformed-cdx":
            body = b"this is not a cdx line\n" + body + b"{\"broken json\n"
        if fault is not None and fault.action == "truncate":
            headers["Content-Length"] = str(len(body))
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body[: max(1, len(body) // 2)])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        respond(handler, status, headers.items(), body)

    def _forward(self, path: str) -> tuple[int, dict[str, str], bytes]:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(self.upstream + path, timeout=60) as response:
                status, raw_headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, raw_headers, body = error.code, error.headers, error.read()
        skip = {"transfer-encoding", "connection", "content-length", "content-encoding"}
        headers = {k: v for k, v in raw_headers.items() if k.lower() not in skip}
        return status, headers, body


class RateLimitingProxy(FaultProxy):
    """The fault proxy, answering 429 (Retry-After: 1) to a request over its kind's limit in a moving
    window, as the archive does; ``rejected`` counts them."""

    def __init__(self, upstream: str, limits: dict[str, tuple[int, float]]):
        super().__init__(upstream)
        self.limits = limits                      # kind -> (requests, window seconds)
        self.windows = {kind: deque() for kind in limits}
        self.rejected = 0
        self._window_lock = threading.Lock()

    def _over_limit(self, path: str) -> bool:
        kind = self.kind_of(path)
        if kind not in self.limits:
            return False
        amount, seconds = self.limits[kind]
        now = time.monotonic()
        with self._window_lock:
            window = self.windows[kind]
            while window and now - window[0] >= seconds:
                window.popleft()
            if len(window) >= amount:
                self.rejected += 1
                return True
            window.append(now)
            return False

    def _handle(self, handler) -> None:
        if self._over_limit(handler.path):
            self._record(handler.path, 429)
            respond(handler, 429, [("Retry-After", "1"), ("Content-Type", "text/plain")], b"slow down\n")
            return
        super()._handle(handler)
