"""storage.bulkload writes what a crawl would: captures of each version, raw snapshots, versions, changes."""

from __future__ import annotations

from sqlalchemy import func, select

import storage
from storage.blobs import load_snapshot
from storage.bulkload import BulkPage, BulkVersion, bulk_load
from storage.models import Capture, Change, Site, Snapshot
from storage.summary import document_lines, summarize


def test_bulk_versions_carry_their_captures_and_snapshots(db):
    versions = [
        BulkVersion("20100101000000", "T", "one\n", later_captures=["20100201000000", "20100301000000"],
                    snapshots=[b"<html>one a</html>", b"<html>one b</html>"]),
        BulkVersion("20110101000000", "T", "one\ntwo\n", snapshots=[b"<html>two</html>"]),
    ]
    with db.session() as session:
        result = bulk_load(session, [BulkPage("bulk.example", "https://bulk.example/p", versions)])
    assert (result.versions, result.captures, result.snapshots) == (2, 4, 3)
    assert result.raw_snapshot_bytes == sum(len(p) for v in versions for p in v.snapshots)
    with db.session() as session:
        history = storage.site_history(session, "bulk.example")
        assert [(v.first_seen, v.last_seen, v.capture_count) for v in history] == [
            ("20100101000000", "20100301000000", 3), ("20110101000000", "20110101000000", 1)]
        assert (history[1].lines_added, history[1].lines_removed) == (1, 0)
        change = session.scalars(select(Change)).one()
        assert (change.before_timestamp, change.after_timestamp) == ("20100301000000", "20110101000000")
        states = dict(session.execute(select(Capture.timestamp, Capture.state)).all())
        assert states == {"20100101000000": "fetched", "20100201000000": "inferred",
                          "20100301000000": "fetched", "20110101000000": "fetched"}
        fetched = session.scalars(select(Capture.snapshot_id).where(Capture.timestamp == "20100301000000")).one()
        assert load_snapshot(session, fetched)[0] == b"<html>one b</html>"
        assert session.scalar(select(func.count()).select_from(Snapshot)) == 3


def test_bulk_changes_are_summarized_as_a_rebuild_summarizes_them(db):
    """Exactly (difflib, as storage.versions): a moved line counts as removed and added, which a count of
    lines in and out would miss; similarity and sections are stored too, and the site's totals."""
    before = "## Intro\n\nwe collect\n\n## Cookies\n\nwe use cookies\n\nlast line\n"
    after = "## Intro\n\nlast line\n\nwe collect\n\n## Cookies\n\nwe use cookies\n"
    with db.session() as session:
        bulk_load(session, [BulkPage("moved.example", "https://moved.example/p", [
            BulkVersion("20100101000000", "T", before), BulkVersion("20110101000000", "T", after)])])
    summary = summarize(document_lines("T", before), document_lines("T", after))
    assert (summary.lines_added, summary.lines_removed) != (0, 0)
    with db.session() as session:
        change = session.scalars(select(Change)).one()
        assert (change.lines_added, change.lines_removed, change.similarity, change.sections) == (
            summary.lines_added, summary.lines_removed, summary.similarity, summary.sections)
        site = session.scalars(select(Site)).one()
        assert (site.version_count, site.last_change) == (2, "20110101000000")
