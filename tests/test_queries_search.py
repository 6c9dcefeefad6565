"""Full-text search: phrase and case semantics, index catch-up, the index schema (both backends)."""

from __future__ import annotations

import itertools
import json

from sqlalchemy import inspect, text

import storage
import storage.search as search
from policytrack.commands.queries import JSON_FIELDS
from storage.models import Base
from tests.test_queries_fixtures import (  # noqa: F401  (database is a fixture)
    V2021,
    Snap,
    cli,
    database,
    example_database,
    record,
)


def found(database, term, *args):
    result = cli(database, "search", term, "--json", *args)
    assert result.code == 0, result.err
    return {hit["site"]: hit for hit in json.loads(result.out)}


def test_search_reports_first_and_last_version_per_site(database):
    example_database(database)
    hits = found(database, "gdpr")
    assert list(hits) == ["example.com"]
    hit = hits["example.com"]
    assert set(hit) == set(JSON_FIELDS["search"])
    assert hit["first"]["first_seen"] == "20190110100000" and hit["last"]["first_seen"] == "20210201090000"
    assert hit["first"]["page_url"] == "https://example.com/privacy"
    assert (hit["versions_matching"], hit["versions_total"], hit["current"]) == (2, 4, True)
    cookies = found(database, "cookies")["example.com"]
    assert cookies["first"]["first_seen"][:4] == "2015" and cookies["last"]["first_seen"][:4] == "2019"
    assert cookies["current"] is False  # the latest version no longer mentions cookies


def test_phrases_match_words_in_order_whatever_the_punctuation_but_within_a_paragraph(database):
    example_database(database)
    record(database, "split.net", [Snap("20200101000000", "We do not\n\nsell anything.\n")])
    hits = found(database, "do not sell")
    # example.com: "We do not sell, rent"; other.org: "We do-not-sell anything" (2011), not "do not ever sell".
    assert sorted(hits) == ["example.com", "other.org"]
    assert hits["other.org"]["versions_matching"] == 1 and hits["other.org"]["current"] is False
    assert hits["example.com"]["first"]["first_seen"][:4] == "2010"
    assert hits["example.com"]["last"]["first_seen"][:4] == "2021"  # "Do Not Sell My Personal Information"
    assert found(database, "sell, rent!")["example.com"]["versions_matching"] == 2
    assert found(database, "nothing like this") == {}


def test_smart_case_a_capital_letter_makes_the_match_case_sensitive(database):
    example_database(database)
    hits = found(database, "Do Not Sell")
    assert list(hits) == ["example.com"]
    assert hits["example.com"]["first"]["first_seen"] == "20210201090000"
    assert hits["example.com"]["versions_matching"] == 1
    assert sorted(found(database, "Do Not Sell", "--ignore-case")) == ["example.com", "other.org"]
    assert found(database, "do not sell", "--case-sensitive")["example.com"]["first"]["first_seen"][:4] == "2010"
    assert found(database, "GDPR")["example.com"]["versions_matching"] == 2
    assert found(database, "Gdpr") == {}


def test_search_by_site_and_errors(database):
    example_database(database)
    assert list(found(database, "do not sell", "--site", "other.org")) == ["other.org"]
    assert cli(database, "search", "gdpr", "--site", "nope.example").code == 1
    empty = cli(database, "search", "?!")
    assert empty.code == 1 and "has no words" in empty.err
    table = cli(database, "search", "gdpr").out
    assert table.splitlines()[1].split()[:3] == ["example.com", "2019-01-10", "3"]


def test_search_sees_texts_right_after_they_are_written(database):
    example_database(database)
    assert found(database, "gdpr").keys() == {"example.com"}  # indexes everything queued so far
    record(database, "late.net", [Snap("20220101000000", "We follow the GDPR.\n")])
    with database.session() as session:
        assert search.pending_count(session) == 1  # queued by the trigger, in the writer's transaction
    assert found(database, "gdpr").keys() == {"example.com", "late.net"}
    with database.session() as session:
        assert search.pending_count(session) == 0


