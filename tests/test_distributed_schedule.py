"""The scheduler with Redis configured queues each schedule's pages for the workers instead of crawling
them itself; each worker's run of a page records the schedule (``runs --schedule``) and the worker."""

from __future__ import annotations

from pathlib import Path

from tests.clihelp import run_cli
from tests.test_distributed import (  # noqa: F401 (redis_url, workers: fixtures)
    assert_each_page_done_once, many_pages, queue_status, redis_url, wait_until_drained, workers,
)
from tests.test_scheduler_support import SchedulerProcess, run_cli_ok, wait_until


def test_the_scheduler_queues_pages_for_the_workers(redis_url, postgres_url, archive_factory, workers, tmp_path: Path):
    sites, archive = many_pages(archive_factory, postgres_url, 3)
    run_cli_ok("schedule", "add", "--all", "--every", "1h", "--now", db=postgres_url)
    with SchedulerProcess(postgres_url, archive, tmp_path / "scheduler.log", "--redis", redis_url) as scheduler:
        scheduler.wait_started()
        wait_until(lambda: queue_status(redis_url)["pending"] == 3, 60, what="the schedule's pages queued")
        assert scheduler.stop() == 0, scheduler.log()[-3000:]
    assert "schedule s1: queued 3 page(s) for the workers" in scheduler.log()
    # The scheduler crawled nothing itself.
    assert run_cli("runs", "--json", db=postgres_url).json() == []
    workers(2, redis_url, postgres_url, archive)
    status = wait_until_drained(redis_url)
    assert status["failed"] == [], status["failed"][0]["error"]
    assert_each_page_done_once(postgres_url, sites)
    runs = run_cli("runs", "--schedule", "s1", "--json", "--limit", "100", db=postgres_url).json()
    assert sorted(s for r in runs if r["status"] == "succeeded" for s in r["sites"]) == sorted(sites)
    assert {(r["trigger"], r["schedule_id"]) for r in runs} == {("worker", "s1")}
    assert all(r["worker"] and r["scheduled_for"] for r in runs)
