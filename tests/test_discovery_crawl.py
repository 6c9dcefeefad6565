"""The discovery crawl end to end: a site added without URL, its privacy link found on 20 years of archived
homepages served by real pywb (through the loopback fault proxy, which counts every request), the policy
periods stored, the pages crawled, and a history that shows the link's moves as moves.

The request budget is the issue's: at most 2 CDX requests and (moves + 1) * ceil(log2(homepage captures)) + 2
homepage fetches per site.
"""

from __future__ import annotations

import math
import re

import pytest

import storage
from policytrack.synthetic_history import HOST, synthetic_site
from storage.discovery import policy_periods
from tests.clihelp import crawl, run_cli
from tests.faultproxy import FaultProxy

HOMEPAGE = re.compile(r"/\d{14}id_/https?://(www\.)?" + re.escape(HOST) + "/$")


@pytest.fixture
def discovered(local_archive, archive_factory, tmp_path):
    """discovered(moves) -> (site, proxy, archive spec, db, `discover --explain` result)."""
    proxies: list[FaultProxy] = []

    def make(moves: int):
        site = synthetic_site(moves)
        collection = archive_factory(site.captures).rsplit("/", 1)[1]
        proxy = FaultProxy(local_archive.url).__enter__()
        proxies.append(proxy)
        archive = f"pywb:{proxy.url}/{collection}"
        db = str(tmp_path / f"moves{moves}.db")
        added = run_cli("add", HOST, db=db)
        assert added.code == 0 and "by discovery" in added.out, added
        result = run_cli("discover", "--archive", archive, "--explain", db=db)
        assert result.code == 0, result
        return site, proxy, archive, db, result

    yield make
    for proxy in proxies:
        proxy.__exit__(None, None, None)


def _periods(db: str):
    database = storage.open_database(db)
    try:
        with database.session() as session:
            return policy_periods(session, HOST)
    finally:
        database.dispose()


@pytest.mark.parametrize("moves", [0, 1, 3])
def test_discovery_finds_every_period_within_the_request_budget(discovered, moves):
    site, proxy, _, db, result = discovered(moves)
    periods = _periods(db)
    assert [(p.url, p.valid_from) for p in periods] == site.periods
    assert [p.valid_until for p in periods] == [p.valid_from for p in periods[1:]] + [None]
    assert [p.cross_site for p in periods] == [url.startswith("https://examplegroup.com/") for url, _ in site.periods]
    homepage_fetches = sum(1 for hit in proxy.hits if hit.kind == "capture" and HOMEPAGE.search(hit.path))
    assert proxy.count("cdx") <= 2
    assert homepage_fetches <= (moves + 1) * math.ceil(math.log2(site.homepage_captures)) + 2
    # What the command says it spent is what reached the archive.
    assert f"{proxy.count('cdx')} CDX request(s), {homepage_fetches} homepage fetch(es)" in result.out


def test_a_site_added_without_url_gets_a_stitched_history_with_its_moves(discovered):
    site, proxy, archive, db, result = discovered(2)
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{HOST}: 3 period(s) from 240 homepage capture(s)")
    assert "2004-01-15 .. 2010-09-15  http://exampleshop.com/privacy.html" in result.out
    assert "2017-05-15 .. now  https://examplegroup.com/privacy/shop [other site]" in result.out
    assert "winner" in result.out.lower() or "threshold" in result.out  # the explanation of each choice

    crawled = crawl(db, archive)
    assert crawled.code == 0, crawled
    history = run_cli("history", HOST, db=db)
    assert history.code == 0, history
    text = history.out
    assert text.startswith(f"{HOST}: 4 version(s), 2 move(s) of its privacy page")
    moved = [line for line in text.splitlines() if "policy moved" in line]
    assert moved == [
        "-- policy moved from http://exampleshop.com/privacy.html to http://exampleshop.com/legal/privacy on 2010-09-15",
        "-- policy moved from http://exampleshop.com/legal/privacy to https://examplegroup.com/privacy/shop "
        "(another site) on 2017-05-15",
    ]
    # A move is not a rewrite: only the one real text change (inside the first period) is a change.
    as_json = run_cli("history", HOST, "--format", "json", db=db).json()
    assert sum(1 for v in as_json if v["change_id"] is not None) == 1
    # Rerunning discovery is idempotent: the same periods, the same pages.
    again = run_cli("discover", "--archive", archive, db=db)
    assert again.code == 0 and [(p.url, p.valid_from) for p in _periods(db)] == site.periods


