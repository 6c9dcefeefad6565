"""What storage keeps so that reads never compute it: each change's summary and each site's totals.

A change's summary (lines, similarity, sections touched) is stored when the change is built (rebuild, bulk
load) and filled for older rows by migration 0011; feeds and timelines read it. A site's version count and
last change are kept by every write of versions, so the sites list sorts 10,000+ sites by an index.
"""

from __future__ import annotations

import ast
from pathlib import Path

from alembic import command
from sqlalchemy import select, text, update

from core.document import content_sha256
from storage import Change, Site, change_announcement, list_sites, record_normalized
from storage.browse import sites_page
from storage.bulkload import BulkPage, BulkVersion, bulk_load
from storage.migrate import alembic_config
from storage.summary import document_lines, summarize
from storage.versions import change_summaries
from tests.test_storage_versions import T, TEXTS, URL, capture, page_id, rebuild  # noqa: F401 - page_id: a fixture

STORAGE = Path(__file__).resolve().parent.parent / "storage"
# Bodies with sections: B rewrites a line under "Cookies", C also drops the "Rights" section.
BODIES = {
    "A": "## Intro\n\nwe collect data\n\n## Cookies\n\nwe use cookies\n\n## Rights\n\nyou may ask",
    "B": "## Intro\n\nwe collect data\n\n## Cookies\n\nwe use cookies and pixels\n\n## Rights\n\nyou may ask",
    "C": "## Intro\n\nwe collect data\n\n## Cookies\n\nwe use cookies and pixels",
}


def expected(before: str, after: str):
    return summarize(document_lines(TEXTS[before][0], BODIES[before]), document_lines(TEXTS[after][0], BODIES[after]))


def history(db, page_id, letters: str) -> None:
    for i, letter in enumerate(letters, start=1):
        capture(db, page_id, T[i], letter, body=BODIES[letter])
    rebuild(db, page_id)


def stored(db, page_id):
    with db.session() as s:
        return [(c.lines_added, c.lines_removed, c.similarity, c.sections) for c in s.scalars(
            select(Change).where(Change.page_id == page_id).order_by(Change.after_timestamp))]


def test_a_rebuild_stores_each_changes_summary(db, page_id):
    history(db, page_id, "ABC")
    ab, bc = expected("A", "B"), expected("B", "C")
    assert ab.sections == ["Cookies"] and bc.sections == ["Privacy Policy", "Privacy Notice", "Rights"]  # C retitled
    assert 0 < bc.similarity < ab.similarity < 1
    assert stored(db, page_id) == [(s.lines_added, s.lines_removed, s.similarity, s.sections) for s in (ab, bc)]


def test_a_change_stored_without_a_summary_is_summarized_when_read(db, page_id):
    history(db, page_id, "AB")
    with db.session() as s:
        s.execute(update(Change).values(similarity=None, sections=None))
    with db.session() as s:
        change_id = s.scalars(select(Change.id)).one()
        assert change_summaries(s, [change_id]) == {change_id: expected("A", "B")}


def test_announcements_and_feeds_read_the_stored_summary(db, page_id):
    """The summary shown is the stored one: no texts are diffed to describe a change."""
    history(db, page_id, "AB")
    with db.session() as s:
        s.execute(update(Change).values(similarity=0.5, sections=["As stored"]))
    with db.session() as s:
        summary = change_announcement(s, s.scalars(select(Change.id)).one()).summary
    assert (summary.similarity, summary.sections) == (0.5, ["As stored"])


def totals(db):
    with db.session() as s:
        return {host: (n, last) for host, n, last in s.execute(select(Site.hostname, Site.version_count, Site.last_change))}