def test_each_distinct_paragraph_is_indexed_once(database):
    example_database(database)
    record(database, "copy.org", [Snap("20200101000000", "We keep logs.\n\nSomething new.\n", title="Other")])
    with database.session(immediate=True) as session:
        storage.catch_up(session)
        blocks = session.execute(text("SELECT text FROM search_blocks")).scalars().all()
        count = ("SELECT count(*) FROM search_block_texts" if database.engine.dialect.name == "sqlite"
                 else "SELECT sum(cardinality(block_ids)) FROM search_text_blocks")
        pairs = session.execute(text(count)).scalar_one()
    assert len(blocks) == len(set(blocks))
    assert blocks.count("We keep logs.") == 1  # shared by other.org's two texts and copy.org's
    assert "Contact us at privacy@example.com." in blocks and "Privacy Policy" in blocks
    assert pairs > len(blocks)


def test_long_paragraphs_are_cut_in_overlapping_windows(database, monkeypatch):
    monkeypatch.setattr(search, "CHUNK_WORDS", 100)  # windows of 100 words every 36
    words = [f"w{i}" for i in range(300)]
    words[98:101] = ["alpha", "beta", "gamma"]  # across the first window's end
    assert all(len(b.split()) <= 100 for b in search.blocks("T", " ".join(words)))
    record(database, "long.net", [Snap("20200101000000", " ".join(words) + "\n")])
    assert list(found(database, "alpha beta gamma")) == ["long.net"]
    assert list(found(database, "w299")) == ["long.net"]


def test_the_schema_comparison_leaves_out_exactly_the_search_index(database):
    """The names registered in storage.search are the only schema objects without a model."""
    with database.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    unmodelled = tables - set(Base.metadata.tables) - {"alembic_version"}
    assert unmodelled and all(search.is_search_object(name) for name in unmodelled)
    assert not any(search.is_search_object(name) for name in Base.metadata.tables)
    mapping = search.BLOCK_TEXTS_TABLE if database.engine.dialect.name == "sqlite" else search.TEXT_BLOCKS_TABLE
    assert {search.QUEUE_TABLE, search.BLOCKS_TABLE, mapping} <= unmodelled


def _mention_rows(database):
    with database.session() as session:
        search.catch_up(session)
        rows = session.execute(text(f"SELECT * FROM {search.MENTIONS_TABLE}")).mappings().all()
    # A block's version ranges are a set: the database concatenates them in any order.
    return sorted((*(r[c] for c in r.keys() if c != "runs"), sorted(r["runs"].split(","))) for r in rows)


def _recomputed_mention_rows(database):
    """The mention rows computed from scratch for every site, as the migration's backfill does."""
    with database.session() as session:
        session.execute(text(f"DELETE FROM {search.MENTIONS_TABLE}"))
        session.execute(text(f"INSERT INTO {search.SITE_QUEUE_TABLE} (site_id) SELECT id FROM sites"))
    return _mention_rows(database)


def test_a_rebuild_that_removes_a_version_updates_the_mentions(database):
    example_database(database)
    cookies = found(database, "cookies")["example.com"]
    assert (cookies["last"]["first_seen"], cookies["versions_matching"], cookies["versions_total"]) == (
        "20190110100000", 2, 4)
    # The 2019 capture normalizes anew to the 2021 text: its version (which mentioned cookies) is merged away.
    record(database, "example.com", [Snap("20190110100000", V2021, normalizer_version="2")])
    cookies = found(database, "cookies")["example.com"]
    assert (cookies["last"]["first_seen"], cookies["versions_matching"], cookies["versions_total"]) == (
        "20150615080000", 1, 3)
    gdpr = found(database, "gdpr")["example.com"]
    assert (gdpr["first"]["first_seen"], gdpr["versions_matching"], gdpr["current"]) == ("20190110100000", 1, True)
    assert _mention_rows(database) == _recomputed_mention_rows(database)


