"""``policytrack renormalize``: stored history re-derived by the current normalizer, with no archive at all.

The history is stored the way the crawl pipeline stores it (raw snapshot, then the normalized text),
by a *previous* normalizer: the current one with two rules changed, as a release would change them --
it ignored the HTTP charset (so a page labelled only there was read as windows-1252 mojibake) and it
dropped the title. Re-normalizing with the current normalizer must then undo exactly one boundary
(mojibake -> text) and create exactly one (a title-only change), leave the real change alone with its
announcement, fetch nothing, and be resumable and idempotent.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from core.document import content_sha256, render_document, to_comparable
from crawler.normalizer import NORMALIZER_VERSION, CaptureMeta, Normalized, Normalizer
from crawler.renormalize import renormalize
from policytrack.cli import main
from storage import (
    Capture,
    Change,
    CdxRow,
    Snapshot,
    Version,
    add_site,
    capture_id,
    changes_to_announce,
    mark_announced,
    rebuild_versions,
    record_captures,
    record_inferred,
    record_normalized,
    site_history,
    store_snapshot,
)
from storage.renormalize import begin_renormalization, captures_to_renormalize, technical_boundaries

SITE = "example.com"
URL = "https://example.com/privacy"
OLD_VERSION = "1"
ARTICLE = ("<article><h1>Privacy policy</h1>{extra}"
           + "".join(f"<p>Paragraph {n}: we collect your e-mail address only to answer you, and we keep it "
                     f"no longer than we need to. Caf\u00e9 visitors\u2019 data stays with us.</p>" for n in range(6))
           + "</article>")
HTTP_ONLY = (("Content-Type", "text/html; charset=utf-8"),)


def page(title: str, *, meta_charset: bool, extra: str = "") -> bytes:
    head = '<meta charset="utf-8">' if meta_charset else ""
    return f"<html><head>{head}<title>{title}</title></head><body>{ARTICLE.format(extra=extra)}</body></html>".encode()


# timestamp -> (payload, headers). Under the old rules: 1 is mojibake, 2-3 equal, 4-5 the real change.
CAPTURES = {
    "20150101000000": (page("Privacy", meta_charset=False), HTTP_ONLY),
    "20150601000000": (page("Privacy", meta_charset=True), ()),
    "20160101000000": (page("Privacy policy (updated)", meta_charset=True), ()),
    "20170101000000": (page("Privacy policy (updated)", meta_charset=True, extra="<p>We now share data with partners.</p>"), ()),
    "20180101000000": (page("Privacy policy (updated)", meta_charset=True, extra="<p>We now share data with partners.</p>"), ()),
}
INFERRED = "20170601000000"  # bisection never fetched it: same text on both sides


class PreviousNormalizer(Normalizer):
    """The normalizer as release 1 had it: HTTP charset ignored, no title."""

    def normalize(self, payload: bytes, meta: CaptureMeta) -> Normalized:
        meta = dataclasses.replace(meta, headers=(("Content-Type", "text/html"),))
        result = super().normalize(payload, meta)
        title = ""
        comparable_title = to_comparable(title, meta.timestamp)
        return dataclasses.replace(
            result, title=title, comparable_title=comparable_title, normalizer_version=OLD_VERSION,
            document=render_document(meta.site, meta.original_url, meta.timestamp, title, result.body),
            content_sha256=content_sha256(comparable_title, result.comparable_body))


@pytest.fixture(scope="module")
def normalizers():
    with PreviousNormalizer(workers=1) as old, Normalizer(workers=2) as new:
        yield old, new


def store_history(db, normalizer: Normalizer) -> int:
    """What the crawl pipeline does per capture: raw snapshot, normalize, record; then rebuild versions."""
    with db.session() as session:
        page_id = add_site(session, SITE, URL).page_id
        rows = [CdxRow(ts, URL, 200, "text/html", f"digest-{ts}", 100) for ts in sorted([*CAPTURES, INFERRED])]
        record_captures(session, page_id, rows, None)
    for timestamp, (payload, headers) in CAPTURES.items():
        result = normalizer.normalize(payload, CaptureMeta(SITE, URL, timestamp, headers=headers))
        with db.session() as session:
            snapshot_id, _ = store_snapshot(session, payload, http_status=200, headers=list(headers), url=URL)
            record_normalized(session, capture_id(session, page_id, timestamp), snapshot_id=snapshot_id,
                              content_sha256=result.content_sha256, title=result.comparable_title,
                              comparable_body=result.comparable_body, extraction=result.extraction,
                              normalizer_version=result.normalizer_version)
    with db.session() as session:
        twin = session.scalars(select(Capture.content_sha256).where(Capture.timestamp == "20170101000000")).one()
        record_inferred(session, page_id, {INFERRED: twin})
        rebuild_versions(session, page_id)
    return page_id


def changes(db, page_id):
    with db.session() as session:
        return [(c.after_timestamp, c.technical, c.announced_at is not None) for c in session.scalars(
            select(Change).where(Change.page_id == page_id).order_by(Change.after_timestamp))]


def counts(db):
    with db.session() as session:
        return (session.scalar(select(func.count(Snapshot.id))),
                session.scalar(select(func.count(Capture.id)).where(Capture.state == "fetched")))


def test_renormalize_flags_exactly_the_boundaries_the_normalizer_made_or_unmade(db, normalizers):
    old, new = normalizers
    page_id = store_history(db, old)
    # The old history: mojibake -> text (2015-06), then the real change (2017-01), announced.
    assert [after for after, _, _ in changes(db, page_id)] == ["20150601000000", "20170101000000"]
    with db.session() as session:
        mark_announced(session, [c.id for c in changes_to_announce(session)])
    snapshots_before = counts(db)

    totals = renormalize(db, [SITE], normalizer=new)  # no archive anywhere: nothing can be fetched

    assert (totals.captures, totals.appeared, totals.disappeared, totals.policy_changes_new) == (5, 1, 1, 0)
    assert counts(db) == snapshots_before  # nothing refetched, no capture changed state
    # The mojibake boundary is gone; the title-only boundary is new and technical; the real change stays
    # a policy change and keeps its announcement.
    assert changes(db, page_id) == [("20160101000000", True, False), ("20170101000000", False, True)]
    with db.session() as session:
        kinds = [(b.kind, b.after_timestamp) for b in technical_boundaries(session, page_id)]
        assert sorted(kinds) == [("appeared", "20160101000000"), ("disappeared", "20150601000000")]
        assert changes_to_announce(session) == []  # the technical change is announced nowhere
        history = site_history(session, SITE)
        assert [v.technical for v in history] == [False, True, False]
        assert {v.title for v in history} >= {"Privacy", "Privacy policy (updated)"}
        versions = list(session.scalars(select(Version).where(Version.page_id == page_id)))
        assert {v.normalizer_version for v in versions} == {NORMALIZER_VERSION}
        inferred = session.scalars(select(Capture).where(Capture.timestamp == INFERRED)).one()
        assert inferred.state == "inferred" and inferred.normalizer_version == NORMALIZER_VERSION
        assert inferred.content_sha256 == session.scalars(
            select(Capture.content_sha256).where(Capture.timestamp == "20170101000000")).one()
        # A later crawl's rebuild keeps the flag.
        rebuild_versions(session, page_id)
    assert changes(db, page_id)[0] == ("20160101000000", True, False)

    # Idempotent: a second run has nothing to do and changes nothing.
    again = renormalize(db, [SITE], normalizer=new)
    assert (again.captures, again.appeared, again.disappeared) == (0, 0, 0)
    assert changes(db, page_id) == [("20160101000000", True, False), ("20170101000000", False, True)]


def test_a_change_only_a_new_normalizer_sees_is_not_counted_as_a_policy_change(db, normalizers):
    old, new = normalizers
    page_id = store_history(db, old)
    # The next crawl, already with the current normalizer, meets the same page again: its text differs
    # from the last version only by the normalizer (the title is back).
    timestamp = "20190101000000"
    payload, headers = CAPTURES["20180101000000"]
    result = new.normalize(payload, CaptureMeta(SITE, URL, timestamp, headers=headers))
    with db.session() as session:
        record_captures(session, page_id, [CdxRow(timestamp, URL, 200, "text/html", "digest-new", 100)], None)
        snapshot_id, _ = store_snapshot(session, payload, http_status=200, headers=list(headers), url=URL)
        record_normalized(session, capture_id(session, page_id, timestamp), snapshot_id=snapshot_id,
                          content_sha256=result.content_sha256, title=result.comparable_title,
                          comparable_body=result.comparable_body, extraction=result.extraction,
                          normalizer_version=result.normalizer_version)
        rebuilt = rebuild_versions(session, page_id)
    assert (rebuilt.versions_new, rebuilt.changes_new, rebuilt.technical_new) == (1, 0, 1)
    assert changes(db, page_id)[-1] == (timestamp, True, False)


def test_an_interrupted_renormalization_resumes_against_the_old_history(db, normalizers):
    old, new = normalizers
    page_id = store_history(db, old)
    # A run that stopped after redoing the first two captures (their rows committed one by one) and
    # after a crawl-time rebuild already replaced the old change points.
    with db.session() as session:
        begin_renormalization(session, page_id, NORMALIZER_VERSION)
        todos = captures_to_renormalize(session, page_id, NORMALIZER_VERSION)
    for todo in todos[:2]:
        payload, headers = CAPTURES[todo.timestamp]
        result = new.normalize(payload, CaptureMeta(SITE, URL, todo.timestamp, headers=headers))
        with db.session() as session:
            record_normalized(session, todo.capture_id, snapshot_id=todo.snapshot_id,
                              content_sha256=result.content_sha256, title=result.comparable_title,
                              comparable_body=result.comparable_body, extraction=result.extraction,
                              normalizer_version=result.normalizer_version)
            rebuild_versions(session, page_id)

    totals = renormalize(db, [SITE], normalizer=new)

    assert totals.captures == 3
    assert changes(db, page_id) == [("20160101000000", True, False), ("20170101000000", False, False)]
    with db.session() as session:
        kinds = sorted((b.kind, b.after_timestamp) for b in technical_boundaries(session, page_id))
    assert kinds == [("appeared", "20160101000000"), ("disappeared", "20150601000000")]


def test_a_site_being_crawled_is_left_out(db, normalizers):
    from storage import leases

    old, new = normalizers
    page_id = store_history(db, old)
    crawl = leases.Holder.new("crawl")
    with db.session() as session:
        leases.acquire(session, crawl, [f"site:{SITE}"])
    totals = renormalize(db, [SITE], normalizer=new)
    assert totals.captures == 0 and SITE in totals.busy
    with db.session() as session:
        assert len(captures_to_renormalize(session, page_id, NORMALIZER_VERSION)) == 5
        leases.release(session, crawl)
    assert renormalize(db, [SITE], normalizer=new).captures == 5


def test_since_version_limits_the_captures_redone(db, normalizers):
    old, _ = normalizers
    page_id = store_history(db, old)
    with db.session() as session:
        assert len(captures_to_renormalize(session, page_id, NORMALIZER_VERSION)) == 5
        assert len(captures_to_renormalize(session, page_id, NORMALIZER_VERSION, since_version="1")) == 5
        assert captures_to_renormalize(session, page_id, NORMALIZER_VERSION, since_version="2") == []


def test_cli_renormalize_reports_and_rejects_unknown_sites(tmp_path, capsys, normalizers):
    from storage import open_database

    url = f"sqlite:///{tmp_path / 'history.db'}"
    db = open_database(url)
    store_history(db, normalizers[0])
    db.dispose()
    assert main(["renormalize", "--db", url, "--workers", "1", SITE]) == 0
    out = capsys.readouterr().out
    assert "5 captures re-normalized on 1 pages" in out
    assert "technical: 1 boundaries appeared, 1 disappeared; 0 new policy changes" in out
    assert main(["renormalize", "--db", url, "--workers", "1", "--quiet", SITE]) == 0  # nothing left to redo
    assert capsys.readouterr() == ("", "")  # --quiet: neither the report nor progress
    assert main(["renormalize", "--db", url, "no-such.example"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("policytrack: error:") and "no-such.example" in err and "Traceback" not in err


def test_history_and_changes_show_the_changes_the_normalizer_no_longer_sees(tmp_path, capsys, normalizers):
    import json

    from storage import open_database

    url = f"sqlite:///{tmp_path / 'history.db'}"
    db = open_database(url)
    store_history(db, normalizers[0])
    db.dispose()
    assert main(["renormalize", "--db", url, "--workers", "1", "--quiet", SITE]) == 0
    assert main(["history", "--db", url, "--json", SITE]) == 0
    captured = capsys.readouterr()
    versions = json.loads(captured.out)  # the rows stay versions; the merged change is a note on stderr
    first = versions[0]["id"]
    assert [v["first_seen"] for v in versions] == ["20150101000000", "20160101000000", "20170101000000"]
    assert "technical: normalizer" in captured.err and "2015-06-01" in captured.err

    assert main(["history", "--db", url, SITE]) == 0
    marked = [line for line in capsys.readouterr().out.splitlines() if line.startswith("technical:")]
    assert len(marked) == 1
    assert "no longer distinguishes the text first seen 2015-06-01" in marked[0]
    assert "last seen 2015-01-01" in marked[0] and marked[0].endswith(f"both are version v{first} now")
    assert main(["history", "--db", url, "--since", "2016-01-01", SITE]) == 0
    assert "technical:" not in capsys.readouterr().out  # seen before the period

    assert main(["changes", "--db", url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["after_timestamp"], r["technical"], r["merged"]) for r in rows] == [
        ("20170101000000", False, False), ("20160101000000", True, False), ("20150601000000", True, True)]
    assert (rows[2]["id"], rows[2]["from_version_id"], rows[2]["to_version_id"]) == (None, first, first)
    assert main(["changes", "--db", url]) == 0
    assert "technical: no longer distinguished" in capsys.readouterr().out
    assert main(["changes", "--db", url, "--json", "--no-technical"]) == 0
    assert [r["after_timestamp"] for r in json.loads(capsys.readouterr().out)] == ["20170101000000"]
    assert main(["changes", "--db", url, "--json", "--limit", "2"]) == 0
    assert [r["after_timestamp"] for r in json.loads(capsys.readouterr().out)] == ["20170101000000", "20160101000000"]