def test_a_policy_link_to_a_page_that_is_not_a_policy_is_rejected_with_a_reason(archive_factory, tmp_path):
    from policytrack.localarchive import WarcCapture

    html = (("Content-Type", "text/html"),)
    home = (b"<html><body><p>Welcome</p><footer><a href=/privacy>Privacy Policy</a></footer></body></html>")
    login = (b"<html><head><title>Sign in</title></head><body><form><input name=user> "
             b"<input type=password name=pw><button>Log in</button></form></body></html>")
    archive = archive_factory([
        WarcCapture(f"http://{HOST}/", "20100101000000", home, headers=html),
        WarcCapture(f"http://{HOST}/privacy", "20100101000100", login, headers=html),
    ])
    db = str(tmp_path / "rejected.db")
    assert run_cli("add", HOST, db=db).code == 0
    result = run_cli("discover", "--archive", archive, db=db)
    assert result.code == 0, result
    assert "http://exampleshop.com/privacy [rejected: " in result.out
    assert _periods(db) == []


def test_an_archive_failure_fails_the_run_and_keeps_the_stored_periods(discovered):
    from tests.faultproxy import Fault

    site, proxy, archive, db, _ = discovered(1)
    before = _periods(db)
    proxy.add(Fault(r"/cdx", "503", times=None))
    result = run_cli("discover", "--archive", archive, "-s", "RETRY_TIMES=1", "-s", "POLICYTRACK_BACKOFF_BASE=0.1",
                     db=db)
    assert result.code != 0
    assert "(incomplete: not stored)" in result.out and "failed" in result.out + result.err
    assert _periods(db) == before and len(before) == 2
    runs = run_cli("runs", "--json", db=db).json()
    assert runs[0]["status"] == "failed" and runs[0]["errors"]


def test_discover_names_a_site_not_tracked_by_discovery_in_one_line(tmp_path):
    db = str(tmp_path / "plain.db")
    assert run_cli("add", "example.org", "https://example.org/privacy", db=db).code == 0
    result = run_cli("discover", "example.org", "--archive", "pywb:http://127.0.0.1:9/none", db=db)
    assert result.code != 0 and "Traceback" not in result.err
    assert result.err.strip().splitlines() == [
        "policytrack: error: example.org is not tracked by discovery: 'policytrack add example.org' (without URL) tracks it"]


def test_a_link_to_a_page_the_archive_never_captured_is_rejected_not_an_error(archive_factory, tmp_path):
    from policytrack.localarchive import WarcCapture

    home = b"<html><body><footer><a href=/privacy-policy>Privacy Policy</a></footer></body></html>"
    archive = archive_factory([WarcCapture(f"http://{HOST}/", "20100101000000", home,
                                           headers=(("Content-Type", "text/html"),))])
    db = str(tmp_path / "uncaptured.db")
    assert run_cli("add", HOST, db=db).code == 0
    result = run_cli("discover", "--archive", archive, db=db)
    assert result.code == 0, result
    assert f"http://{HOST}/privacy-policy [rejected: the archive holds no capture of it]" in result.out


def test_the_sites_own_homepage_redirect_is_followed(archive_factory, tmp_path):
    from policytrack.localarchive import WarcCapture
    from policytrack.synthetic_history import policy_text

    html = (("Content-Type", "text/html"),)
    home = b"<html><body><footer><a href=/legal/privacy>Privacy</a></footer></body></html>"
    archive = archive_factory([
        WarcCapture(f"http://{HOST}/", "20150101000000", b"", status=301,
                    headers=(("Location", f"http://www.{HOST}/"), ("Content-Type", "text/html"))),
        WarcCapture(f"http://www.{HOST}/", "20150101000005", home, headers=html),
        WarcCapture(f"http://www.{HOST}/legal/privacy", "20150101000010", policy_text(0), headers=html),
    ])
    db = str(tmp_path / "redirected.db")
    assert run_cli("add", HOST, db=db).code == 0
    result = run_cli("discover", "--archive", archive, db=db)
    assert result.code == 0, result
    assert [(p.url, p.valid_from, p.cross_site) for p in _periods(db)] == [
        (f"http://www.{HOST}/legal/privacy", "20150101000000", False)]