def test_mentions_follow_new_versions_of_known_texts_and_count_each_version_once(database):
    example_database(database)
    # Two matching paragraphs in one version, and a revert to an earlier text (no new text to index):
    # A is in 2010 and 2012, B in 2010 and 2014; three versions mention the phrase, not four.
    record(database, "both.net", [
        Snap("20100101000000", "A: we do not sell data.\n\nB: do not sell, ever.\n"),
        Snap("20120101000000", "A: we do not sell data.\n\nNothing else.\n"),
        Snap("20140101000000", "B: do not sell, ever.\n"),
    ])
    hit = found(database, "do not sell", "--site", "both.net")["both.net"]
    assert (hit["versions_matching"], hit["versions_total"]) == (3, 3)
    assert (hit["first"]["first_seen"], hit["last"]["first_seen"]) == ("20100101000000", "20140101000000")
    record(database, "both.net", [Snap("20160101000000", "A: we do not sell data.\n\nNothing else.\n")])
    with database.session() as session:
        assert search.pending_count(session) == 0  # the text was known: only the site's mentions are stale
    hit = found(database, "do not sell")["both.net"]
    assert (hit["versions_matching"], hit["versions_total"], hit["current"]) == (4, 4, True)
    assert hit["last"]["first_seen"] == "20160101000000"
    assert _mention_rows(database) == _recomputed_mention_rows(database)


def test_the_mentions_migration_fills_the_table_from_the_indexed_texts(database):
    from alembic import command

    from storage.migrate import alembic_config, upgrade

    example_database(database)
    record(database, "both.net", [Snap("20100101000000", "A: we do not sell.\n\nB: do not sell.\n"),
                                  Snap("20140101000000", "B: do not sell.\n")])
    kept = _mention_rows(database)
    before = found(database, "do not sell")
    with database.engine.connect() as connection:
        command.downgrade(alembic_config(connection=connection), "0008_web_indexes")
        connection.commit()
    upgrade(database.engine)  # 0010 computes every site's rows from the blocks indexed so far
    with database.session() as session:
        assert session.execute(text(f"SELECT count(*) FROM {search.SITE_QUEUE_TABLE}")).scalar_one() == 0
    assert _mention_rows(database) == kept
    assert found(database, "do not sell") == before


def test_a_page_of_hits_is_the_slice_of_all_hits(database):
    """Pages of a search (folded per site in SQL) are exactly the slices of the whole answer (folded in
    Python), with sites tied on their first mention, several matching paragraphs per site and reverts."""
    from storage.bulkload import BulkPage, BulkVersion, bulk_load

    pages = []
    for n in range(9):
        texts = [f"we do not sell data (site {n}).\n\nintro {n}\n",
                 f"we do not sell data (site {n}).\n\nDo Not Sell: a link.\n\nmore {n}\n",
                 f"nothing of the kind {n}\n",
                 f"we do not sell data (site {n}).\n\nDo Not Sell: a link.\n\nmore {n}\n"]
        first_year = 2010 + n % 3  # three sites share each first mention
        pages.append(BulkPage(f"s{n}.example", f"https://s{n}.example/p", [
            BulkVersion(f"{first_year + k}0101000000", "P", body) for k, body in enumerate(texts)]))
    with database.session() as session:
        bulk_load(session, pages)
    for term in ("do not sell", "Do Not Sell", "more"):
        with database.session() as session:
            whole = storage.search_versions(session, term)
        assert len(whole) == 9
        for size in (1, 2, 4):
            assert _all_pages(database, term, size) == whole, (term, size)


def _all_pages(database, term, size):
    """Every hit of a search, asked for a page of ``size`` at a time (at most 40 pages: a wrong cursor
    must not loop for ever)."""
    paged, after = [], None
    for _ in range(40):
        with database.session() as session:
            page = storage.search_versions(session, term, after=after, limit=size)
        paged += page
        if len(page) < size:
            break
        after = (page[-1].first.first_seen, page[-1].site)
    return paged


def _walked_pages(database, term, size):
    """Every page of a search as the walk in order of first mention finds it (search._walk_first_mentions,
    which a common phrase's page uses), or None where the walk gave up for the fold."""
    pages, after = [], None
    for _ in range(40):  # never loops for ever on a wrong cursor
        with database.session() as session:
            matches = search._Matches.find(session, search.term_words(term), term != term.lower(), check_later=True)
            walked = search._walk_first_mentions(session, matches, after, size)
            if walked is None:
                return pages + [None]
            page = search._hits(session, walked)
        pages.append(page)
        if len(page) < size:
            return pages
        after = (page[-1].first.first_seen, page[-1].site)
    return pages + ["too many pages"]


