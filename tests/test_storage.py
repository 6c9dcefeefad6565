"""Repository writes: sites and pages, runs, captures, snapshots, normalized texts, reuse.

Every test runs on a real SQLite file and, when the PostgreSQL binaries are installed, on a throwaway
PostgreSQL server (see storage/testing.py).
"""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.document import content_sha256
from core.errors import InvalidSite, UnknownSite
from storage import (
    Capture,
    CdxRow,
    CrawlRun,
    ListingWatermark,
    Page,
    Site,
    Snapshot,
    VersionText,
    add_site,
    capture_id,
    captures_to_process,
    fetch_state,
    find_reusable,
    finish_run,
    list_runs,
    list_sites,
    listing_watermark,
    load_snapshot,
    mark_reused,
    page_listings,
    pages_for,
    record_capture_outcome,
    record_captures,
    record_inferred,
    record_listing,
    record_listing_watermark,
    record_normalized,
    reuse_fetched_digests,
    start_run,
    store_snapshot,
)

URL = "https://example.com/privacy"


def row(timestamp: str, digest: str | None = None, status: int | None = 200) -> CdxRow:
    return CdxRow(timestamp, URL, status, "text/html", digest, 1000)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def normalize(session, cid: int, title: str, body: str, *, snapshot_id: int | None = None) -> str:
    if snapshot_id is None:
        snapshot_id, _ = store_snapshot(session, f"<h1>{title}</h1>{body}".encode(), http_status=200, headers=[], url=URL)
    sha = content_sha256(title, body)
    record_normalized(
        session, cid, snapshot_id=snapshot_id, content_sha256=sha, title=title, comparable_body=body,
        extraction="readability", normalizer_version="n1",
    )
    return sha


# --- sites and pages --------------------------------------------------------------------------------


def test_add_site_is_idempotent_and_normalizes_the_hostname(db):
    with db.session() as s:
        first = add_site(s, "Example.COM", URL)
    with db.session() as s:
        again = add_site(s, "example.com", URL)
        other_page = add_site(s, "example.com", "https://example.com/cookies")
    assert first == again
    assert first.site == "example.com" and first.url == URL
    assert other_page.page_id != first.page_id
    with db.session() as s:
        assert count(s, Site) == 1 and count(s, Page) == 2
        assert list_sites(s)[0].urls == [URL, "https://example.com/cookies"]


@pytest.mark.parametrize(
    "hostname", ["../x", "a/b", "", "   ", "a\\b", ".example.com", "-example.com", "a..b", "example.com.",
                 "http://example.com", "exa mple.com", "a_b.com", "x" * 64 + ".com"],
)
def test_add_site_rejects_hostnames_that_are_not_plain_dns_names(db, hostname):
    with pytest.raises(InvalidSite):
        with db.session() as s:
            add_site(s, hostname, URL)
    with db.session() as s:
        assert count(s, Site) == 0


@pytest.mark.parametrize("url", ["", "example.com/privacy", "/privacy", "ftp://example.com/p", "https://", "https://exa mple.com/"])
def test_add_site_rejects_urls_that_are_not_absolute_http(db, url):
    with pytest.raises(InvalidSite):
        with db.session() as s:
            add_site(s, "example.com", url)
    with db.session() as s:
        assert count(s, Site) == 0 and count(s, Page) == 0


def test_add_site_accepts_internationalized_names_as_punycode(db):
    with db.session() as s:
        assert add_site(s, "Bücher.example", "https://xn--bcher-kva.example/privacy").site == "xn--bcher-kva.example"


def test_pages_for_selects_sites_and_rejects_unknown_ones(db):
    with db.session() as s:
        b = add_site(s, "b.example", "https://b.example/privacy")
        a = add_site(s, "a.example", "https://a.example/privacy")
        a2 = add_site(s, "a.example", "https://a.example/terms")
    with db.session() as s:
        assert pages_for(s) == [a, a2, b]
        assert pages_for(s, []) == [a, a2, b]
        assert pages_for(s, ["B.example"]) == [b]
        with pytest.raises(UnknownSite, match="nope.example"):
            pages_for(s, ["b.example", "nope.example"])


# --- runs -------------------------------------------------------------------------------------------


