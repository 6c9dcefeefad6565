"""Versions and changes (rebuild_versions) and the read queries built on them, on SQLite and PostgreSQL."""

from __future__ import annotations

import difflib
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from core.document import content_sha256, snapshot_url, to_comparable
from core.errors import NoVersion, UnknownSite
from storage import (
    Capture,
    Change,
    CdxRow,
    Version,
    add_site,
    capture_id,
    changes_to_announce,
    list_sites,
    mark_announced,
    rebuild_versions,
    record_capture_outcome,
    record_captures,
    record_inferred,
    record_normalized,
    site_history,
    start_run,
    store_snapshot,
    version_at,
    version_by_id,
    version_pair,
)

URL = "https://example.com/privacy"
T = {i: f"2020010{i}120000" for i in range(1, 10)}  # T[1] < T[2] < ... (noon, 1-9 January 2020)
# Bodies in comparable form. A -> B: line "two" becomes "2" and "four" is added: +2 -1.
TEXTS = {
    "A": ("Privacy Policy", "one\ntwo\nthree"),
    "B": ("Privacy Policy", "one\n2\nthree\nfour"),
    "C": ("Privacy Notice", "one\nthree"),
}


@pytest.fixture
def page_id(db):
    with db.session() as s:
        return add_site(s, "example.com", URL).page_id


def capture(db, page_id, timestamp, letter, *, normalizer="n1", body=None):
    """Record and normalize one capture with content ``letter``."""
    title, text = TEXTS[letter]
    body = text if body is None else body
    with db.session() as s:
        record_captures(s, page_id, [CdxRow(timestamp, URL, 200, "text/html", f"digest-{letter}", 10)], None)
        cid = capture_id(s, page_id, timestamp)
        snapshot_id, _ = store_snapshot(s, f"{title}|{body}".encode(), http_status=200, headers=[], url=URL)
        record_normalized(
            s, cid, snapshot_id=snapshot_id, content_sha256=content_sha256(title, body), title=title,
            comparable_body=body, extraction="readability", normalizer_version=normalizer,
        )
    return cid


def rebuild(db, page_id, run_id=None):
    with db.session() as s:
        result = rebuild_versions(s, page_id, run_id)
    return (result.versions_new, result.changes_new, result.versions_removed)


def versions(db, page_id):
    """[(first_seen, last_seen, content letter, capture_count, id)] in time order."""
    letter = {content_sha256(*text): name for name, text in TEXTS.items()}
    with db.session() as s:
        rows = s.scalars(select(Version).where(Version.page_id == page_id).order_by(Version.first_seen)).all()
        return [(v.first_seen, v.last_seen, letter[v.content_sha256], v.capture_count, v.id) for v in rows]


def changes(db, page_id):
    """[(before, after, +, -, from_id, to_id, change id)] in time order."""
    with db.session() as s:
        rows = s.scalars(select(Change).where(Change.page_id == page_id).order_by(Change.after_timestamp)).all()
        return [(c.before_timestamp, c.after_timestamp, c.lines_added, c.lines_removed, c.from_version_id,
                 c.to_version_id, c.id) for c in rows]


def shape(rows):
    """Drop ids, for comparing the shape of a history."""
    return [r[:-1] for r in rows] if rows and len(rows[0]) == 5 else [r[:4] for r in rows]


def unified_counts(a: str, b: str) -> tuple[int, int]:
    """An independent oracle: + and - lines of difflib.unified_diff over '# title\\n\\nbody'."""
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0))[2:]
    return (sum(1 for l in lines if l.startswith("+")), sum(1 for l in lines if l.startswith("-")))


def doc(letter):
    title, body = TEXTS[letter]
    return f"# {title}\n\n{body}"


# --- rebuild_versions -------------------------------------------------------------------------------


def test_a_a_b_b_a_gives_three_versions_and_two_bracketed_changes(db, page_id):
    for i, letter in zip(range(1, 6), "AABBA"):
        capture(db, page_id, T[i], letter)
    assert rebuild(db, page_id) == (3, 2, 0)
    assert shape(versions(db, page_id)) == [(T[1], T[2], "A", 2), (T[3], T[4], "B", 2), (T[5], T[5], "A", 1)]
    v = [row[-1] for row in versions(db, page_id)]
    assert [c[:6] for c in changes(db, page_id)] == [
        (T[2], T[3], 2, 1, v[0], v[1]),
        (T[4], T[5], 1, 2, v[1], v[2]),
    ]
    assert unified_counts(doc("A"), doc("B")) == (2, 1) and unified_counts(doc("B"), doc("A")) == (1, 2)