def test_site_totals_follow_every_rebuild(db, page_id):
    assert totals(db) == {"example.com": (0, "")}
    history(db, page_id, "AB")
    assert totals(db) == {"example.com": (2, T[2])}
    capture(db, page_id, T[3], "A", body=BODIES["A"])
    rebuild(db, page_id)
    assert totals(db) == {"example.com": (3, T[3])}
    # The middle capture normalized again to A: one version is left, and no change.
    with db.session() as s:
        cid, snapshot_id = s.execute(text("SELECT id, snapshot_id FROM captures WHERE timestamp = :t"), {"t": T[2]}).one()
        record_normalized(s, cid, snapshot_id=snapshot_id, content_sha256=content_sha256(TEXTS["A"][0], BODIES["A"]),
                          title=TEXTS["A"][0], comparable_body=BODIES["A"], extraction="readability",
                          normalizer_version="n1")
    rebuild(db, page_id)
    assert totals(db) == {"example.com": (1, "")}
    with db.session() as s:
        assert [site.versions for site in list_sites(s)] == [1]


def test_migration_0011_fills_summaries_and_totals_of_existing_rows(db, page_id):
    history(db, page_id, "ABC")
    before, sites = stored(db, page_id), totals(db)
    with db.engine.connect() as connection:
        command.downgrade(alembic_config(connection=connection), "0010_search_mentions")
        connection.commit()
    with db.engine.connect() as connection:
        command.upgrade(alembic_config(connection=connection), "head")
        connection.commit()
    assert stored(db, page_id) == before and totals(db) == sites


def _bulk(sites: dict[str, int]) -> list[BulkPage]:
    """One page per site with ``n`` versions, the last of them in year 2000 + n (so ties are many)."""
    return [BulkPage(host, f"https://{host}/p", [
        BulkVersion(f"{2000 + n - k:04d}0101000000", host, f"text {k} of {host}\n") for k in reversed(range(n))])
        for host, n in sites.items()]


def test_sites_sorted_by_totals_page_through_ties(db):
    counts = {f"s{i:02d}.example": 1 + i % 3 for i in range(14)}
    with db.session() as s:
        bulk_load(s, _bulk(counts))
    for sort, key in (("versions", lambda h: (-counts[h], h)),
                      ("last_change", lambda h: ("" if counts[h] == 1 else f"{2000 + counts[h]}", h))):
        wanted = sorted(counts, key=key) if sort == "versions" else sorted(
            sorted(counts), key=lambda h: key(h)[0], reverse=True)
        seen, after = [], None
        while True:
            with db.session() as s:
                page = sites_page(s, sort=sort, after=after, limit=3)
            seen += [site.hostname for site in page.sites]
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == wanted, sort
    with db.session() as s:
        assert totals(db)["s02.example"] == (3, "20030101000000")


def test_the_sites_list_sorted_by_totals_is_an_index_scan(tmp_path):
    """No per-request counting: the plan reads the sites index in order, nothing else (SQLite's planner)."""
    import storage

    database = storage.open_database(str(tmp_path / "plan.db"))
    try:
        with database.session() as s:
            for column in ("version_count", "last_change"):
                plan = " ".join(row[-1] for row in s.execute(text(
                    f"EXPLAIN QUERY PLAN SELECT id, hostname, version_count, last_change FROM sites "
                    f"ORDER BY {column} DESC, hostname LIMIT 51")))
                assert f"ix_sites_{column}_hostname" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        database.dispose()


def test_storage_modules_import_no_private_names_from_each_other():
    offenders = []
    for path in STORAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("storage"):
                offenders += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")]
    assert offenders == []


def test_the_latest_changes_of_every_site_walk_the_change_index(tmp_path):
    """`changes` without a period (the web's changes page): the plan walks the after_timestamp index newest
    first and stops at the page's end, instead of scanning every page and sorting all changes (SQLite's
    planner chose that at 1,000,000 versions: 0.7 s a page)."""
    import storage
    from sqlalchemy import event

    from storage.queries import list_changes

    database = storage.open_database(str(tmp_path / "plan.db"))
    issued: list[tuple[str, tuple]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "FROM changes" in statement:
            issued.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", remember)
    try:
        with database.session() as s:
            s.execute(text("ANALYZE"))
            list_changes(s, limit=51)
            statement, parameters = issued[-1]
            plan = [row[-1] for row in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
        assert plan[0].startswith("SEARCH changes USING INDEX ix_changes_after_timestamp"), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
    finally:
        event.remove(database.engine, "before_cursor_execute", remember)
        database.dispose()