def test_runs_record_counts_and_keep_only_the_first_errors(db):
    with db.session() as s:
        run_id = start_run(s, trigger="schedule", archive="https://web.archive.org", sites=["Example.com"])
    with db.session() as s:
        finish_run(s, run_id, status="succeeded", counts={"captures_seen": 7, "versions_new": 2, "pages_failed": 1},
                   errors=[f"error {i}" for i in range(250)])
    with db.session() as s:
        [info] = list_runs(s)
        stored = s.get(CrawlRun, run_id)
        assert stored.sites == ["example.com"]
    assert info.status == "succeeded" and info.trigger == "schedule"
    assert info.counts["captures_seen"] == 7 and info.counts["versions_new"] == 2 and info.counts["changes_new"] == 0
    assert info.counts["errors_count"] == 250 and info.counts["pages_failed"] == 1
    assert len(info.errors) == 100 and info.errors[0] == "error 0" and "151 more" in info.errors[-1]
    assert info.started_at.tzinfo is not None and info.finished_at >= info.started_at


def test_page_listing_keeps_since_while_the_state_holds_and_says_what_it_means(db):
    with db.session() as s:
        page = add_site(s, "example.com", "https://example.com/privacy")
        other = add_site(s, "other.example", "https://other.example/privacy")
        record_listing(s, page.page_id, "blocked", "HTTP 403 (RobotAccessControlException)")
    with db.session() as s:
        first = page_listings(s, [page.page_id, other.page_id])
    assert list(first) == [page.page_id]  # never listed: absent
    with db.session() as s:  # blocked again: same state, so the same `since`; a later check
        record_listing(s, page.page_id, "blocked", "HTTP 403 (AdministrativeAccessControlException)")
        again = page_listings(s, [page.page_id])[page.page_id]
    assert again.since == first[page.page_id].since and again.checked_at >= first[page.page_id].checked_at
    assert again.describe() == (f"blocked by the archive since {again.since:%Y-%m-%d}: "
                                "HTTP 403 (AdministrativeAccessControlException)")
    with db.session() as s:  # listed: a new state, a new `since`, nothing to say
        record_listing(s, page.page_id, "listed")
        listed = page_listings(s, [page.page_id])[page.page_id]
        summary = {site.hostname: site for site in list_sites(s)}
    assert listed.state == "listed" and listed.since >= again.checked_at and listed.describe() == ""
    assert summary["example.com"].listing == {"https://example.com/privacy": "listed"}
    assert summary["other.example"].listing == {"https://other.example/privacy": "never"}
    with pytest.raises(ValueError, match="unknown listing state 'gone'"):
        with db.session() as s:
            record_listing(s, page.page_id, "gone")


def test_listing_watermark_round_trips_windows_and_is_kept_by_other_listing_outcomes(db):
    windows = (("20140115120000", "20240415120000"), ("20240601000000", None))
    with db.session() as s:
        page = add_site(s, "example.com", "https://example.com/privacy")
        with pytest.raises(ValueError, match="no listing outcome"):
            record_listing_watermark(s, page.page_id, ListingWatermark("20240101000000"))
    with db.session() as s:
        assert listing_watermark(s, page.page_id) is None  # never listed
        record_listing(s, page.page_id, "listed", run_id=None)
        assert listing_watermark(s, page.page_id) is None  # listed, but no crawl of it completed
        record_listing_watermark(s, page.page_id, ListingWatermark("20240701000000", windows))
    with db.session() as s:
        assert listing_watermark(s, page.page_id) == ListingWatermark("20240701000000", windows)
        record_captures(s, page.page_id, [row("20240801000000")], None)  # open, but after it: in the next tail
        assert listing_watermark(s, page.page_id) == ListingWatermark("20240701000000", windows)
        record_listing(s, page.page_id, "failed", "HTTP 503")  # a failed listing moves nothing
    with db.session() as s:
        assert listing_watermark(s, page.page_id) == ListingWatermark("20240701000000", windows)
        record_captures(s, page.page_id, [row("20240301000000")], None)  # open before it: list whole
        assert listing_watermark(s, page.page_id) is None
        record_capture_outcome(s, capture_id(s, page.page_id, "20240301000000"), state="skipped", reason="archived-http-404")
        assert listing_watermark(s, page.page_id) == ListingWatermark("20240701000000", windows)
        record_listing_watermark(s, page.page_id, None)  # a complete crawl that listed no capture
        assert listing_watermark(s, page.page_id) is None
        with pytest.raises(ValueError, match="14-digit"):
            record_listing_watermark(s, page.page_id, ListingWatermark("2024"))