def test_rebuild_is_idempotent(db, page_id):
    for i, letter in zip(range(1, 6), "AABBA"):
        capture(db, page_id, T[i], letter)
    rebuild(db, page_id)
    before = (versions(db, page_id), changes(db, page_id))
    assert rebuild(db, page_id) == (0, 0, 0)
    assert (versions(db, page_id), changes(db, page_id)) == before


def test_a_later_capture_with_the_same_content_extends_the_version(db, page_id):
    capture(db, page_id, T[1], "A")
    rebuild(db, page_id)
    capture(db, page_id, T[2], "A")
    assert rebuild(db, page_id) == (0, 0, 0)
    [(first, last, letter, n, _)] = versions(db, page_id)
    assert (first, last, letter, n) == (T[1], T[2], "A", 2)


def test_an_out_of_order_capture_with_other_content_splits_a_run(db, page_id):
    capture(db, page_id, T[1], "A")
    capture(db, page_id, T[3], "A")
    capture(db, page_id, T[5], "A")
    rebuild(db, page_id)
    [(_, _, _, _, original_id)] = versions(db, page_id)
    capture(db, page_id, T[2], "B")  # found later, in the middle of the run
    assert rebuild(db, page_id) == (2, 2, 0)
    rows = versions(db, page_id)
    assert shape(rows) == [(T[1], T[1], "A", 1), (T[2], T[2], "B", 1), (T[3], T[5], "A", 2)]
    assert rows[0][-1] == original_id  # the run that still starts at T1 keeps its id
    assert [c[:4] for c in changes(db, page_id)] == [(T[1], T[2], 2, 1), (T[2], T[3], 1, 2)]


def test_an_older_capture_is_prepended_without_disturbing_ids_or_announcements(db, page_id):
    capture(db, page_id, T[3], "A")
    capture(db, page_id, T[4], "A")
    capture(db, page_id, T[6], "B")
    rebuild(db, page_id)
    old_versions, [old_change] = versions(db, page_id), changes(db, page_id)
    with db.session() as s:
        assert mark_announced(s, [old_change[-1]]) == 1

    capture(db, page_id, T[2], "A")  # older, same content: the first version now starts earlier
    assert rebuild(db, page_id) == (0, 0, 0)
    rows = versions(db, page_id)
    assert shape(rows) == [(T[2], T[4], "A", 3), (T[6], T[6], "B", 1)]
    assert [r[-1] for r in rows] == [r[-1] for r in old_versions]
    assert changes(db, page_id) == [old_change]
    with db.session() as s:
        assert changes_to_announce(s) == []

    capture(db, page_id, T[1], "C")  # older still, other content: a new first version and change
    assert rebuild(db, page_id) == (1, 1, 0)
    assert shape(versions(db, page_id))[0] == (T[1], T[1], "C", 1)
    with db.session() as s:
        [pending] = changes_to_announce(s)
    assert (pending.before_timestamp, pending.after_timestamp) == (T[1], T[2])


def test_a_change_whose_predecessor_content_changes_is_replaced_and_ids_are_not_reused(db, page_id):
    capture(db, page_id, T[1], "A")
    capture(db, page_id, T[3], "B")
    rebuild(db, page_id)
    [old] = changes(db, page_id)
    with db.session() as s:
        mark_announced(s, [old[-1]])
    capture(db, page_id, T[2], "C")
    assert rebuild(db, page_id) == (1, 2, 0)
    rows = changes(db, page_id)
    assert old[-1] not in [c[-1] for c in rows]
    expected_ac = unified_counts(doc("A"), doc("C"))
    expected_cb = unified_counts(doc("C"), doc("B"))
    assert [c[:4] for c in rows] == [(T[1], T[2], *expected_ac), (T[2], T[3], *expected_cb)]
    with db.session() as s:
        # The change seen at T3 was announced already; only the newly discovered one at T2 is pending.
        assert [c.after_timestamp for c in changes_to_announce(s)] == [T[2]]


def test_renormalized_content_removes_obsolete_versions(db, page_id):
    capture(db, page_id, T[1], "A")
    cid = capture(db, page_id, T[2], "B")
    rebuild(db, page_id)
    with db.session() as s:
        title, body = TEXTS["A"]
        snapshot_id = s.get(Capture, cid).snapshot_id
        record_normalized(s, cid, snapshot_id=snapshot_id, content_sha256=content_sha256(title, body), title=title,
                          comparable_body=body, extraction="readability", normalizer_version="n2")
    assert rebuild(db, page_id) == (0, 0, 1)
    assert shape(versions(db, page_id)) == [(T[1], T[2], "A", 2)]
    assert changes(db, page_id) == []


