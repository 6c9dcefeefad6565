"""A run's status is the truth, and a crawl never stalls: the real CLI against real archives.

Each case here was reproduced on the earlier crawler: garbage from the archive and a normalizer that
cannot start were recorded as ``succeeded`` with exit 0, and a small scraper back-pressure limit made a
bisecting crawl hang forever (the spider awaited the pipeline while Scrapy stopped downloading).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from policytrack.localarchive import WarcCapture
from tests.clihelp import FAST, crawl, run_cli
from tests.faultproxy import Fault
from tests.test_crawl import SITE, history, page, runs, setup_site
from tests.test_faults import EXPECTED, polite_crawl, proxied  # noqa: F401 (proxied is a fixture)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def garbage_archive(tmp_path: Path):
    """``python3 -m http.server`` serving a folder whose ``sample/cdx`` holds random bytes."""
    root = tmp_path / "served"
    (root / "sample").mkdir(parents=True)
    (root / "sample" / "cdx").write_bytes(os.urandom(4096))
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/sample/cdx", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"pywb:http://127.0.0.1:{port}/sample"
    finally:
        server.terminate()
        server.wait(timeout=10)


def assert_failed_with_one_line(result, *needles: str) -> dict:
    assert result.code == 1, (result.out, result.err)
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("policytrack: crawl failed"), result.err
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in last, last
    return last


def test_garbage_from_the_archive_fails_the_run(garbage_archive, db_url):
    setup_site(db_url)
    setup_site(db_url, "other.example", "https://other.example/privacy")
    result = crawl(db_url, garbage_archive)
    assert_failed_with_one_line(result)
    run = runs(db_url)[0]
    assert run["status"] == "failed"
    assert run["counts"]["errors_count"] > 0 and run["counts"]["pages_failed"] == 2
    assert run["counts"]["pages_complete"] == 0
    assert any("malformed" in e or "not valid" in e for e in run["errors"])
    assert result.out.startswith(f"run {run['id']} failed")


def test_normalizer_that_cannot_start_fails_the_run(archive_factory, db_url, tmp_path):
    node = tmp_path / "broken-node"
    node.write_text("#!/bin/sh\necho 'node: cannot start' >&2\nexit 1\n")
    node.chmod(0o755)
    archive = archive_factory([WarcCapture("https://acme.example/privacy", "20100101000000", page("A.")),
                               WarcCapture("https://acme.example/privacy", "20110101000000", page("B."))])
    setup_site(db_url)
    result = run_cli("crawl", "--archive", archive, *FAST, db=db_url, env={"POLICYTRACK_NODE": str(node)})
    assert_failed_with_one_line(result, "normalizer")
    run = runs(db_url)[0]
    assert run["status"] == "failed" and run["counts"]["errors_count"] >= 1
    assert run["counts"]["versions_new"] == 0
    assert any("normalizer" in e for e in run["errors"])


def test_many_pages_under_tiny_scraper_back_pressure_complete(archive_factory, db_url):
    """Scrapy stops downloading while its scraper holds more than SCRAPER_SLOT_MAX_ACTIVE_SIZE bytes
    of responses; nothing may wait on a download that back-pressure holds back."""
    pages = 24
    texts = [page("First text."), page("Second text, changed."), page("Third text, changed again.")]
    captures = []
    for n in range(pages):
        url = f"https://site{n:02d}.example/privacy"
        for month in range(1, 13):
            text = texts[0] if month < 5 else texts[1] if month < 9 else texts[2]
            captures.append(WarcCapture(url, f"2015{month:02d}01000000", text))
    archive = archive_factory(captures)
    for n in range(pages):
        setup_site(db_url, f"site{n:02d}.example", f"https://site{n:02d}.example/privacy")
    result = run_cli("crawl", "--archive", archive, *FAST, "-s", "SCRAPER_SLOT_MAX_ACTIVE_SIZE=2000",
                     db=db_url, timeout=240)
    assert result.code == 0, result.err
    for n in (0, pages // 2, pages - 1):
        versions = run_cli("history", f"site{n:02d}.example", "--json", db=db_url).json()
        assert [(v["first_seen"], v["last_seen"]) for v in versions] == [
            ("20150101000000", "20150401000000"), ("20150501000000", "20150801000000"),
            ("20150901000000", "20151201000000")]
    run = runs(db_url)[0]
    assert run["status"] == "succeeded" and run["counts"]["pages_complete"] == pages


def test_history_of_a_page_whose_crawl_did_not_complete_is_provisional(proxied, db_url):
    proxy, archive = proxied()
    proxy.add(Fault(r"/20110101000000id_/", "503", times=None))
    setup_site(db_url)
    result = polite_crawl(db_url, archive, "-s", "RETRY_TIMES=1")
    assert result.code == 1 and "capture 20110101000000" in result.err.strip().splitlines()[-1], result.err
    shown = run_cli("history", SITE, db=db_url)
    assert shown.code == 0 and "history of https://acme.example/privacy is provisional" in shown.err
    assert "provisional" in run_cli("show", SITE, db=db_url).err
    assert runs(db_url)[0]["counts"]["pages_complete"] == 0

    proxy.clear()
    result = polite_crawl(db_url, archive)
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    shown = run_cli("history", SITE, db=db_url)
    assert shown.code == 0 and "provisional" not in shown.err
    assert runs(db_url)[0]["counts"]["pages_complete"] == 1


def test_a_page_whose_versions_cannot_be_stored_fails_the_run_and_spares_the_others(archive_factory, db_url):
    """The database refuses one page's versions (a trigger): that page's error is recorded, the other
    page's history is complete all the same."""
    import sqlite3

    other = "https://other.example/privacy"
    archive = archive_factory([WarcCapture("https://acme.example/privacy", "20100101000000", page("A.")),
                               WarcCapture(other, "20100101000000", page("Other A.")),
                               WarcCapture(other, "20120101000000", page("Other B."))])
    setup_site(db_url)
    setup_site(db_url, "other.example", other)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        connection.execute("CREATE TRIGGER refuse_acme BEFORE INSERT ON versions WHEN NEW.page_id = "
                           "(SELECT pages.id FROM pages WHERE url = 'https://acme.example/privacy') "
                           "BEGIN SELECT RAISE(ABORT, 'versions of acme refused'); END")
    result = crawl(db_url, archive)
    assert_failed_with_one_line(result, "could not rebuild its versions", "versions of acme refused")
    run = runs(db_url)[0]
    assert run["status"] == "failed" and run["counts"]["pages_complete"] == 1
    assert [v["first_seen"] for v in history(db_url, "other.example")] == ["20100101000000", "20120101000000"]
    assert "provisional" in run_cli("history", SITE, db=db_url).err
    assert "provisional" not in run_cli("history", "other.example", db=db_url).err
