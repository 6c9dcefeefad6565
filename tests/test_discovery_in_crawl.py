"""Discovery inside ``policytrack crawl``: a site added without URL is discovered by the crawl itself, in the
same run as the captures crawl of the pages found; later crawls read only the homepage captures since the
last discovery; a discovered page's captures are listed and fetched only within its policy periods.

Real pywb behind the loopback fault proxy, which counts every request and stops answering where a test
proves that nothing is fetched again.
"""

from __future__ import annotations

import math
import re

import pytest

import storage
from policytrack.localarchive import WarcCapture
from policytrack.synthetic_history import HOST, policy_text, synthetic_site
from storage.discovery import policy_periods
from tests.clihelp import crawl, run_cli
from tests.faultproxy import Fault, FaultProxy

HOMEPAGE_CAPTURE = re.compile(r"/\d{14}id_/https?://(www\.)?" + re.escape(HOST) + "/$")
_HTML = (("Content-Type", "text/html; charset=utf-8"),)
NEW_POLICY = f"http://{HOST}/privacy-2024"


def _homepage(month: int, link: str) -> WarcCapture:
    body = (f"<html><body><p>News of 2024-{month:02d}</p><footer><a href=/terms>Terms</a> "
            f"<a href=\"{link}\">Privacy Policy</a></footer></body></html>").encode()
    return WarcCapture(f"http://{HOST}/", f"2024{month:02d}15120000", body, headers=_HTML)


def _cdx_queries(proxy: FaultProxy, url: str) -> list[dict[str, str]]:
    """The parameters of each CDX query the proxy saw for exactly ``url``."""
    return proxy.cdx_queries(url)


def _periods(db: str):
    database = storage.open_database(db)
    try:
        with database.session() as session:
            return [(p.url, p.valid_from, p.valid_until) for p in policy_periods(session, HOST)]
    finally:
        database.dispose()


@pytest.fixture
def tracked(local_archive, archive_factory, tmp_path):
    """tracked(moves, extra=[]) -> (site, proxy, archive spec, collection name, db): a site added without
    URL, served through a counting proxy; nothing crawled yet."""
    proxies: list[FaultProxy] = []

    def make(moves: int, extra: list[WarcCapture] = ()):
        site = synthetic_site(moves)
        collection = archive_factory([*site.captures, *extra]).rsplit("/", 1)[1]
        proxy = FaultProxy(local_archive.url).__enter__()
        proxies.append(proxy)
        db = str(tmp_path / f"crawl{moves}.db")
        assert run_cli("add", HOST, db=db).code == 0
        return site, proxy, f"pywb:{proxy.url}/{collection}", collection, db

    yield make
    for proxy in proxies:
        proxy.__exit__(None, None, None)


def test_crawl_discovers_a_site_added_without_url_and_crawls_its_pages_in_one_run(tracked):
    site, proxy, archive, _, db = tracked(2)
    result = crawl(db, archive)
    assert result.code == 0, result
    assert [(url, start) for url, start, _ in _periods(db)] == site.periods
    runs = run_cli("runs", "--json", db=db).json()
    assert len(runs) == 1 and runs[0]["status"] == "succeeded", runs
    history = run_cli("history", HOST, db=db)
    assert history.out.startswith(f"{HOST}: 4 version(s), 2 move(s) of its privacy page"), history.out
    # history --json carries the same moves, each on the version the table shows it before...
    rows = run_cli("history", HOST, "--json", db=db).json()
    moves = [(m["from_url"], m["to_url"], m["at"], m["cross_site"]) for row in rows for m in row["moves"]]
    assert moves == [(a, b, at, b.startswith("https://examplegroup.com/"))
                     for (a, _), (b, at) in zip(site.periods, site.periods[1:])]
    table = history.out.splitlines()[2:]
    for row in rows:
        line = next(i for i, text in enumerate(table) if text.startswith(f"v{row['id']} "))
        shown = [text for text in table[:line] if text.startswith("-- policy moved")]
        assert len(shown) == sum(len(r["moves"]) for r in rows if r["first_seen"] <= row["first_seen"])
    # ...and the web API's site versions are the same rows.
    from fastapi.testclient import TestClient

    from web import create_app

    database = storage.open_database(db)
    try:
        with TestClient(create_app(database)) as client:
            api = client.get(f"/api/sites/{HOST}/versions").json()
    finally:
        database.dispose()
    assert api["items"] == rows


