"""Fault injection on the wire: a proxy in front of the real pywb answers 429s, 503 storms, stalls,
truncated bodies, malformed CDX lines and blocked-URL responses. Each crawl must end with the correct
stored history, and the proxy's request log must respect the configured rate limits."""

from __future__ import annotations

import math

import pytest

from policytrack.localarchive import WarcCapture
from tests.clihelp import run_cli
from tests.faultproxy import Fault, FaultProxy
from tests.test_crawl import HISTORY, SITE, history, page, runs, setup_site

EXPECTED = [("20100101000000", "20100601000000"), ("20110101000000", "20110601000000"),
            ("20120101000000", "20120101000000")]

CDX_PER_MINUTE, CAPTURES_PER_SECOND = 60, 5


def polite_crawl(db: str, archive: str, *extra: str, timeout: float = 240):
    """A crawl with slow-enough limits that the proxy can check them, and quick retry/backoff settings."""
    return run_cli(
        "crawl", "--archive", archive, "--workers", "1",
        "-s", f"POLICYTRACK_CDX_RATE_PER_MINUTE={CDX_PER_MINUTE}",
        "-s", f"POLICYTRACK_CAPTURE_RATE_PER_SECOND={CAPTURES_PER_SECOND}",
        "-s", "POLICYTRACK_BACKOFF_BASE=0.5", "-s", "POLICYTRACK_RETRY_AFTER_DEFAULT=3",
        "-s", "DOWNLOAD_TIMEOUT=3", "-s", "LOG_LEVEL=WARNING", *extra,
        db=db, timeout=timeout,
    )


@pytest.fixture
def proxied(local_archive, archive_factory):
    """(proxy, archive spec through the proxy) for a collection holding ``captures``."""
    proxies: list[FaultProxy] = []

    def make(captures=HISTORY) -> tuple[FaultProxy, str]:
        spec = archive_factory(captures)
        collection = spec.rsplit("/", 1)[1]
        proxy = FaultProxy(local_archive.url).__enter__()
        proxies.append(proxy)
        return proxy, f"pywb:{proxy.url}/{collection}"

    yield make
    for proxy in proxies:
        proxy.__exit__(None, None, None)


def assert_within_limits(proxy: FaultProxy) -> None:
    for kind, per_second in (("cdx", CDX_PER_MINUTE / 60), ("capture", CAPTURES_PER_SECOND)):
        for window in (1.0, 3.0):
            allowed = math.floor(per_second * window) + 1
            assert proxy.max_in_window(kind, window) <= allowed, (kind, window, proxy.times(kind))


def test_clean_run_respects_the_limits(proxied, db_url):
    proxy, archive = proxied()
    setup_site(db_url)
    result = polite_crawl(db_url, archive, "--exhaustive")
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    assert proxy.count("capture") == 4
    assert_within_limits(proxy)


@pytest.mark.parametrize("retry_after,expected_pause", [("2", 2.0), (None, 3.0)])
def test_429_on_cdx_pauses_for_retry_after(proxied, db_url, retry_after, expected_pause):
    proxy, archive = proxied()
    proxy.add(Fault(r"/cdx", "429", times=1, retry_after=retry_after))
    setup_site(db_url)
    result = polite_crawl(db_url, archive)
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    cdx = proxy.times("cdx")
    assert len(cdx) == 2 and cdx[1] - cdx[0] >= expected_pause - 0.05
    assert_within_limits(proxy)


def test_429_on_captures_pauses_every_capture_request(proxied, db_url):
    proxy, archive = proxied()
    proxy.add(Fault(r"id_/", "429", times=1, retry_after="2"))
    setup_site(db_url)
    result = polite_crawl(db_url, archive, "--exhaustive")
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    limited = next(h for h in proxy.hits if h.status == 429)
    later = [h.at for h in proxy.hits if h.kind == "capture" and h.at > limited.at]
    assert later and min(later) - limited.at >= 1.95
    assert_within_limits(proxy)


def test_503_storm_on_cdx_backs_off_exponentially(proxied, db_url):
    proxy, archive = proxied()
    proxy.add(Fault(r"/cdx", "503", times=3))
    setup_site(db_url)
    result = polite_crawl(db_url, archive)
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    cdx = proxy.times("cdx")
    gaps = [b - a for a, b in zip(cdx, cdx[1:])]
    assert len(cdx) == 4
    assert gaps[0] >= 0.45 and gaps[1] >= 0.95 and gaps[2] >= 1.95     # 0.5 s, doubling


