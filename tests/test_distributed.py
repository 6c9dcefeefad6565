"""Scale-out against real components: Debian's redis-server (started per test), the throwaway
PostgreSQL cluster, real pywb, and several `policytrack worker` processes.

A worker crawls several pages in one run (one Scrapy crawl), acknowledging each page once it is stored.
Every page must be completed exactly once (the runs together complete each page once, the right history,
none provisional) -- also when a worker is killed with kill -9 with several pages in flight, or stopped
with SIGTERM; a page that keeps failing lands in the failed set `queue` shows, without failing the other
pages of its runs; and the workers together keep under the CDX rate, counted by the proxy in front of pywb.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from policytrack.localarchive import WarcCapture
from tests.clihelp import run_cli
from tests.faultproxy import Fault, FaultProxy
from tests.redisserver import RedisUnavailable, redis_server
from tests.test_crawl import page

TEXTS = [page("First text."), page("Second text, changed."), page("Third text, changed again.")]
EXPECTED = [("20150101000000", "20150401000000"), ("20150501000000", "20150801000000"),
            ("20150901000000", "20151201000000")]
VISIBILITY = 6  # seconds: short, so a killed worker's page comes back within the test


@pytest.fixture
def redis_url(tmp_path: Path):
    try:
        with redis_server(tmp_path) as url:
            yield url
    except RedisUnavailable as exc:
        pytest.skip(f"Redis tests skipped: {exc}")


@pytest.fixture
def workers(tmp_path: Path):
    """start(n, ...) launches n `policytrack worker` processes; every one is stopped at the end."""
    procs: list[subprocess.Popen] = []

    def start(n: int, redis: str, db: str, archive: str, *extra: str) -> list[subprocess.Popen]:
        started = []
        for i in range(n):
            log = open(tmp_path / f"worker{len(procs)}.log", "w")
            proc = subprocess.Popen(
                [sys.executable, "-m", "policytrack.cli", "worker", "--redis", redis, "--db", db,
                 "--archive", archive, "--workers", "1", "--visibility-timeout", str(VISIBILITY),
                 "-s", "POLICYTRACK_LEASE_TTL=4", "-s", "RETRY_TIMES=1", *extra],
                stdout=log, stderr=subprocess.STDOUT)
            procs.append(proc)
            started.append(proc)
        return started

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def many_pages(archive_factory, db: str, count: int, proxy_base: str | None = None) -> tuple[list[str], str]:
    captures = []
    sites = [f"site{n:02d}.example" for n in range(count)]
    for site in sites:
        for month in range(1, 13):
            text = TEXTS[0] if month < 5 else TEXTS[1] if month < 9 else TEXTS[2]
            captures.append(WarcCapture(f"https://{site}/privacy", f"2015{month:02d}01000000", text))
    archive = archive_factory(captures)
    if proxy_base is not None:
        archive = f"pywb:{proxy_base}/{archive.rsplit('/', 1)[1]}"
    assert run_cli("init", db=db).code == 0
    for site in sites:
        assert run_cli("add", site, f"https://{site}/privacy", db=db).code == 0
    return sites, archive


def queue_status(redis: str) -> dict:
    return run_cli("queue", "--redis", redis, "--json").json()


def wait_until_drained(redis: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = queue_status(redis)
        if status["pending"] == 0 and status["in_flight"] == 0:
            return status
        time.sleep(1)
    raise AssertionError(f"queue not drained in {timeout} s: {status}")


def runs_once_closed(db: str, timeout: float = 30) -> list[dict]:
    """The runs, once none is running: a worker closes its run when the queue has nothing more for it,
    a moment after acknowledging its last page."""
    deadline = time.monotonic() + timeout
    while True:
        runs = run_cli("runs", "--json", "--limit", "1000", db=db).json()
        if not [r for r in runs if r["status"] == "running"] or time.monotonic() > deadline:
            return runs
        time.sleep(0.5)


def assert_each_page_done_once(db: str, sites: list[str], *, runs_lost: bool = False,
                               at_least_once: bool = False) -> list[dict]:
    """Every page's history is right and complete (not provisional), and the runs together completed each
    page once. ``runs_lost``: a worker was killed, so its run was reaped without its counts -- the pages it
    completed (and acknowledged) before are then counted nowhere, and the sum is only at most one each.
    ``at_least_once``: the queue itself was away (a page stored while Redis was down may be delivered and
    completed again: the queue promises at-least-once, the idempotent writes make it store nothing twice),
    so the sum is at least one each; the histories must be exactly right all the same."""
    runs = runs_once_closed(db)
    completed = sum(r["counts"].get("pages_complete", 0) for r in runs)
    expected = (completed <= len(sites) if runs_lost else
                completed >= len(sites) if at_least_once else completed == len(sites))
    assert expected, [
        (r["id"], r["status"], r["worker"], r["counts"].get("pages_complete"), r["sites"], r["errors"][:3]) for r in runs]
    # Each site was crawled by a run that names it (a run's sites: the pages it took).
    assert set(sites) <= {site for r in runs for site in r["sites"] or []}
    for site in sites:
        shown = run_cli("history", site, "--json", db=db)
        assert shown.code == 0, shown.err
        assert [(v["first_seen"], v["last_seen"]) for v in shown.json()] == EXPECTED, site
        assert "provisional" not in shown.err and "note:" not in shown.err, shown.err
    return runs


def test_several_workers_complete_every_page_once(redis_url, postgres_url, archive_factory, workers):
    sites, archive = many_pages(archive_factory, postgres_url, 8)
    enqueued = run_cli("crawl", "--distributed", "--redis", redis_url, db=postgres_url)
    assert enqueued.code == 0, enqueued.err
    assert "queued 8 page(s)" in enqueued.out
    again = run_cli("crawl", "--distributed", db=postgres_url, env={"POLICYTRACK_REDIS": redis_url})
    assert "queued 0 page(s)" in again.out and "8 already queued" in again.out
    procs = workers(3, redis_url, postgres_url, archive, "--pages", "2")
    status = wait_until_drained(redis_url)
    assert status["failed"] == [], status["failed"][0]["error"]
    runs = assert_each_page_done_once(postgres_url, sites)
    assert {r["status"] for r in runs} == {"succeeded"}
    # Fewer runs than pages: a run takes more pages from the queue while it has room.
    assert len(runs) < len(sites), runs
    # Heartbeats: all three are seen alive, by name; each run says it is a worker's, and which one.
    names = {f"{socket.gethostname()}:{proc.pid}" for proc in procs}
    assert set(queue_status(redis_url)["workers"]) == names
    runs = run_cli("runs", "--json", "--limit", "1000", db=postgres_url).json()
    assert {r["trigger"] for r in runs} == {"worker"} and {r["worker"] for r in runs} <= names
    listed = run_cli("runs", "--limit", "1000", db=postgres_url).out
    assert f"worker {runs[0]['worker']}" in listed


def test_a_killed_workers_page_is_redelivered_and_completed_once(redis_url, postgres_url, archive_factory, workers,
                                                                  local_archive):
    # Slow captures (5/s for all workers together) so the kill lands with several pages in flight.
    sites, archive = many_pages(archive_factory, postgres_url, 12)
    assert run_cli("crawl", "--distributed", "--redis", redis_url, db=postgres_url).code == 0
    procs = workers(3, redis_url, postgres_url, archive, "--pages", "3", "-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=5")
    victim = f"{socket.gethostname()}:{procs[0].pid}"
    deadline = time.monotonic() + 60
    held: list[int] = []
    while time.monotonic() < deadline and (not held or held[-1] < 2):
        status = queue_status(redis_url)
        held.append(status["workers"].get(victim, {}).get("pages", 0))
        # Back-pressure: no worker holds more pages than it crawls at once.
        assert all(w["pages"] <= 3 for w in status["workers"].values()), status["workers"]
        assert status["in_flight"] <= 9, status
        time.sleep(0.2)
    assert held[-1] >= 2, held
    os.kill(procs[0].pid, signal.SIGKILL)
    procs[0].wait()
    status = wait_until_drained(redis_url)
    assert status["failed"] == [], status["failed"][0]["error"]
    runs = assert_each_page_done_once(postgres_url, sites, runs_lost=True)
    # The killed worker's run is recorded as abandoned by the survivors, not left running.
    assert [r["status"] for r in runs if r["worker"] == victim] == ["interrupted"], runs


def test_sigterm_stops_a_run_and_gives_back_its_pages_in_flight(redis_url, postgres_url, archive_factory, workers):
    sites, archive = many_pages(archive_factory, postgres_url, 6)
    assert run_cli("crawl", "--distributed", "--redis", redis_url, db=postgres_url).code == 0
    [proc] = workers(1, redis_url, postgres_url, archive, "--pages", "3", "-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=3")
    name = f"{socket.gethostname()}:{proc.pid}"
    deadline = time.monotonic() + 60
    while queue_status(redis_url)["workers"].get(name, {}).get("pages", 0) < 3:
        assert time.monotonic() < deadline, "the worker never held three pages"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    # Nothing is left held by the stopped worker: its pages are queued again at once, not after a timeout.
    status = queue_status(redis_url)
    assert status["in_flight"] == 0 and status["pending"] >= 3 and status["failed"] == [], status
    [run] = run_cli("runs", "--json", db=postgres_url).json()
    assert (run["status"], run["worker"]) == ("interrupted", name)
    workers(2, redis_url, postgres_url, archive, "--pages", "3")
    status = wait_until_drained(redis_url)
    assert status["failed"] == [], status["failed"][0]["error"]
    assert_each_page_done_once(postgres_url, sites)


def test_a_page_failing_three_times_lands_in_the_failed_set(redis_url, postgres_url, archive_factory, workers,
                                                            local_archive):
    with FaultProxy(local_archive.url) as proxy:
        sites, archive = many_pages(archive_factory, postgres_url, 3, proxy.url)
        proxy.add(Fault(r"/cdx.*site01", "503", times=None))
        assert run_cli("crawl", "--distributed", "--redis", redis_url, db=postgres_url).code == 0
        # One worker with the three pages in flight at once: the failing page shares its runs with the others.
        procs = workers(1, redis_url, postgres_url, archive, "--pages", "3", "-s", "POLICYTRACK_BACKOFF_BASE=0.1",
                        "-s", "DOWNLOAD_TIMEOUT=3")
        status = wait_until_drained(redis_url)
        listings = {site: len([h for h in proxy.hits if h.kind == "cdx" and site in h.path])
                    for site in ("site00", "site02")}
    assert [(f["site"], f["attempts"]) for f in status["failed"]] == [("site01.example", 3)]
    failed = status["failed"][0]
    assert "503" in failed["error"] and "site01.example" in failed["error"]
    runs = runs_once_closed(postgres_url)  # the queue drains a moment before the worker closes its run
    # The runs that crawled it say failed (a run with an error never says succeeded) ...
    failed_runs = [r for r in runs if "site01.example" in r["sites"]]
    assert failed_runs and {r["status"] for r in failed_runs} == {"failed"}
    assert sum(len([e for e in r["errors"] if "site01.example" in e and "503" in e]) for r in failed_runs) >= 3
    # ... yet the other pages of those runs were acknowledged once, not failed with it or crawled again.
    assert listings == {"site00": 1, "site02": 1}
    assert sum(r["counts"].get("pages_complete", 0) for r in runs) == 2
    # The failed set names the last failed run and the worker that ran it, as `runs` does.
    last = max(failed_runs, key=lambda r: r["id"])
    assert (failed["run_id"], failed["worker"]) == (last["id"], last["worker"])
    assert failed["worker"] in {f"{socket.gethostname()}:{proc.pid}" for proc in procs}
    shown = run_cli("queue", "--redis", redis_url)
    assert shown.code == 1 and "failed: 1" in shown.out and "site01.example" in shown.out
    assert f"run {last['id']} by {last['worker']}" in shown.out
    for site in ("site00.example", "site02.example"):
        versions = run_cli("history", site, "--json", db=postgres_url).json()
        assert [(v["first_seen"], v["last_seen"]) for v in versions] == EXPECTED


def test_workers_share_one_cdx_budget(redis_url, postgres_url, archive_factory, workers, local_archive):
    per_minute = 120  # 2/s for all workers together: 2 per 1-second window
    with FaultProxy(local_archive.url) as proxy:
        sites, archive = many_pages(archive_factory, postgres_url, 9, proxy.url)
        assert run_cli("crawl", "--distributed", "--redis", redis_url, db=postgres_url).code == 0
        workers(3, redis_url, postgres_url, archive, "--pages", "3", "-s", f"POLICYTRACK_CDX_RATE_PER_MINUTE={per_minute}")
        wait_until_drained(redis_url)
        cdx = proxy.times("cdx")
        # Requests are counted when granted and seen when they arrive: allow the wire's jitter (tens of ms).
        busiest = proxy.max_in_window("cdx", 0.9)
    assert len(cdx) >= 9
    # Alone, each of the three workers would allow 2 a second: together they would send up to 6.
    assert busiest <= math.floor(per_minute / 60) + 1, cdx
    assert len(cdx) <= per_minute / 60 * (cdx[-1] - cdx[0]) + 3, cdx  # over the whole crawl, too
    assert_each_page_done_once(postgres_url, sites)


def test_a_429_seen_by_one_worker_pauses_every_worker(redis_url):
    """Two budgets on one Redis stand for two worker processes: a pause set by one holds the other."""
    from crawler.distributed.budget import SharedBudget

    first = SharedBudget(redis_url, {"cdx": 100.0, "capture": 100.0})
    second = SharedBudget(redis_url, {"cdx": 100.0, "capture": 100.0})
    assert second.wait("cdx", "web.archive.org") == 0.0
    first.pause("cdx", "web.archive.org", 30)
    assert 29 < second.wait("cdx", "web.archive.org") <= 30
    assert second.wait("capture", "web.archive.org") == 0.0  # only that endpoint kind is paused
    assert second.wait("cdx", "other.archive") == 0.0         # and only at that archive
    first.pause("cdx", "web.archive.org", 5)                  # a shorter pause never shortens a longer one
    assert second.wait("cdx", "web.archive.org") > 29


def test_the_budget_is_counted_across_workers(redis_url):
    from crawler.distributed.budget import SharedBudget, window_for

    assert (window_for(24 / 60).amount, window_for(24 / 60).get_expiry()) == (2, 5)  # 24/min: 2 per 5 s
    assert (window_for(8).amount, window_for(8).get_expiry()) == (8, 1)
    budgets = [SharedBudget(redis_url, {"cdx": 24 / 60}) for _ in range(3)]
    granted = [b.wait("cdx", "web.archive.org") == 0.0 for b in budgets]
    assert granted == [True, True, False]  # the third worker must wait for the window
    assert 0 < budgets[2].wait("cdx", "web.archive.org") <= 5


def test_a_page_that_never_finishes_is_redelivered_then_failed(redis_url):
    """Its workers die (they never acknowledge): redelivered after the visibility timeout, then, past
    the attempts, moved to the failed set instead of going round forever."""
    from crawler.distributed.queue import PageQueue, connect

    queue = PageQueue(connect(redis_url), visibility_seconds=0.05, max_attempts=3)
    assert queue.enqueue([(7, "acme.example", "https://acme.example/privacy")]) == 1
    seen = []
    for consumer in ("a", "b", "c", "d"):
        time.sleep(0.1)
        delivery = queue.claim(consumer, block_seconds=0.01)
        seen.append(delivery.deliveries if delivery else None)
    assert seen == [1, 2, 3, None]
    status = queue.status()
    assert (status.pending, status.in_flight) == (0, 0)
    assert [(f.page_id, f.attempts) for f in status.failed] == [(7, 3)]
    assert "never finished" in status.failed[0].error
    assert queue.enqueue([(7, "acme.example", "https://acme.example/privacy")]) == 1  # enqueueing again retries it
    assert queue.status().failed == []


def test_a_worker_leaving_with_pages_in_hand_does_not_lose_them(redis_url):
    """A worker leaving at once (a second SIGTERM) still holds pages: forgetting it must leave them to be
    redelivered after the visibility timeout (deleting its consumer would drop them for good)."""
    from crawler.distributed.queue import PageQueue, connect

    queue = PageQueue(connect(redis_url), visibility_seconds=0.05)
    queue.enqueue([(7, "acme.example", "https://acme.example/privacy"), (8, "b.example", "https://b.example/p")])
    assert queue.claim("leaving", block_seconds=0.01).page_id == 7
    queue.ack(queue.claim("done", block_seconds=0.01))
    queue.forget_worker("leaving")
    queue.forget_worker("done")  # holds nothing: forgotten whole
    time.sleep(0.1)
    again = queue.claim("other", block_seconds=0.01)
    assert again is not None and again.page_id == 7
    assert "done" not in {c["name"] for c in queue.r.xinfo_consumers(queue.stream, "workers")}


def test_the_queue_carries_on_after_redis_lost_its_data(redis_url):
    from crawler.distributed.queue import PageQueue, connect

    queue = PageQueue(connect(redis_url))
    queue.enqueue([(1, "a.example", "https://a.example/privacy")])
    queue.r.flushall()  # as a Redis restarted without persistence
    assert queue.claim("w", block_seconds=0.01) is None
    queue.enqueue([(2, "b.example", "https://b.example/privacy")])
    assert queue.claim("w", block_seconds=0.01).page_id == 2


def test_worker_knows_the_lease_setting_and_still_warns_of_a_typo(tmp_path):
    """`-s POLICYTRACK_LEASE_TTL=4` is a real setting (no "unknown setting" warning); a typo still warns."""
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert run_cli("init", db=db).code == 0
    proc = subprocess.run([sys.executable, "-m", "policytrack.cli", "worker", "--redis", "redis://127.0.0.1:1/0",
                           "--db", db, "-s", "POLICYTRACK_LEASE_TTL=4",
                           "-s", "POLICYTRACK_LEASE_TLL=4"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "cannot reach Redis" in proc.stderr, proc.stderr
    assert "unknown setting POLICYTRACK_LEASE_TLL" in proc.stderr
    assert "unknown setting POLICYTRACK_LEASE_TTL" not in proc.stderr
    assert "Traceback" not in proc.stderr
