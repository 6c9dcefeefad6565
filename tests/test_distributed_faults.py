"""Scale-out faults, on real components: Redis restarted (kill -9) mid-crawl, PostgreSQL down for 30 s
mid-crawl. The workers must wait them out and carry on: every page completed exactly once (the runs together
complete each page once, the right history, nothing stored twice), no page in the failed set, no run left
running.

Redis runs with an append-only file fsynced on every write, as a queue in production should (README):
the restarted server has the same stream, group and pending entries. PostgreSQL is a throwaway cluster
of its own (storage.testing), shut down and started again with pg_ctl.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from storage.testing import ENV_VAR, PostgresServer, PostgresUnavailable
from tests.clihelp import run_cli
from tests.redisserver import RedisServer, RedisUnavailable
from tests.test_distributed import (  # noqa: F401 (workers: a fixture)
    assert_each_page_done_once, many_pages, queue_status, wait_until_drained, workers,
)

# Slow captures for all workers together, so each fault lands while pages are being crawled.
SLOW = ("-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=4")


@pytest.fixture
def redis(tmp_path: Path):
    try:
        server = RedisServer(tmp_path, persistent=True).start()
    except RedisUnavailable as exc:
        pytest.skip(f"Redis tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster of this test alone (stopping the shared one would break other tests)."""
    if os.environ.get(ENV_VAR):
        pytest.skip(f"the PostgreSQL fault test stops its own throwaway cluster ({ENV_VAR} names a server)")
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


def wait_for_pages_in_flight(redis_url: str, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while queue_status(redis_url)["in_flight"] < count:
        assert time.monotonic() < deadline, "the workers never took pages"
        time.sleep(0.2)


def assert_nothing_left_running(db: str) -> list[dict]:
    runs = run_cli("runs", "--json", "--limit", "1000", db=db).json()
    assert not [r for r in runs if r["status"] == "running"], runs
    return runs


def test_workers_carry_on_after_redis_restarts_mid_crawl(redis, postgres_url, archive_factory, workers):
    sites, archive = many_pages(archive_factory, postgres_url, 8)
    assert run_cli("crawl", "--distributed", "--redis", redis.url, db=postgres_url).code == 0
    workers(3, redis.url, postgres_url, archive, *SLOW)
    wait_for_pages_in_flight(redis.url, 3)
    time.sleep(1.0)
    redis.restart(down_seconds=3)  # kill -9, 3 s away, back on the same port with its append-only file
    status = wait_until_drained(redis.url)
    assert status["failed"] == [], status["failed"][0]["error"]
    assert_each_page_done_once(postgres_url, sites, at_least_once=True)
    runs = assert_nothing_left_running(postgres_url)
    # Waiting out Redis is not a failure: no run failed because the budget or the queue was away.
    assert [r for r in runs if r["status"] == "failed"] == []
    assert len(queue_status(redis.url)["workers"]) == 3


def test_workers_wait_for_postgresql_down_30_seconds_mid_crawl(redis, own_postgres, archive_factory, workers):
    db = own_postgres.create_database()
    sites, archive = many_pages(archive_factory, db, 8)
    assert run_cli("crawl", "--distributed", "--redis", redis.url, db=db).code == 0
    workers(3, redis.url, db, archive, *SLOW)
    wait_for_pages_in_flight(redis.url, 3)
    time.sleep(1.0)
    own_postgres.halt()
    time.sleep(30)
    # Meanwhile the workers took no page they could not record: what is queued is still queued.
    during = queue_status(redis.url)
    assert during["failed"] == []
    assert during["pending"] + during["in_flight"] > 0
    own_postgres.resume()
    status = wait_until_drained(redis.url, timeout=300)
    assert status["failed"] == [], status["failed"][0]["error"]
    assert_each_page_done_once(db, sites)  # the right versions, each once: nothing stored twice
    assert_nothing_left_running(db)
