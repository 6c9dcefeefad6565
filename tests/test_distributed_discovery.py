"""Distributed mode and sites tracked by discovery: ``crawl --distributed`` and the scheduler with Redis
discover those sites first (one recorded run in the enqueuing process), then queue every page -- the ones
just found included -- so that workers crawl a site added without URL exactly as ``crawl`` would.

Real Redis, PostgreSQL, pywb (behind the counting fault proxy) and `policytrack worker` processes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policytrack.synthetic_history import HOST, synthetic_site
from tests.clihelp import FAST, run_cli
from tests.faultproxy import Fault, FaultProxy
from tests.test_distributed import (  # noqa: F401 (redis_url, workers: fixtures)
    queue_status, redis_url, wait_until_drained, workers,
)


@pytest.fixture
def discovered_site(local_archive, archive_factory, postgres_url):
    """(site, archive spec through a counting proxy, proxy): HOST added without URL, nothing crawled."""
    site = synthetic_site(2)
    collection = archive_factory(site.captures).rsplit("/", 1)[1]
    assert run_cli("init", db=postgres_url).code == 0
    assert run_cli("add", HOST, db=postgres_url).code == 0
    with FaultProxy(local_archive.url) as proxy:
        yield site, f"pywb:{proxy.url}/{collection}", proxy


def enqueue(db: str, redis: str, archive: str, *extra: str):
    return run_cli("crawl", "--distributed", "--redis", redis, "--archive", archive, *FAST, *extra, db=db)


def test_crawl_distributed_discovers_first_and_the_workers_crawl_the_pages_found(
        discovered_site, redis_url, postgres_url, workers):
    site, archive, _ = discovered_site
    pages = len({url for url, _ in site.periods})
    result = enqueue(postgres_url, redis_url, archive)
    assert result.code == 0, result
    assert "discovered 1 site(s)" in result.out and f"queued {pages} page(s) for the workers" in result.out, result.out
    # FAST gives --workers: it changes no document, so it is a warning (the workers' own option), not an error.
    assert "warning: --workers is not passed to the workers" in result.err, result.err
    [run] = run_cli("runs", "--json", db=postgres_url).json()
    assert run["status"] == "succeeded" and run["sites"] == [HOST], run
    # The enqueuing process only discovered: no version yet, the pages wait for the workers.
    assert run["counts"].get("versions_new", 0) == 0, run["counts"]
    assert queue_status(redis_url)["pending"] == pages
    workers(2, redis_url, postgres_url, archive)
    status = wait_until_drained(redis_url)
    assert status["failed"] == [], status["failed"][0]["error"]
    history = run_cli("history", HOST, db=postgres_url)
    # The same history as one in-process crawl (tests/test_discovery_in_crawl.py).
    assert history.out.startswith(f"{HOST}: 4 version(s), 2 move(s) of its privacy page"), history.out
    # Queued again with nothing new: discovery reads only the homepage captures since the last one.
    again = enqueue(postgres_url, redis_url, archive)
    assert again.code == 0, again
    assert f"queued {pages} page(s) for the workers" in again.out


def test_a_discovery_error_makes_crawl_distributed_exit_non_zero(discovered_site, redis_url, postgres_url):
    _, archive, proxy = discovered_site
    proxy.add(Fault(r"/cdx\?url=" + re.escape(HOST) + "%2F&", "503", times=None))
    result = enqueue(postgres_url, redis_url, archive, "-s", "POLICYTRACK_BACKOFF_BASE=0.1")
    assert result.code != 0, result
    assert "discovery failed" in result.err, result.err
    [run] = run_cli("runs", "--json", db=postgres_url).json()
    assert run["status"] == "failed" and any("CDX" in e for e in run["errors"]), run
    assert "queued 0 page(s)" in result.out  # nothing was found to queue; nothing was lost either


def test_crawl_distributed_rejects_an_unknown_site_before_running_anything(discovered_site, redis_url, postgres_url):
    _, archive, _ = discovered_site
    result = enqueue(postgres_url, redis_url, archive, "nosuch.example")
    assert result.code != 0 and "nosuch.example" in result.err, result
    assert run_cli("runs", "--json", db=postgres_url).json() == []


def test_the_distributed_scheduler_discovers_first_too(discovered_site, redis_url, postgres_url, tmp_path: Path):
    from tests.test_scheduler_support import SchedulerProcess, run_cli_ok, wait_until

    site, archive, _ = discovered_site
    pages = len({url for url, _ in site.periods})
    run_cli_ok("schedule", "add", HOST, "--every", "1h", "--now", db=postgres_url)
    with SchedulerProcess(postgres_url, archive, tmp_path / "scheduler.log", "--redis", redis_url) as scheduler:
        scheduler.wait_started()
        wait_until(lambda: queue_status(redis_url)["pending"] == pages, 120, what="the discovered pages queued")
        assert scheduler.stop() == 0, scheduler.log()[-3000:]
    assert f"schedule s1: queued {pages} page(s) for the workers" in scheduler.log()
    [run] = run_cli("runs", "--schedule", "s1", "--json", db=postgres_url).json()
    assert run["status"] == "succeeded" and run["sites"] == [HOST], run


@pytest.mark.parametrize("flag", ["--full", "--exhaustive"])
def test_crawl_distributed_refuses_a_flag_the_workers_would_not_see(flag, tmp_path: Path):
    # The queue carries pages, not settings: the workers would crawl otherwise than asked.
    result = run_cli("crawl", "--distributed", "--redis", "redis://127.0.0.1:9/0", flag, db=str(tmp_path / "x.db"))
    assert result.code != 0 and f"{flag} is not passed to the workers" in result.err, result
    assert len(result.err.strip().splitlines()) == 1, result.err