def test_captures_without_a_document_do_not_split_versions(db, page_id):
    capture(db, page_id, T[1], "A")
    capture(db, page_id, T[4], "A")
    with db.session() as s:
        record_captures(s, page_id, [CdxRow(T[2], URL, 404, "text/html", "x", 1),
                                     CdxRow(T[3], URL, 200, "text/html", "y", 1)], None)
        record_capture_outcome(s, capture_id(s, page_id, T[2]), state="skipped", reason="archived-error")
        record_capture_outcome(s, capture_id(s, page_id, T[3]), state="failed", reason="timeout")
    assert rebuild(db, page_id) == (1, 0, 0)
    assert shape(versions(db, page_id)) == [(T[1], T[4], "A", 2)]


def test_inferred_captures_count_in_their_version(db, page_id):
    capture(db, page_id, T[1], "A")
    capture(db, page_id, T[4], "A")
    with db.session() as s:
        record_captures(s, page_id, [CdxRow(T[2], URL, 200, "text/html", "x", 1),
                                     CdxRow(T[3], URL, 200, "text/html", "y", 1)], None)
        sha = content_sha256(*TEXTS["A"])
        record_inferred(s, page_id, {T[2]: sha, T[3]: sha})
    assert rebuild(db, page_id) == (1, 0, 0)
    assert shape(versions(db, page_id)) == [(T[1], T[4], "A", 4)]


def test_new_rows_remember_their_run_and_normalizer_changes_are_flagged(db, page_id):
    with db.session() as s:
        run_id = start_run(s, archive="x", sites=None)
    capture(db, page_id, T[1], "A", normalizer="n1")
    capture(db, page_id, T[2], "B", normalizer="n1")
    capture(db, page_id, T[3], "A", normalizer="n2")
    rebuild(db, page_id, run_id)
    with db.session() as s:
        assert {v.created_run_id for v in s.scalars(select(Version))} == {run_id}
        flags = [(c.run_id, c.technical) for c in s.scalars(select(Change).order_by(Change.after_timestamp))]
        assert flags == [(run_id, False), (run_id, True)]
        assert [c.after_timestamp for c in changes_to_announce(s)] == [T[2]]
        assert [c.after_timestamp for c in changes_to_announce(s, include_technical=True)] == [T[2], T[3]]


def test_an_empty_page_rebuilds_to_nothing(db, page_id):
    assert rebuild(db, page_id) == (0, 0, 0)
    assert versions(db, page_id) == []


# --- queries ----------------------------------------------------------------------------------------


@pytest.fixture
def history(db, page_id):
    """A on 1-2 Jan, B on 4-5 Jan, A again on 7 Jan (all at noon UTC)."""
    for i, letter in ((1, "A"), (2, "A"), (4, "B"), (5, "B"), (7, "A")):
        capture(db, page_id, T[i], letter)
    rebuild(db, page_id)
    return [row[-1] for row in versions(db, page_id)]


def test_list_sites_summarizes_pages_captures_and_versions(db, history):
    with db.session() as s:
        add_site(s, "empty.example", "https://empty.example/privacy")
        sites = list_sites(s)
    assert [(x.hostname, x.urls, x.captures, x.versions, x.first_capture, x.last_capture) for x in sites] == [
        ("empty.example", ["https://empty.example/privacy"], 0, 0, None, None),
        ("example.com", [URL], 5, 3, T[1], T[7]),
    ]


def test_site_history_lists_versions_with_their_diff_sizes(db, history):
    with db.session() as s:
        infos = site_history(s, "Example.com")
    assert [(i.id, i.first_seen, i.last_seen, i.capture_count, i.lines_added, i.lines_removed) for i in infos] == [
        (history[0], T[1], T[2], 2, 0, 0),
        (history[1], T[4], T[5], 2, 2, 1),
        (history[2], T[7], T[7], 1, 1, 2),
    ]
    assert infos[1].title == "Privacy Policy" and infos[1].sha256 == content_sha256(*TEXTS["B"])
    assert infos[1].words == 4 and infos[1].chars == len(TEXTS["B"][1]) and infos[1].page_url == URL


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (date(2020, 1, 1), 0),  # the day of the first capture (end of day counts)
        (date(2020, 1, 3), 0),
        (date(2020, 1, 4), 1),  # the day of the change
        (datetime(2020, 1, 4, 11, 59, 59, tzinfo=timezone.utc), 0),  # an instant just before it
        (datetime(2020, 1, 4, 12, 0, 0), 1),  # naive datetimes are UTC
        (date(2020, 1, 6), 1),
        (date(2020, 1, 7), 2),
        (date(2031, 1, 1), 2),
        (None, 2),
    ],
)
def test_version_at_gives_the_version_in_force(db, history, when, expected):
    with db.session() as s:
        assert version_at(s, "example.com", when).id == history[expected]


