"""A refresh lists only what is new: CDX ``from=`` the page's watermark (the newest capture its last
complete crawl listed), so at the Internet Archive a daily refresh costs one CDX request per page however
long the page's history.

Real pywb on loopback behind the counting fault proxy; the archive grows between crawls (more captures
added to the same collection), as the real one does. Every history is compared with a fresh full crawl
of the final archive into another database.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time

import pytest

import storage
from policytrack.localarchive import WarcCapture
from tests.clihelp import crawl, run_cli
from tests.faultproxy import Fault, FaultProxy
from tests.test_crawl import page

SITE = "acme.example"
URL = f"https://{SITE}/privacy"
OLD, NEW, THIRD = "Old text.", "New text.", "Third text: we changed it again."


def capture(stamp: str, text: str) -> WarcCapture:
    """Every capture with its own bytes (an ad that changes), as real pages: only the text says what changed."""
    return WarcCapture(URL, stamp, page(text, chrome=f"<span>ad {stamp}</span>"))


BACKFILL = [capture(f"2015{m:02d}01000000", OLD if m < 6 else NEW) for m in range(1, 13)]
WATERMARK = "20151201000000"


@pytest.fixture
def archive(local_archive, archive_factory, tmp_path):
    """(grow, db, spec, proxy): the site tracked in ``db``, its 2015 history crawled once through ``proxy``
    (spec: the proxied collection); grow(captures) adds captures to the collection; the proxy's log is
    cleared after the first crawl."""
    collection = archive_factory(BACKFILL).rsplit("/", 1)[1]
    db = f"sqlite:///{tmp_path}/refresh.db"
    assert run_cli("add", SITE, URL, db=db).code == 0
    with FaultProxy(local_archive.url) as proxy:
        spec = f"pywb:{proxy.url}/{collection}"
        first = crawl(db, spec)
        assert first.code == 0, first.err
        assert "from" not in proxy.cdx_queries()[0]  # the first crawl lists the whole history
        proxy.hits.clear()
        yield (lambda captures: local_archive.add_collection(collection, captures)), db, spec, proxy


def history(db: str) -> list[tuple[str, str, str]]:
    shown = run_cli("history", SITE, "--json", db=db)
    assert shown.code == 0, shown.err
    return [(v["first_seen"], v["last_seen"], v["sha256"]) for v in shown.json()]


def full_crawl_history(tmp_path, spec: str, *args: str) -> list[tuple[str, str, str]]:
    """The history a fresh crawl of the whole archive finds, in a database of its own."""
    db = f"sqlite:///{tmp_path}/fresh.db"
    assert run_cli("add", SITE, URL, db=db).code == 0
    assert crawl(db, spec, *args).code == 0
    return history(db)


def watermark(db: str) -> storage.ListingWatermark | None:
    database = storage.open_database(db)
    try:
        with database.session() as session:
            [page_id] = [p.page_id for p in storage.pages_for(session, [SITE])]
            return storage.listing_watermark(session, page_id)
    finally:
        database.dispose()


def fetched(proxy: FaultProxy) -> list[str]:
    """The timestamps of the captures fetched, in order."""
    return [hit.path.split("id_/")[0].rsplit("/", 1)[1] for hit in proxy.hits if hit.kind == "capture"]


def last_run(db: str) -> dict:
    return run_cli("runs", "--json", "--limit", "1", db=db).json()[0]


def test_nothing_new_costs_one_cdx_request_for_one_row_and_no_fetch(archive):
    _, db, spec, proxy = archive
    before = history(db)
    assert watermark(db) == storage.ListingWatermark(WATERMARK)
    again = crawl(db, spec)
    assert again.code == 0, again.err
    [query] = proxy.cdx_queries()
    assert query["from"] == WATERMARK
    assert proxy.cdx_rows() == [1]          # only the watermark capture itself comes back
    assert fetched(proxy) == []
    assert history(db) == before
    assert last_run(db)["counts"]["captures_seen"] == 1


def test_new_captures_with_the_same_text_fetch_only_the_newest(archive, tmp_path):
    grow, db, spec, proxy = archive
    grow([capture(f"2016{m:02d}01000000", NEW) for m in range(1, 5)])
    again = crawl(db, spec)
    assert again.code == 0, again.err
    assert [q["from"] for q in proxy.cdx_queries()] == [WATERMARK]
    assert proxy.cdx_rows() == [5]          # the watermark and the four new ones, not the 16 of the history
    assert fetched(proxy) == ["20160401000000"]   # bisection's right end; its left end is known
    assert watermark(db) == storage.ListingWatermark("20160401000000")
    assert history(db) == full_crawl_history(tmp_path, spec)
    assert history(db)[-1][:2] == ("20150601000000", "20160401000000")


def test_new_captures_with_a_change_are_bisected_from_the_watermark_only(archive, tmp_path):
    grow, db, spec, proxy = archive
    grow([capture(f"2016{m:02d}01000000", NEW if m < 6 else THIRD) for m in range(1, 9)])
    again = crawl(db, spec)
    assert again.code == 0, again.err
    assert [q["from"] for q in proxy.cdx_queries()] == [WATERMARK]
    assert proxy.cdx_rows() == [9]
    stamps = fetched(proxy)
    assert all(stamp > WATERMARK for stamp in stamps), stamps
    assert len(stamps) <= 1 + math.ceil(math.log2(8)), stamps   # the newest, then halving the 8 new ones
    assert {"20160501000000", "20160601000000"} <= set(stamps)  # the change pinned to adjacent captures
    assert history(db) == full_crawl_history(tmp_path, spec)
    assert [v[:2] for v in history(db)][-1] == ("20160601000000", "20160801000000")


@pytest.mark.parametrize("fault", [
    Fault(r"20160801000000id_/", "503", times=None),   # a capture that cannot be fetched
    Fault(r"/cdx\?", "malformed-cdx"),                    # a listing with an unreadable row (partial)
], ids=["capture-fails", "listing-partial"])
def test_the_gaps_of_an_incomplete_crawl_are_listed_and_fetched_by_the_next(archive, tmp_path, fault):
    grow, db, spec, proxy = archive
    grow([capture(f"2016{m:02d}01000000", NEW if m < 6 else THIRD) for m in range(1, 9)])
    proxy.add(fault)
    failed = crawl(db, spec, "-s", "POLICYTRACK_BACKOFF_BASE=0.1")
    assert failed.code != 0, failed.err
    assert last_run(db)["status"] == "failed"
    # The watermark stays where the last complete crawl left it: the next tail holds this crawl's gaps.
    assert watermark(db) == storage.ListingWatermark(WATERMARK)
    proxy.clear()
    proxy.hits.clear()
    again = crawl(db, spec)
    assert again.code == 0, again.err
    assert [q["from"] for q in proxy.cdx_queries()] == [WATERMARK]
    assert watermark(db) == storage.ListingWatermark("20160801000000")
    assert history(db) == full_crawl_history(tmp_path, spec)


def test_a_crawl_killed_mid_page_leaves_the_watermark_and_the_next_resumes(archive, tmp_path):
    grow, db, spec, proxy = archive
    grow([capture(f"2016{m:02d}01000000", NEW if m < 6 else THIRD) for m in range(1, 9)])
    # The archive stalls on the newest capture; the crawl is killed there, its listing read whole.
    proxy.add(Fault(r"20160801000000id_/", "stall", stall_seconds=20))
    proc = subprocess.Popen([sys.executable, "-m", "policytrack.cli", "crawl", "--archive", spec, "--db", db,
                             "--workers", "1", "-s", "POLICYTRACK_LEASE_TTL=2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not [h for h in proxy.hits if h.status == 0] and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert [q["from"] for q in proxy.cdx_queries()] == [WATERMARK]
    assert watermark(db) == storage.ListingWatermark(WATERMARK)
    time.sleep(3)  # its lease on the site expires
    proxy.clear()
    proxy.hits.clear()
    again = crawl(db, spec)
    assert again.code == 0, again.err
    assert [q["from"] for q in proxy.cdx_queries()] == [WATERMARK]
    assert history(db) == full_crawl_history(tmp_path, spec)


def test_an_older_capture_left_open_before_the_watermark_makes_the_next_crawl_list_whole(archive, tmp_path):
    grow, db, spec, proxy = archive
    # The archive indexed a capture late, older than the watermark, between the two texts; `--full` finds
    # it but cannot fetch it. An incremental listing would never ask for it again.
    grow([capture("20150515000000", THIRD)])
    proxy.add(Fault(r"20150515000000id_/", "503", times=None))
    failed = crawl(db, spec, "--full", "-s", "POLICYTRACK_BACKOFF_BASE=0.1")
    assert failed.code != 0, failed.err
    assert watermark(db) is None
    proxy.clear()
    proxy.hits.clear()
    again = crawl(db, spec)
    assert again.code == 0, again.err
    [query] = proxy.cdx_queries()
    assert "from" not in query
    assert fetched(proxy) == ["20150515000000"]
    assert watermark(db) == storage.ListingWatermark(WATERMARK)
    assert history(db) == full_crawl_history(tmp_path, spec)
    assert len(history(db)) == 3


def test_full_lists_the_whole_history_and_fetches_nothing_stored(archive):
    _, db, spec, proxy = archive
    before = history(db)
    again = crawl(db, spec, "--full")
    assert again.code == 0, again.err
    [query] = proxy.cdx_queries()
    assert "from" not in query
    assert proxy.cdx_rows() == [12]
    assert fetched(proxy) == []
    assert history(db) == before
    refused = run_cli("crawl", "--distributed", "--full", "--redis", "redis://127.0.0.1:1/0", db=db)
    assert refused.code == 1 and "POLICYTRACK_INCREMENTAL=false" in refused.err and "Traceback" not in refused.err


def test_exhaustive_mode_lists_from_the_watermark_when_every_capture_before_it_was_fetched(
        local_archive, archive_factory, tmp_path):
    collection = archive_factory(BACKFILL).rsplit("/", 1)[1]
    db = f"sqlite:///{tmp_path}/exhaustive.db"
    assert run_cli("add", SITE, URL, db=db).code == 0
    with FaultProxy(local_archive.url) as proxy:
        spec = f"pywb:{proxy.url}/{collection}"
        assert crawl(db, spec, "--exhaustive").code == 0
        assert len(fetched(proxy)) == 12
        local_archive.add_collection(collection, [capture(f"2016{m:02d}01000000", THIRD) for m in range(1, 4)])
        proxy.hits.clear()
        assert crawl(db, spec, "--exhaustive").code == 0
        assert [q["from"] for q in proxy.cdx_queries()] == [WATERMARK]
        assert sorted(fetched(proxy)) == ["20160101000000", "20160201000000", "20160301000000"]
        assert history(db) == full_crawl_history(tmp_path, spec, "--exhaustive")


def test_exhaustive_after_bisection_lists_the_whole_history_to_fetch_what_bisection_inferred(archive):
    _, db, spec, proxy = archive
    bisected = last_run(db)["counts"]["captures_fetched"]
    assert 2 <= bisected < 12
    assert crawl(db, spec, "--exhaustive").code == 0
    [query] = proxy.cdx_queries()
    assert "from" not in query
    assert len(fetched(proxy)) == 12 - bisected   # exactly the captures bisection inferred
    proxy.hits.clear()
    assert crawl(db, spec, "--exhaustive").code == 0
    assert [q["from"] for q in proxy.cdx_queries()] == [WATERMARK]   # now every capture was fetched
    assert fetched(proxy) == []
