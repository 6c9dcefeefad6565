"""Helpers for the scheduler and announcement tests (no tests here): the scheduler as a real subprocess,
a loopback webhook receiver, archives with many captures, and polling with a deadline."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import storage
from policytrack.localarchive import WarcCapture
from storage.scheduling import ScheduleRunInfo, schedule_runs
from tests.clihelp import FAST
from tests.loopback import LoopbackServer, respond

# Fast, but paced so that a crawl of a "many captures" archive lasts a few seconds and can be interrupted.
SLOW_CAPTURES = ["-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=10"]


def page(site: str, text: str, serial: int) -> bytes:
    """A policy page; ``serial`` changes the bytes (so the digest) without changing the text."""
    paragraphs = "".join(
        f"<p>{text} {site} explains how it collects, uses and shares personal information about visitors, "
        f"number {i}.</p>" for i in range(4)
    )
    return (f"<html><head><title>{site} privacy</title></head><body><div id='nav'><a href='/'>Home</a> "
            f"<span>{serial}</span></div><div id='content'><h1>Privacy Policy</h1><h2>What we collect</h2>"
            f"{paragraphs}</div></body></html>").encode()


def many_captures(sites: list[str], per_site: int = 48, every: int = 8) -> list[WarcCapture]:
    """``per_site`` captures of each site's page, the text changing every ``every`` captures."""
    captures = []
    for site in sites:
        url = f"https://{site}/privacy"
        for i in range(per_site):
            timestamp = f"{2000 + i // 12:04d}{i % 12 + 1:02d}15000000"
            captures.append(WarcCapture(url, timestamp, page(site, f"Version {i // every} of the policy.", i)))
    return captures


def run_cli_ok(*args: str, db: str) -> str:
    result = subprocess.run([sys.executable, "-m", "policytrack.cli", *args, "--db", db], capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


class SchedulerProcess:
    """``policytrack scheduler`` in a subprocess, logging to a file."""

    def __init__(self, db: str, archive: str, log: Path, *extra: str, poll: float = 0.5):
        self.log_path = log
        self._log = open(log, "ab")
        argv = [sys.executable, "-m", "policytrack.cli", "scheduler", "--db", db, "--archive", archive,
                "--poll", str(poll), *FAST, *extra]
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def started(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"scheduler exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        return "scheduler started" in self.log()

    def wait_started(self, timeout: float = 60) -> "SchedulerProcess":
        wait_until(self.started, timeout, what="the scheduler to start")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def __enter__(self) -> "SchedulerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._log.close()


@dataclass
class Receiver:
    """A loopback HTTP server that records the JSON bodies POSTed to it (a webhook receiver)."""

    fail_first: int = 0  # answer 500 to this many requests first
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        receiver = self
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail_first
                    if not failing:
                        receiver.bodies.append(json.loads(body))
                        receiver.headers.append(dict(self.headers))
                respond(self, 500 if failing else 200)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = LoopbackServer(Handler).start()

    @property
    def url(self) -> str:
        return f"{self._server.url}/hook"

    def close(self) -> None:
        self._server.close()


def runs_of(db_url: str, schedule_id: str | None = None) -> list[ScheduleRunInfo]:
    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            return schedule_runs(session, schedule_id)
    finally:
        database.dispose()


@dataclass(frozen=True)
class RunRow:
    id: int
    status: str
    started_at: Any
    finished_at: Any
    sites: list[str] | None
    errors: list[str]
    counts: dict[str, int]


def all_runs(db_url: str) -> list[RunRow]:
    """Every crawl run, oldest first, as recorded (read through the ORM)."""
    from sqlalchemy import select

    from storage.models import RUN_COUNTS, CrawlRun

    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            return [
                RunRow(r.id, r.status, r.started_at, r.finished_at, r.sites, list(r.errors or []),
                       {name: getattr(r, name) for name in RUN_COUNTS})
                for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))
            ]
    finally:
        database.dispose()


def history_of(db_url: str, site: str) -> list[tuple[str, str, str]]:
    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            return [(v.first_seen, v.last_seen, v.sha256) for v in storage.site_history(session, site)]
    finally:
        database.dispose()