def test_pages_walked_in_order_of_first_mention_are_the_slices_of_all_hits(database, monkeypatch):
    """The walk over ix_search_mentions_first_at gives exactly the folded answer's pages: sites tied on their
    first mention, sites mentioning the phrase early and again later (met again on later pages' walks,
    where their earlier mention must drop them), several matching paragraphs per site, reverts."""
    from storage.bulkload import BulkPage, BulkVersion, bulk_load

    pages = []
    for n in range(12):
        first_year = 2001 + n % 4  # three sites share each first mention
        texts = []
        for k in range(8):
            if k == 2 and n % 2:  # half the sites stop saying it for a while, then say it in new words
                texts.append(f"nothing of the kind {n}\n")
            else:
                texts.append(f"intro {n}\n\nwe do not sell data (site {n}, edit {k // 3}).\n\n"
                             + ("Do Not Sell: a link.\n" if k >= 5 else "") + f"\n\nmore {n} {k}\n")
        host = f"s{99 - n}.example"  # stored in the opposite order of their names: ties sort by name
        pages.append(BulkPage(host, f"https://{host}/p", [
            BulkVersion(f"{first_year + 3 * k}0101000000", "P", body) for k, body in enumerate(texts)]))
    pages.append(BulkPage("late.example", "https://late.example/p", [
        BulkVersion("20230101000000", "P", "we do not sell data, ever.\n")]))
    with database.session() as session:
        bulk_load(session, pages)
    monkeypatch.setattr(search, "FOLD_AT_MOST_BLOCKS", 0)  # every page walks (a common phrase's path)
    # SQLite: the matching set filled up front, or (a word in most blocks) looked up as the walk and the
    # sites' rows meet its blocks: one by one, in ranges of ids, or in one pass over all the phrase's matches.
    look_ups = [(10**9, 64, 0.5)]
    if database.engine.dialect.name == "sqlite":
        look_ups += [(0, 10**9, 0.5), (0, 0, 1.0), (0, 0, 0.0), (3, 0, 1.0)]
    for (term, case_up_front), (up_front, one_by_one, ranges_cover) in itertools.product(
            (("do not sell", 20_000), ("Do Not Sell", 20_000), ("Do Not Sell", 0)), look_ups):
        # With no case checked up front, blocks are checked as the walk and the sites' rows meet them.
        monkeypatch.setattr(search, "CASE_CHECKED_UP_FRONT", case_up_front)
        monkeypatch.setattr(search, "MATCHED_UP_FRONT_AT_MOST", up_front)
        monkeypatch.setattr(search, "LOOK_UP_ONE_BY_ONE_AT_MOST", one_by_one)
        monkeypatch.setattr(search, "RANGES_COVER_AT_MOST", ranges_cover)
        with database.session() as session:
            whole = storage.search_versions(session, term)
            assert [h.site for h in whole if h.site.endswith("9.example")] == [
                h.site for h in storage.search_versions(session, term, ["s99.example", "s89.example"])]
        assert len(whole) == (13 if term == "do not sell" else 12)
        for size in (1, 2, 3, 5):
            walked = _walked_pages(database, term, size)
            assert None not in walked, (term, size)
            assert [hit for page in walked for hit in page] == whole, (term, size)
            assert _all_pages(database, term, size) == whole, (term, size)
    # A walk bounded before it settles a page gives up, and the search folds instead: the same answer.
    monkeypatch.setattr(search, "WALK_MIN_ENTRIES", 3)
    monkeypatch.setattr(search, "WALK_ENTRIES_PER_BLOCK", 0)
    for term, up_front in itertools.product(("do not sell", "Do Not Sell"), (10**9, 0)):
        monkeypatch.setattr(search, "MATCHED_UP_FRONT_AT_MOST", up_front)
        assert _walked_pages(database, term, 5) == [None]
        with database.session() as session:
            assert storage.search_versions(session, term, limit=5) == storage.search_versions(session, term)[:5]