def test_persistent_503_fails_the_run_and_keeps_stored_data(proxied, db_url):
    proxy, archive = proxied()
    setup_site(db_url)
    assert polite_crawl(db_url, archive).code == 0
    before = history(db_url)
    proxy.add(Fault(r"/cdx", "503", times=None))
    result = polite_crawl(db_url, archive, "-s", "RETRY_TIMES=2")
    assert result.code == 1 and "HTTP 503" in result.err.strip().splitlines()[-1]
    assert runs(db_url)[0]["status"] == "failed"
    assert history(db_url) == before


def test_stalled_capture_times_out_and_is_retried(proxied, db_url):
    proxy, archive = proxied()
    proxy.add(Fault(r"20110101000000id_/", "stall", times=1, stall_seconds=8))
    setup_site(db_url)
    result = polite_crawl(db_url, archive)
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED


def test_truncated_capture_is_not_stored_and_is_refetched(proxied, db_url):
    proxy, archive = proxied()
    proxy.add(Fault(r"20110101000000id_/", "truncate", times=1))
    setup_site(db_url)
    result = polite_crawl(db_url, archive)
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    shown = run_cli("show", SITE, "--at", "2011-03-01", db=db_url).out
    assert "Version B: we now use cookies." in shown


def test_malformed_cdx_lines_are_reported_and_good_rows_kept(proxied, db_url):
    proxy, archive = proxied()
    proxy.add(Fault(r"/cdx", "malformed-cdx", times=1))
    setup_site(db_url)
    result = polite_crawl(db_url, archive)
    # Unreadable rows may have been captures: the good rows are kept, but the run is not a success.
    assert result.code == 1 and "malformed CDX row" in result.err.strip().splitlines()[-1], result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    run = runs(db_url)[0]
    assert run["status"] == "failed" and run["counts"]["pages_complete"] == 0
    assert any("malformed" in e and "this is not a cdx line" in e for e in run["errors"])


def test_blocked_url_is_recorded_and_other_sites_continue(proxied, db_url):
    other_url = "https://other.example/privacy"
    proxy, archive = proxied(HISTORY + [WarcCapture(other_url, "20150101000000", page("Other policy."))])
    proxy.add(Fault(r"acme\.example", "blocked", times=None))
    setup_site(db_url)
    setup_site(db_url, "other.example", other_url)
    result = polite_crawl(db_url, archive)
    assert result.code == 0, result.err
    run = runs(db_url)[0]
    assert any("acme.example" in e and "blocked by the archive" in e for e in run["errors"])
    assert history(db_url) == []
    assert [v["first_seen"] for v in history(db_url, "other.example")] == ["20150101000000"]
    # The page says so itself, not "crawl it first": in `sites` and when asked for its text.
    sites = {s["hostname"]: s for s in run_cli("sites", "--json", db=db_url).json()}
    assert sites[SITE]["listing"] == {"https://acme.example/privacy": "blocked"}
    assert sites["other.example"]["listing"] == {other_url: "listed"} and sites["other.example"]["notes"] == []
    [note] = sites[SITE]["notes"]
    assert note.startswith("https://acme.example/privacy: blocked by the archive since ") and "403" in note
    shown = run_cli("show", SITE, db=db_url)
    assert shown.code == 1 and "blocked by the archive since" in shown.err and "crawl it first" not in shown.err
    listed = run_cli("sites", db=db_url).out
    row = next(line for line in listed.splitlines() if line.startswith(f"{SITE} "))
    assert row.split()[1:4] == ["0", "0", "no"] and "  https://acme.example/privacy: blocked" in listed

    # Once the archive lists the page again, it is crawled like any other and the note goes.
    proxy.clear()
    assert polite_crawl(db_url, archive).code == 0
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == EXPECTED
    sites = {s["hostname"]: s for s in run_cli("sites", "--json", db=db_url).json()}
    assert sites[SITE]["listing"] == {"https://acme.example/privacy": "listed"} and sites[SITE]["notes"] == []


def test_redirect_loop_is_recorded_and_makes_no_version(proxied, db_url):
    loop_a, loop_b = "https://acme.example/privacy", "https://acme.example/legal"
    captures = [
        WarcCapture(loop_a, "20100101000000", page("Before the loop.")),
        WarcCapture(loop_a, "20110101000000", b"", status=301, headers=(("Location", "/legal"),)),
        WarcCapture(loop_b, "20110101000002", b"", status=302, headers=(("Location", "https://acme.example/privacy"),)),
    ]
    proxy, archive = proxied(captures)
    setup_site(db_url, url=loop_a)
    result = polite_crawl(db_url, archive, "--exhaustive")
    assert result.code == 0, result.err
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == [("20100101000000", "20100101000000")]
    assert runs(db_url)[0]["counts"]["captures_skipped"] == 1
    assert proxy.count("capture") <= 4