def test_a_second_crawl_without_new_homepage_captures_lists_only_the_tail_and_fetches_nothing(tracked):
    site, proxy, archive, _, db = tracked(1)
    assert crawl(db, archive).code == 0
    last_homepage = max(c.timestamp for c in site.captures if c.url == f"http://{HOST}/")
    proxy.hits.clear()
    # From here on the archive answers no capture at all: a crawl that fetched anything would fail.
    proxy.add(Fault(r"id_/", "503", times=None))
    again = crawl(db, archive, "-s", "POLICYTRACK_BACKOFF_BASE=0.1")
    assert again.code == 0, again
    homepage_queries = _cdx_queries(proxy, f"{HOST}/")
    assert homepage_queries == [{**homepage_queries[0], "from": last_homepage}], homepage_queries
    assert proxy.count("capture") == 0
    assert [(url, start) for url, start, _ in _periods(db)] == site.periods


def test_new_homepage_captures_are_discovered_incrementally_and_a_new_move_is_appended(tracked, local_archive):
    site, proxy, archive, collection, db = tracked(1)
    assert crawl(db, archive).code == 0
    before = _periods(db)
    last_homepage = max(c.timestamp for c in site.captures if c.url == f"http://{HOST}/")
    # Six more monthly homepages: the link moves in April 2024 to a new page.
    local_archive.add_collection(collection, [
        *(_homepage(m, site.periods[-1][0] if m < 4 else NEW_POLICY) for m in range(1, 7)),
        WarcCapture(NEW_POLICY, "20240415130000", policy_text(3), headers=_HTML),
    ])
    proxy.hits.clear()
    again = crawl(db, archive)
    assert again.code == 0, again
    assert [q.get("from") for q in _cdx_queries(proxy, f"{HOST}/")] == [last_homepage]
    homepage_fetches = sum(1 for hit in proxy.hits if hit.kind == "capture" and HOMEPAGE_CAPTURE.search(hit.path))
    # 7 homepages in the tail (the last one read before, and six new): its two ends, then bisection to the
    # one move -- not the 246 homepages of the whole history.
    assert homepage_fetches <= 2 + math.ceil(math.log2(7))
    after = _periods(db)
    # The stored periods stand; the last one now ends at the move, and the new page follows.
    assert after[:-2] == before[:-1]
    assert after[-2] == (before[-1][0], before[-1][1], "20240415120000")
    assert after[-1] == (NEW_POLICY, "20240415120000", None)
    history = run_cli("history", HOST, db=db)
    assert f"to {NEW_POLICY} on 2024-04-15" in history.out, history.out


def test_a_discovered_page_is_listed_and_fetched_only_within_its_policy_period(tracked):
    # /privacy.html stopped being the policy page in 2014; a capture of it from 2018 says something else.
    late = WarcCapture(f"http://{HOST}/privacy.html", "20180301130000", policy_text(7), headers=_HTML)
    site, proxy, archive, _, db = tracked(1, [late])
    assert crawl(db, archive).code == 0
    (first_url, first_start, first_until), _ = _periods(db)
    assert first_url == f"http://{HOST}/privacy.html"
    [query] = _cdx_queries(proxy, first_url)
    assert query["from"] == str(int(first_start[:4]) - 1) + first_start[4:]  # the documented 365-day margin
    assert query["to"] == first_until
    assert not [hit for hit in proxy.hits if "20180301130000" in hit.path]
    texts = run_cli("history", HOST, "--url", first_url, "--json", db=db).json()
    assert all(v["first_seen"] < first_until for v in texts)