def test_runs_reject_unknown_statuses_counts_and_triggers(db):
    with db.session() as s:
        run_id = start_run(s, archive="x", sites=None)
        with pytest.raises(ValueError):
            start_run(s, trigger="cron", archive="x", sites=None)
        with pytest.raises(ValueError):
            finish_run(s, run_id, status="done", counts={})
        with pytest.raises(ValueError):
            finish_run(s, run_id, status="failed", counts={"bogus": 1})
    with db.session() as s:
        runs = list_runs(s)
    assert [(r.id, r.status) for r in runs] == [(run_id, "running")]


def test_list_runs_is_newest_first_and_limited(db):
    with db.session() as s:
        ids = [start_run(s, archive="x", sites=None) for _ in range(3)]
    with db.session() as s:
        assert [r.id for r in list_runs(s, limit=2)] == ids[::-1][:2]


# --- captures ---------------------------------------------------------------------------------------


def test_record_captures_inserts_only_unseen_timestamps(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        run_id = start_run(s, archive="x", sites=None)
    rows = [row("20200101000000", "A"), row("20200102000000", "B"), row("20200101000000", "dup-in-batch")]
    with db.session() as s:
        assert record_captures(s, page.page_id, rows, run_id) == 2
    with db.session() as s:
        assert record_captures(s, page.page_id, rows, run_id) == 0
        assert record_captures(s, page.page_id, [row("20200103000000"), row("20200102000000")], None) == 1
        assert record_captures(s, page.page_id, [], None) == 0
    with db.session() as s:
        captures = s.scalars(select(Capture).order_by(Capture.timestamp)).all()
        assert [(c.timestamp, c.digest, c.state, c.first_run_id) for c in captures] == [
            ("20200101000000", "A", "pending", run_id),
            ("20200102000000", "B", "pending", run_id),
            ("20200103000000", None, "pending", None),
        ]


def test_record_captures_accepts_any_row_like_object_and_rejects_bad_timestamps_whole(db):
    Record = namedtuple("Record", "timestamp original_url status mimetype digest length")
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        assert record_captures(s, page.page_id, [Record("20200101000000", URL, None, None, None, None)], None) == 1
    with pytest.raises(ValueError, match="14-digit"):
        with db.session() as s:
            record_captures(s, page.page_id, [row("20200102000000"), row("2020")], None)
    with db.session() as s:
        assert count(s, Capture) == 1


def test_captures_to_process_lists_pending_and_failed_in_time_order(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        record_captures(s, page.page_id, [row(f"2020010{d}000000") for d in (4, 1, 3, 2)], None)
    with db.session() as s:
        ids = {ts: capture_id(s, page.page_id, ts) for ts in ("20200101000000", "20200102000000", "20200103000000")}
        normalize(s, ids["20200101000000"], "T", "body")
        record_capture_outcome(s, ids["20200102000000"], state="failed", reason="timeout")
        record_capture_outcome(s, ids["20200103000000"], state="skipped", reason="not-html")
    with db.session() as s:
        todo = captures_to_process(s, page.page_id)
    assert [t.timestamp for t in todo] == ["20200102000000", "20200104000000"]
    assert todo[0].capture_id == ids["20200102000000"] and todo[0].original_url == URL


def test_capture_outcome_validates_state_and_reason(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        record_captures(s, page.page_id, [row("20200101000000")], None)
        cid = capture_id(s, page.page_id, "20200101000000")
        with pytest.raises(ValueError):
            record_capture_outcome(s, cid, state="fetched", reason="x")
        with pytest.raises(ValueError):
            record_capture_outcome(s, cid, state="skipped", reason="")
        with pytest.raises(ValueError):
            capture_id(s, page.page_id, "20990101000000")


def test_fetch_state_tells_the_crawler_what_is_settled(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        record_captures(s, page.page_id, [row("20200101000000", "D1"), row("20200102000000", "D2"),
                                          row("20200103000000", "D3"), row("20200104000000", "D4"),
                                          row("20200105000000", None)], None)
    with db.session() as s:
        ids = [capture_id(s, page.page_id, f"2020010{d}000000") for d in range(1, 6)]
        sha = normalize(s, ids[0], "T", "body")
        record_capture_outcome(s, ids[1], state="skipped", reason="not-html")
        record_capture_outcome(s, ids[2], state="failed", reason="timeout")
        assert record_inferred(s, page.page_id, {"20200105000000": sha}) == 1
    with db.session() as s:
        state = fetch_state(s, page.page_id)
    assert state.done_timestamps == {"20200101000000", "20200102000000"}
    assert state.done_digests == {"D1", "D2"}
    assert state.contents == {"20200101000000": sha, "20200102000000": "", "20200105000000": sha}


def test_record_inferred_fills_only_open_captures_with_known_content(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        record_captures(s, page.page_id, [row(f"2020010{d}000000") for d in range(1, 5)], None)
    with db.session() as s:
        c1, c2, c3, c4 = (capture_id(s, page.page_id, f"2020010{d}000000") for d in range(1, 5))
        sha = normalize(s, c1, "T", "body")
        other = normalize(s, c4, "T", "other body")
        with pytest.raises(ValueError, match="never seen"):
            record_inferred(s, page.page_id, {"20200102000000": "f" * 64})
        # c1 was fetched: an inference never overwrites it.
        assert record_inferred(s, page.page_id, {"20200101000000": other, "20200102000000": sha,
                                                  "20200103000000": ""}) == 2
    with db.session() as s:
        states = [(c.state, c.content_sha256, c.extraction, c.reason) for c in
                  s.scalars(select(Capture).order_by(Capture.timestamp))]
    assert states == [
        ("fetched", sha, "readability", None),
        ("inferred", sha, "readability", "inferred"),
        ("skipped", None, None, "inferred"),
        ("fetched", other, "readability", None),
    ]


# --- snapshots and texts ----------------------------------------------------------------------------


def test_store_snapshot_dedups_identical_payloads_and_compresses(db):
    payload = b"<html><body>" + b"privacy policy text " * 500 + b"</body></html>"
    headers = [("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    with db.session() as s:
        first = store_snapshot(s, payload, http_status=200, headers=headers, url="https://web.archive.org/x")
    with db.session() as s:
        second = store_snapshot(s, payload, http_status=200, headers=[], url="https://web.archive.org/y")
        other = store_snapshot(s, payload + b"!", http_status=404, headers=[], url="https://web.archive.org/z")
    assert first[1] is True and second == (first[0], False)
    assert other[1] is True and other[0] != first[0]
    with db.session() as s:
        assert count(s, Snapshot) == 2
        raw, snapshot = load_snapshot(s, first[0])
        assert raw == payload
        assert len(snapshot.payload) < len(payload) // 10 and snapshot.compression == "zstd"
        assert snapshot.size == len(payload) and snapshot.http_status == 200
        assert [tuple(h) for h in snapshot.headers] == headers
        assert snapshot.url == "https://web.archive.org/x"
        with pytest.raises(ValueError):
            load_snapshot(s, 999_999)


def test_record_normalized_shares_texts_between_identical_contents(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        record_captures(s, page.page_id, [row("20200101000000"), row("20200102000000"), row("20200103000000")], None)
    with db.session() as s:
        c1, c2, c3 = (capture_id(s, page.page_id, f"2020010{d}000000") for d in (1, 2, 3))
        sha = normalize(s, c1, "Privacy", "Same body.")
        assert normalize(s, c2, "Privacy", "Same body.") == sha
        normalize(s, c3, "Privacy", "Other body.")
    with db.session() as s:
        assert count(s, VersionText) == 2
        text = s.scalars(select(VersionText).where(VersionText.sha256 == sha)).one()
        assert (text.title, text.chars, text.words) == ("Privacy", len("Same body."), 2)
        capture = s.get(Capture, c1)
        assert (capture.state, capture.content_sha256, capture.extraction) == ("fetched", sha, "readability")


def test_record_normalized_refuses_a_hash_that_does_not_match_the_text(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        record_captures(s, page.page_id, [row("20200101000000")], None)
        cid = capture_id(s, page.page_id, "20200101000000")
        snapshot_id, _ = store_snapshot(s, b"x", http_status=200, headers=[], url=URL)
        with pytest.raises(ValueError, match="not the hash"):
            record_normalized(s, cid, snapshot_id=snapshot_id, content_sha256="0" * 64, title="T",
                              comparable_body="B", extraction="readability", normalizer_version="n1")


def test_reuse_copies_outcomes_within_the_same_page_only(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        other = add_site(s, "other.example", "https://other.example/privacy")
        record_captures(s, page.page_id, [row("20200101000000", "D1"), row("20200102000000", "D1"),
                                          row("20200103000000", "D2"), row("20200104000000", "D2")], None)
        record_captures(s, other.page_id, [row("20200101000000", "D1")], None)
    with db.session() as s:
        ids = {ts: capture_id(s, page.page_id, ts) for ts in
               ("20200101000000", "20200102000000", "20200103000000", "20200104000000")}
        sha = normalize(s, ids["20200101000000"], "T", "body")
        record_capture_outcome(s, ids["20200103000000"], state="skipped", reason="empty-body")
    with db.session() as s:
        assert find_reusable(s, other.page_id, "D1") is None
        assert find_reusable(s, page.page_id, None) is None
        assert find_reusable(s, page.page_id, "unknown") is None
        source = find_reusable(s, page.page_id, "D1")
        assert source is not None and source.state == "fetched" and source.content_sha256 == sha
        mark_reused(s, ids["20200102000000"], source)
        skipped = find_reusable(s, page.page_id, "D2")
        assert skipped is not None and skipped.state == "skipped"
        mark_reused(s, ids["20200104000000"], skipped)
    with db.session() as s:
        reused = s.get(Capture, ids["20200102000000"])
        assert (reused.state, reused.content_sha256, reused.snapshot_id) == (
            "reused", sha, s.get(Capture, ids["20200101000000"]).snapshot_id)
        copied_skip = s.get(Capture, ids["20200104000000"])
        assert (copied_skip.state, copied_skip.reason, copied_skip.content_sha256) == ("skipped", "empty-body", None)
        assert captures_to_process(s, page.page_id) == []


def test_reuse_fetched_digests_settles_twins_but_never_redirects(db):
    with db.session() as s:
        page = add_site(s, "example.com", URL)
        record_captures(s, page.page_id, [row("20200101000000", "D1"), row("20200102000000", "D1"),
                                          row("20200103000000", "R1", 301), row("20200104000000", "R1", 301),
                                          row("20200105000000", "D9"), row("20200106000000", None)], None)
    with db.session() as s:
        ids = {c.timestamp: c.id for c in s.scalars(select(Capture).where(Capture.page_id == page.page_id))}
        sha = normalize(s, ids["20200101000000"], "T", "body")
        record_capture_outcome(s, ids["20200103000000"], state="skipped", reason="redirect-loop")
    with db.session() as s:
        assert reuse_fetched_digests(s, page.page_id) == 1
        assert reuse_fetched_digests(s, page.page_id) == 0  # idempotent
    with db.session() as s:
        states = {c.timestamp: (c.state, c.content_sha256) for c in
                  s.scalars(select(Capture).where(Capture.page_id == page.page_id))}
    assert states["20200102000000"] == ("reused", sha)
    # Identical 301s lead to different places: the second one stays open, as do captures with no twin.
    assert [t.timestamp for t in captures_to_process_of(db, page.page_id)] == [
        "20200104000000", "20200105000000", "20200106000000"]


def captures_to_process_of(db, page_id: int) -> list:
    with db.session() as s:
        return captures_to_process(s, page_id)


# --- time -------------------------------------------------------------------------------------------


def test_datetimes_are_stored_as_utc_and_come_back_aware(db):
    with db.session() as s:
        add_site(s, "example.com", URL)
        run_id = start_run(s, archive="x", sites=None)
        s.get(CrawlRun, run_id).finished_at = datetime(2020, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    with db.session() as s:
        created = s.scalars(select(Site.created_at)).one()
        finished = s.get(CrawlRun, run_id).finished_at
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert finished == datetime(2020, 1, 1, 7, 0, tzinfo=timezone.utc) and finished.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db):
    with pytest.raises(Exception, match="naive"):
        with db.session() as s:
            run_id = start_run(s, archive="x", sites=None)
            s.get(CrawlRun, run_id).finished_at = datetime(2020, 1, 1)
            s.flush()