def test_version_at_before_the_first_capture_names_the_first_date(db, history):
    with db.session() as s:
        with pytest.raises(NoVersion, match="2020-01-01"):
            version_at(s, "example.com", date(2019, 12, 31))


def test_version_queries_on_unknown_or_empty_sites(db, page_id):
    with db.session() as s:
        with pytest.raises(UnknownSite):
            version_at(s, "unknown.example")
        with pytest.raises(UnknownSite):
            site_history(s, "unknown.example")
        with pytest.raises(UnknownSite, match="does not track"):
            version_at(s, "example.com", url="https://example.com/other")
        with pytest.raises(NoVersion, match="no captures"):
            version_at(s, "example.com")
        with pytest.raises(NoVersion):
            version_by_id(s, 123456)
        with pytest.raises(NoVersion, match="0 versions"):
            version_pair(s, "example.com")
        assert site_history(s, "example.com") == []


def test_documents_are_rendered_for_the_first_capture_of_the_version(db, page_id):
    # Two captures whose bodies differ only in their own timestamp inside snapshot links: one version.
    def linked(ts):
        return f"See [terms](https://web.archive.org/web/{ts}id_/https://example.com/terms)."

    for ts in (T[1], T[2]):
        capture(db, page_id, ts, "A", body=to_comparable(linked(ts), ts))
    assert rebuild(db, page_id) == (1, 0, 0)
    with db.session() as s:
        document = version_at(s, "example.com")
        same = version_by_id(s, document.id)
    assert document == same
    assert (document.timestamp, document.first_seen, document.last_seen) == (T[1], T[1], T[2])
    assert document.body == linked(T[1]) and document.title == "Privacy Policy"
    assert document.original_url == URL and document.site == "example.com" and document.extraction == "readability"
    assert document.document.startswith(
        "> *The following text is extracted and transformed from the example.com privacy policy that was "
        f"archived on 2020-01-01. Please check the [original snapshot on the Wayback Machine]"
        f"({snapshot_url(T[1], URL)}) for the most accurate reproduction.*\n\n"
    )
    assert document.document.endswith(f"\n\n# Privacy Policy\n\n{linked(T[1])}")


def test_version_pair_defaults_to_the_last_change(db, history):
    with db.session() as s:
        before, after = version_pair(s, "example.com")
        assert (before.id, after.id) == (history[1], history[2])
        before, after = version_pair(s, "example.com", to_when=date(2020, 1, 5))
        assert (before.id, after.id) == (history[0], history[1])
        before, after = version_pair(s, "example.com", from_when=date(2020, 1, 1), to_when=date(2020, 1, 7))
        assert (before.id, after.id) == (history[0], history[2])
        assert before.body == TEXTS["A"][1] and after.body == TEXTS["A"][1]
        with pytest.raises(NoVersion, match="before"):
            version_pair(s, "example.com", to_when=date(2020, 1, 2))


def test_several_pages_of_a_site_are_kept_apart(db, history):
    with db.session() as s:
        terms = add_site(s, "example.com", "https://example.com/terms")
    capture(db, terms.page_id, T[3], "C")
    rebuild(db, terms.page_id)
    with db.session() as s:
        assert version_at(s, "example.com").id == history[2]  # the first-added page by default
        assert version_at(s, "example.com", url="https://example.com/terms").first_seen == T[3]
        assert [i.page_url for i in site_history(s, "example.com")] == [URL, "https://example.com/terms", URL, URL]
        assert [i.first_seen for i in site_history(s, "example.com", url="https://example.com/terms")] == [T[3]]
        with pytest.raises(NoVersion, match="1 version"):
            version_pair(s, "example.com", url="https://example.com/terms")


def test_mark_announced_marks_each_change_once(db, history):
    with db.session() as s:
        pending = changes_to_announce(s)
        assert [c.after_timestamp for c in pending] == [T[4], T[7]]
        assert mark_announced(s, [c.id for c in pending]) == 2
        assert mark_announced(s, [c.id for c in pending]) == 0
        assert mark_announced(s, []) == 0
    with db.session() as s:
        assert changes_to_announce(s) == []