def test_a_discovery_error_in_a_crawl_fails_the_run_and_exits_non_zero(tracked):
    _, proxy, archive, _, db = tracked(0)
    proxy.add(Fault(r"/cdx\?url=" + re.escape(HOST) + "%2F&", "503", times=None))
    result = crawl(db, archive, "-s", "POLICYTRACK_BACKOFF_BASE=0.1")
    assert result.code != 0, result
    runs = run_cli("runs", "--json", db=db).json()
    assert runs[0]["status"] == "failed"
    assert any(HOST in error and "CDX" in error for error in runs[0]["errors"]), runs[0]["errors"]
    assert _periods(db) == []


def test_the_schedulers_crawl_discovers_first_too(tracked, tmp_path):
    from tests.test_scheduler_support import SchedulerProcess, run_cli_ok, runs_of, wait_until

    site, proxy, archive, _, db = tracked(1)
    run_cli_ok("schedule", "add", HOST, "--every", "1h", "--now", db=db)
    with SchedulerProcess(db, archive, tmp_path / "scheduler.log") as scheduler:
        scheduler.wait_started()
        wait_until(lambda: [r for r in runs_of(db, "s1") if r.finished_at is not None], 120, what="the scheduled run")
        assert scheduler.stop() == 0, scheduler.log()[-3000:]
    [run] = run_cli("runs", "--schedule", "s1", "--json", db=db).json()
    assert run["status"] == "succeeded", run
    assert [(url, start) for url, start, _ in _periods(db)] == site.periods
    assert run["counts"]["versions_new"] == 3  # both pages crawled in the same run (one text change)


def test_a_discovered_page_is_refreshed_from_its_watermark_until_its_periods_change(tracked, local_archive, tmp_path):
    site, proxy, archive, collection, db = tracked(1)
    assert crawl(db, archive).code == 0
    (old_url, old_start), (url, start) = site.periods
    old_newest, newest = (max(c.timestamp for c in site.captures if c.url == u) for u in (old_url, url))
    # January 2024: the homepage still links to the page, which was captured again with a new text.
    local_archive.add_collection(collection, [
        _homepage(1, url), WarcCapture(url, "20240120130000", policy_text(2), headers=_HTML)])
    proxy.hits.clear()
    assert crawl(db, archive).code == 0
    # Periods unchanged: each page lists from its watermark (the later of it and the period's margin).
    assert proxy.cdx_queries(url) == [{**proxy.cdx_queries(url)[0], "from": newest}]
    assert "to" not in proxy.cdx_queries(url)[0]
    [old_query] = proxy.cdx_queries(old_url)
    assert (old_query["from"], old_query["to"]) == (old_newest, start)
    fetched = {h.path.split("id_/")[0][-14:] for h in proxy.hits if h.kind == "capture"}
    assert "20240120130000" in fetched and not fetched & {c.timestamp for c in site.captures if c.url != site.captures[0].url}
    # The link moves in April: the page's period is cut there, so it is listed whole within its new period.
    local_archive.add_collection(collection, [
        *(_homepage(m, url if m < 4 else NEW_POLICY) for m in range(2, 7)),
        WarcCapture(NEW_POLICY, "20240415130000", policy_text(3), headers=_HTML)])
    proxy.hits.clear()
    assert crawl(db, archive).code == 0
    [query] = proxy.cdx_queries(url)
    assert (query["from"], query["to"]) == (str(int(start[:4]) - 1) + start[4:], "20240415120000")
    # The history is the one a fresh crawl of the whole archive finds.
    fresh = str(tmp_path / "fresh.db")
    assert run_cli("add", HOST, db=fresh).code == 0
    assert crawl(fresh, archive).code == 0
    def versions(database: str) -> list[tuple]:
        return [(v["page_url"], v["first_seen"], v["last_seen"], v["sha256"], v["moves"])
                for v in run_cli("history", HOST, "--json", db=database).json()]

    assert versions(db) == versions(fresh)
