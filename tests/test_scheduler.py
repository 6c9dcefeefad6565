"""The scheduler as a user runs it: ``policytrack scheduler`` in a real subprocess, real pywb, real SQLite.

Intervals are seconds long. What is asserted is what the schedule did, read back from the database
(which run a schedule started, for which fire time, when it started and ended), never how fast.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

import storage
from policytrack.localarchive import WarcCapture
from storage import leases
from storage.leases import Holder
from storage.models import Capture, Lease, Snapshot
from tests.clihelp import FAST, crawl, run_cli
from tests.test_scheduler_support import (
    SLOW_CAPTURES,
    SchedulerProcess,
    all_runs,
    history_of,
    many_captures,
    page,
    run_cli_ok,
    runs_of,
    wait_until,
)

SITE = "acme.example"
URL = f"https://{SITE}/privacy"
SMALL = [WarcCapture(URL, "20100101000000", page(SITE, "Version A.", 1)),
         WarcCapture(URL, "20110101000000", page(SITE, "Version B.", 2))]


# Holds each crawl's engine in its start-up for a few seconds (tests/slowstart.py), announced in the log.
HOLD_ENGINE_START = ["-s", 'EXTENSIONS={"tests.slowstart.HoldEngineStart": 0}']


def finished(db_url: str, schedule_id: str) -> list:
    return [r for r in runs_of(db_url, schedule_id) if r.finished_at is not None]


# --- schedules from the command line ---------------------------------------------------------------


def test_schedule_add_list_remove_and_their_errors(db_url):
    run_cli_ok("add", SITE, URL, db=db_url)
    out = run_cli_ok("schedule", "add", SITE, "--every", "12h", "--grace", "2h", db=db_url)
    assert out.startswith("schedule s1: crawl acme.example every 12h; next run ")
    assert run_cli_ok("schedule", "add", "--all", "--cron", "0 3 * * *", "--timezone", "UTC", db=db_url).startswith(
        "schedule s2: crawl all sites cron 0 3 * * * (UTC)")
    listed = run_cli("schedule", "list", "--json", db=db_url).json()
    assert [(s["id"], s["sites"], s["trigger"], s["grace_seconds"]) for s in listed] == [
        ("s1", [SITE], "every 12h", 7200), ("s2", None, "cron 0 3 * * * (UTC)", 86400)]
    first_next = datetime.fromisoformat(listed[0]["next_run_at"])
    assert timedelta(hours=11) < first_next - datetime.now(timezone.utc) <= timedelta(hours=12)
    assert run_cli_ok("schedule", "remove", "s1", db=db_url).startswith("removed schedule s1")
    assert [s["id"] for s in run_cli("schedule", "list", "--json", db=db_url).json()] == ["s2"]
    for argv, message in [
        (["schedule", "add", "nowhere.example", "--every", "1d"], "unknown site 'nowhere.example'"),
        (["schedule", "add", "--every", "1d"], "name the sites to crawl, or give --all"),
        (["schedule", "add", SITE, "--every", "soon"], "invalid duration 'soon'"),
        (["schedule", "add", SITE, "--cron", "61 * * * *"], "invalid --cron"),
        (["schedule", "remove", "s9"], "no schedule with id 's9'"),
    ]:
        result = run_cli(*argv, db=db_url)
        assert result.code == 1 and result.err.count("\n") == 1 and message in result.err, (argv, result.err)
    assert run_cli("schedule", "add", SITE, "--every", "1d", "--cron", "0 3 * * *", db=db_url).code == 2  # usage


def test_a_second_scheduler_on_the_same_database_is_refused(archive_factory, db_url, tmp_path):
    archive = archive_factory(SMALL)
    assert run_cli("init", db=db_url).code == 0  # only init and add create a database
    with SchedulerProcess(db_url, archive, tmp_path / "first.log") as first:
        first.wait_started()
        second = run_cli("scheduler", "--archive", archive, db=db_url, timeout=60)
        assert second.code == 1
        assert second.err.strip().splitlines()[-1].startswith(
            "policytrack: error: another scheduler is already running on this database (pid ")
        assert first.stop() == 0


# --- restart: the schedule persists, a missed run runs once --------------------------------------


def test_restart_carries_on_and_runs_missed_fire_times_once(archive_factory, db_url, tmp_path):
    archive = archive_factory(SMALL)
    run_cli_ok("add", SITE, URL, db=db_url)
    run_cli_ok("schedule", "add", SITE, "--every", "5s", db=db_url)
    with SchedulerProcess(db_url, archive, tmp_path / "first.log") as first:
        first.wait_started()
        wait_until(lambda: finished(db_url, "s1"), 90, what="a scheduled run")
        assert first.stop() == 0  # well before the next fire time
    before = runs_of(db_url, "s1")
    assert all(r.status == "succeeded" for r in before), before
    assert history_of(db_url, SITE)[-1][0] == "20110101000000"

    time.sleep(16)  # three fire times or more go by with no scheduler
    with SchedulerProcess(db_url, archive, tmp_path / "second.log") as second:
        second.wait_started()
        wait_until(lambda: len(finished(db_url, "s1")) >= len(before) + 2, 90, what="two runs after the restart")
        assert second.stop() == 0

    runs = runs_of(db_url, "s1")
    after = runs[len(before):]
    interval, grid = timedelta(seconds=5), before[0].scheduled_for
    assert all((r.scheduled_for - grid) % interval == timedelta(0) for r in runs)  # the same schedule throughout
    # The first run after the restart stands for every fire time missed meanwhile (coalesced: one run, for the
    # latest of them); without coalescing each missed fire time would have its own run, one interval apart.
    assert (after[0].scheduled_for - before[-1].scheduled_for) // interval >= 3
    assert after[1].scheduled_for > after[0].scheduled_for  # then it goes on as before
    assert all(r.status == "succeeded" for r in after)


def test_the_scheduler_runs_on_each_backend_and_a_restart_carries_on(archive_factory, backend_db_url, tmp_path):
    """The whole scheduler -- job store, leases, runs, crawl pipeline -- on SQLite and on PostgreSQL."""
    db_url = backend_db_url
    archive = archive_factory(SMALL)
    run_cli_ok("add", SITE, URL, db=db_url)
    run_cli_ok("schedule", "add", SITE, "--every", "1h", "--now", db=db_url)
    with SchedulerProcess(db_url, archive, tmp_path / "first.log") as first:
        first.wait_started()
        wait_until(lambda: finished(db_url, "s1"), 90, what="the first scheduled run")
        assert first.stop() == 0, first.log()[-3000:]
    assert [v[0] for v in history_of(db_url, SITE)] == ["20100101000000", "20110101000000"]
    with SchedulerProcess(db_url, archive, tmp_path / "second.log") as second:
        second.wait_started()  # the schedule came back from the job store; its next run is an hour away
        assert "1 schedule(s), next run at" in second.log()
        assert second.stop() == 0, second.log()[-3000:]
    [run] = run_cli("runs", "--schedule", "s1", "--json", db=db_url).json()
    assert run["status"] == "succeeded" and run["counts"]["versions_new"] == 2
    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(Lease)) == 0
    finally:
        database.dispose()


# --- overlap -------------------------------------------------------------------------------------


def test_schedules_take_turns_never_overlap_themselves_and_cron_keeps_off_their_sites(archive_factory, db_url,
                                                                                         tmp_path):
    sites = ["one.example", "two.example", "three.example"]
    archive = archive_factory(many_captures(sites, per_site=24))
    for site in sites:
        run_cli_ok("add", site, f"https://{site}/privacy", db=db_url)
    run_cli_ok("schedule", "add", "one.example", "two.example", "--every", "1s", db=db_url)
    run_cli_ok("schedule", "add", "two.example", "three.example", "--every", "1s", db=db_url)
    with SchedulerProcess(db_url, archive, tmp_path / "scheduler.log", *SLOW_CAPTURES) as scheduler:
        scheduler.wait_started()
        # While the scheduler crawls two.example, a cron crawl of it (another process) leaves it alone.
        wait_until(lambda: any(r.status == "running" and "two.example" in (r.sites or []) for r in all_runs(db_url)),
                   60, interval=0.05, what="a scheduled crawl of two.example")
        cron = crawl(db_url, archive, "two.example")
        assert cron.code == 0, cron.err
        wait_until(lambda: len(finished(db_url, "s1")) >= 3 and len(finished(db_url, "s2")) >= 3, 120,
                   what="three runs of each schedule")
        assert scheduler.stop() == 0
        log = scheduler.log()
    assert "still running, this fire time is skipped" in log  # 1 s fire times vs multi-second crawls

    scheduled = {r.run_id for r in runs_of(db_url)}
    runs = all_runs(db_url)
    [manual] = [r for r in runs if r.id not in scheduled]
    [note] = manual.errors
    assert note.startswith("skipped two.example: being crawled by run ") and f"pid {scheduler.pid} " in note
    assert manual.status == "succeeded" and manual.counts["captures_seen"] == 0
    # Scheduled runs take turns: none overlaps another, so no schedule overlaps itself and no site is
    # crawled by two of them at once.
    ended = sorted((r for r in runs if r.id in scheduled), key=lambda r: r.started_at)
    assert all(r.finished_at is not None and r.status in ("succeeded", "interrupted") for r in ended)
    for previous, following in zip(ended, ended[1:]):
        assert following.started_at >= previous.finished_at, (previous, following)
    for site in sites:  # and every site was crawled completely in the end
        assert len(history_of(db_url, site)) == 3


def test_a_cron_crawl_leaves_out_a_site_another_process_is_crawling(archive_factory, db_url):
    archive = archive_factory(SMALL)
    run_cli_ok("add", SITE, URL, db=db_url)
    run_cli_ok("add", "other.example", "https://other.example/privacy", db=db_url)
    database = storage.open_database(db_url)
    holder = Holder.new("test")  # this test process: alive, so its lease holds
    try:
        with database.session() as session:
            assert leases.acquire(session, holder, [f"site:{SITE}"])[0] == [f"site:{SITE}"]
        busy = crawl(db_url, archive)
        assert busy.code == 0, busy.err
        assert history_of(db_url, SITE) == []
        run = all_runs(db_url)[-1]
        assert run.status == "succeeded" and run.sites is None
        [note] = run.errors
        assert note.startswith(f"skipped {SITE}: being crawled by pid {holder.pid} on {leases.HOSTNAME} since ")
        assert run.counts["errors_count"] == 0  # a note, not an error
        with database.session() as session:
            leases.release(session, holder)
        assert crawl(db_url, archive).code == 0
        assert len(history_of(db_url, SITE)) == 2
        with database.session() as session:  # a finished run leaves no lease behind
            assert session.scalar(select(func.count()).select_from(Lease)) == 0
    finally:
        database.dispose()


# --- stopping in the middle of a run: SIGTERM and kill -9 --------------------------------------------


def _store_counts(db_url: str) -> tuple[dict[str, int], int]:
    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            states = dict(session.execute(select(Capture.state, func.count()).group_by(Capture.state)).all())
            snapshots = session.scalar(select(func.count()).select_from(Snapshot)) or 0
            return states, snapshots
    finally:
        database.dispose()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_stopping_mid_run_loses_nothing_and_the_next_start_completes_the_work(archive_factory, db_url, tmp_path, sig):
    sites = ["one.example", "two.example"]
    captures = many_captures(sites, per_site=48)
    archive = archive_factory(captures)
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    for db in (reference, db_url):
        for site in sites:
            run_cli_ok("add", site, f"https://{site}/privacy", db=db)
    assert crawl(reference, archive).code == 0
    expected = {site: history_of(reference, site) for site in sites}
    assert all(len(versions) == 6 for versions in expected.values())

    run_cli_ok("schedule", "add", "--all", "--every", "1h", "--now", db=db_url)
    with SchedulerProcess(db_url, archive, tmp_path / "first.log", *SLOW_CAPTURES) as first:
        first.wait_started()
        wait_until(lambda: _store_counts(db_url)[0].get("fetched", 0) >= 8, 90, what="captures being fetched")
        code = first.stop(sig)
        assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL), first.log()[-2000:]
        if sig == signal.SIGTERM:
            assert "SIGTERM: stopping" in first.log() and "scheduler stopped" in first.log()
    [cut] = all_runs(db_url)
    states, _ = _store_counts(db_url)
    fetched_at_cut = states.get("fetched", 0)
    assert states.get("pending", 0) > 0  # really cut short
    if sig == signal.SIGTERM:
        assert cut.status == "interrupted" and cut.finished_at is not None
        assert cut.counts["captures_fetched"] == fetched_at_cut
        # What was processed became versions before the exit, each a whole text of the real history.
        for site in sites:
            shas = {sha for _, _, sha in history_of(db_url, site)}
            assert shas and shas <= {sha for _, _, sha in expected[site]}
    else:
        assert cut.status == "running"  # nobody could record anything

    with SchedulerProcess(db_url, archive, tmp_path / "second.log") as second:
        second.wait_started()
        wait_until(lambda: any(r.status == "succeeded" for r in all_runs(db_url)), 120, what="the resumed run")
        assert second.stop() == 0
        assert "was interrupted: resuming it now" in second.log()
    runs = all_runs(db_url)
    assert [r.status for r in runs] == ["interrupted", "succeeded"]
    if sig == signal.SIGKILL:
        assert leases.ABANDONED_NOTE in runs[0].errors
    assert [r.schedule_id for r in runs_of(db_url)] == ["s1", "s1"]
    # Nothing lost, nothing duplicated: the same versions as one uninterrupted crawl, every capture
    # settled once, every payload stored once.
    assert {site: history_of(db_url, site) for site in sites} == expected
    states, snapshots = _store_counts(db_url)
    assert sum(states.values()) == len(captures) and "pending" not in states and "failed" not in states
    # The resumed run fetched exactly what was still missing (every capture here has its own bytes).
    assert runs[1].counts["captures_fetched"] == states["fetched"] - fetched_at_cut == snapshots - fetched_at_cut
    database = storage.open_database(db_url)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Lease)) == 0
    database.dispose()


def test_a_stop_while_a_crawl_is_starting_stops_it_once_it_runs(archive_factory, db_url, tmp_path):
    """SIGTERM while Scrapy's engine is starting (spider open, engine not yet running).

    Scrapy's own ``Crawler.stop_async()`` does nothing to an engine that is not running yet, but marks
    the crawler stopped; when the spider then finished, nothing stopped the engine and the crawl hung
    until the scheduler gave up on it. The stop must take effect as soon as the engine runs.
    """
    sites = ["one.example", "two.example"]
    archive = archive_factory(many_captures(sites, per_site=24))
    for site in sites:
        run_cli_ok("add", site, f"https://{site}/privacy", db=db_url)
    run_cli_ok("schedule", "add", "--all", "--every", "1h", "--now", db=db_url)
    with SchedulerProcess(db_url, archive, tmp_path / "scheduler.log", *HOLD_ENGINE_START, *SLOW_CAPTURES) as scheduler:
        scheduler.wait_started()
        wait_until(lambda: "engine starting: held" in scheduler.log(), 60, interval=0.05,
                   what="the crawl's engine to be starting")
        assert scheduler.stop() == 0
        log = scheduler.log()
    assert "did not stop" not in log and "abandoned" not in log, log[-3000:]
    [run] = all_runs(db_url)
    assert run.status == "interrupted" and run.finished_at is not None, run
    assert not any("abandoned" in error for error in run.errors), run.errors
    assert any(len(history_of(db_url, site)) < 3 for site in sites)  # stopped, not crawled to the end


@pytest.mark.parametrize("signals", [1, 2], ids=["graceful", "forced"])
def test_a_cron_crawl_stopped_while_starting_is_recorded_interrupted_not_succeeded(archive_factory, db_url,
                                                                                      tmp_path, signals):
    """The same window for ``policytrack crawl``: Scrapy's graceful stop used to stop the reactor at
    once, under a crawl that had not stopped, and the run was recorded as succeeded. A second signal
    (Scrapy's forced shutdown) stops the reactor under the crawl on purpose: that run is cut short too."""
    sites = ["one.example", "two.example"]
    archive = archive_factory(many_captures(sites, per_site=24))
    for site in sites:
        run_cli_ok("add", site, f"https://{site}/privacy", db=db_url)
    log_path = tmp_path / "crawl.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "policytrack.cli", "crawl", "--db", db_url, "--archive", archive,
                                 *FAST, *HOLD_ENGINE_START, "-s", "LOG_LEVEL=INFO"],  # INFO: Scrapy's signal log
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: "engine starting: held" in log_path.read_text(), 60, interval=0.05,
                       what="the crawl's engine to be starting")
            proc.send_signal(signal.SIGTERM)
            if signals == 2:
                wait_until(lambda: "shutting down gracefully" in log_path.read_text(), 30, interval=0.05,
                           what="the graceful stop to begin")
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    output = log_path.read_text()
    assert code == 1, output[-3000:]
    assert "policytrack: crawl interrupted (stopped by a signal); the next crawl resumes it" in output
    [run] = all_runs(db_url)
    assert run.status == "interrupted" and run.finished_at is not None, run
    assert any(len(history_of(db_url, site)) < 3 for site in sites)  # it did stop
    assert crawl(db_url, archive).code == 0  # and the next crawl completes the work
    assert all(len(history_of(db_url, site)) == 3 for site in sites)


def test_scheduler_help_is_available_without_a_database(tmp_path):
    result = subprocess.run([sys.executable, "-m", "policytrack.cli", "scheduler", "--help"], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and "--poll" in result.stdout
    assert not (tmp_path / "policytrack.db").exists()
