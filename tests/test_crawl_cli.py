"""``policytrack crawl`` as cron runs it: one summary line on success, early one-line errors for bad
arguments and settings, no control endpoints left behind, and a bounded, visible retry when the archive
refuses connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.clihelp import run_cli
from tests.test_crawl import HISTORY, SITE, _closed_port, runs, setup_site

RATES = ["-s", "POLICYTRACK_CDX_RATE_PER_MINUTE=6000", "-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=200",
         "--workers", "1"]


def test_successful_crawl_prints_one_line_and_warns_about_unknown_settings(archive_factory, db_url):
    archive = archive_factory(HISTORY)
    setup_site(db_url)
    result = run_cli("crawl", "--archive", archive, *RATES, "-s", "POLICYTRACK_CDX_RATE_PER_MINTE=3", db=db_url)
    assert result.code == 0, result.err
    assert result.out.count("\n") == 1 and result.out.startswith("run 1 succeeded: 5 captures seen")
    assert result.err.splitlines() == [
        "policytrack: warning: unknown setting POLICYTRACK_CDX_RATE_PER_MINTE (not a Scrapy or policytrack "
        "setting): it has no effect"]
    verbose = run_cli("crawl", "--archive", archive, *RATES, "--verbose", db=db_url)
    assert verbose.code == 0 and "[scrapy.core.engine] INFO" in verbose.err


@pytest.mark.parametrize("args, message", [
    (["--archive", ""], "invalid archive ''"),
    (["--archive", "pywb:http://127.0.0.1:99999/x"], "port must be a number from 1 to 65535"),
    (["--workers", "-3"], "invalid number of normalizer workers"),
    (["-s", "POLICYTRACK_CDX_RATE_PER_MINUTE=abc"], "invalid setting POLICYTRACK_CDX_RATE_PER_MINUTE='abc'"),
    (["-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=0"], "must be more than 0"),
    (["-s", "POLICYTRACK_EXHAUSTIVE=perhaps"], "expected true or false"),
])
def test_bad_arguments_fail_before_the_crawl_with_one_line(db_url, args, message):
    setup_site(db_url)
    result = run_cli("crawl", *args, db=db_url, env={"POLICYTRACK_ARCHIVE": "pywb:http://127.0.0.1:1/never"})
    assert result.code == 1 and result.err.count("\n") == 1 and message in result.err, result.err
    assert result.out == "" and runs(db_url) == []


@pytest.mark.parametrize("command", [
    ["crawl"], ["discover"], ["scheduler", "--poll", "1"], ["worker", "--redis", "redis://127.0.0.1:1/0"],
    ["archive-now", SITE],
])
@pytest.mark.parametrize("given", ["option", "environment"])
@pytest.mark.parametrize("archive, said", [(" ", "invalid archive ''"), ("ftp://nowhere", "invalid archive 'ftp://nowhere'")])
def test_every_crawling_command_refuses_a_bad_archive_at_once(db_url, command, given, archive, said):
    """--archive and $POLICYTRACK_ARCHIVE mean the same to every command that asks an archive, and a blank or
    malformed one is one clear line before anything runs (the scheduler used to take a blank one for the
    default silently)."""
    setup_site(db_url)
    args, env = (["--archive", archive], {}) if given == "option" else ([], {"POLICYTRACK_ARCHIVE": archive})
    result = run_cli(*command, *args, db=db_url, env=env, timeout=60)
    assert result.code == 1 and result.err.count("\n") == 1 and said in result.err, result.err
    assert runs(db_url) == []


def test_killed_crawl_leaves_no_control_endpoint_files(archive_factory, db_url, tmp_path):
    """Scrapy's remote-control extension writes a job file with a token; kill -9 leaves it behind."""
    archive = archive_factory(HISTORY)
    for n in range(6):
        setup_site(db_url, f"s{n}.example", f"https://s{n}.example/privacy")
    state = tmp_path / "state"
    env = {**os.environ, "XDG_STATE_HOME": str(state), "HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "policytrack.cli", "crawl", "--archive", archive, "--db", db_url,
            "-s", "POLICYTRACK_CDX_RATE_PER_MINUTE=20"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not runs(db_url) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # the crawler is running (a CDX query every 3 s)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    left = [str(p) for p in Path(tmp_path).rglob("*") if "job_files" in str(p)]
    assert left == []


def test_refused_connections_are_retried_visibly_and_briefly(db_url):
    setup_site(db_url)
    started = time.monotonic()
    result = run_cli("crawl", "--archive", f"pywb:http://127.0.0.1:{_closed_port()}/nothing", "--workers", "1",
                     "-s", "POLICYTRACK_BACKOFF_BASE=0.5", db=db_url, timeout=120)
    elapsed = time.monotonic() - started
    assert result.code == 1
    retries = [line for line in result.err.splitlines() if "did not accept the connection" in line]
    assert len(retries) == 2 and "retry 1 of 2" in retries[0] and "retry 2 of 2" in retries[1], result.err
    assert result.err.strip().splitlines()[-1].startswith("policytrack: crawl failed")
    assert elapsed < 30


def test_progress_is_shown_on_a_terminal_only(archive_factory, db_url):
    import pty

    archive = archive_factory([replace(c, url=c.url.replace("acme", f"s{n}")) for c in HISTORY for n in range(3)])
    for n in range(3):
        setup_site(db_url, f"s{n}.example", f"https://s{n}.example/privacy")
    argv = [sys.executable, "-m", "policytrack.cli", "crawl", "--archive", archive, "--db", db_url, "--workers", "1",
            "-s", "POLICYTRACK_CDX_RATE_PER_MINUTE=40"]   # a CDX query every 1.5 s: a few progress ticks
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=follower, timeout=120)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 0 and proc.stdout.decode().startswith("run 1 succeeded")
    text = shown.decode()
    assert "pages finished" in text and "captures fetched" in text and "left (CDX rate limit)" in text, text
    assert text.endswith("\r")  # the progress line is cleared once the crawl ends
