"""Storage of discovery on both backends: sites tracked by discovery, policy periods, the stitched history."""

from __future__ import annotations

import pytest

from core.errors import UnknownSite
from storage.discovery import (
    PeriodFound, PolicyMove, discovery_sites, policy_periods, record_policy_periods, stitch, track_by_discovery,
)
from storage.queries import VersionInfo
from storage.sites import add_site, pages_for, remove_site

A, B = "https://shop.test/privacy.html", "https://group.test/privacy"


def test_tracking_by_discovery_is_idempotent_and_resumes_a_removed_site(db):
    with db.session() as session:
        assert track_by_discovery(session, ["Shop.test", "other.test"]) == [("shop.test", True), ("other.test", True)]
        assert track_by_discovery(session, ["shop.test"]) == [("shop.test", False)]
        remove_site(session, "shop.test", purge=False)
        assert discovery_sites(session) == ["other.test"]
        track_by_discovery(session, ["shop.test"])
        assert discovery_sites(session) == ["other.test", "shop.test"]
        add_site(session, "plain.test", "https://plain.test/p")
        with pytest.raises(UnknownSite, match="not tracked by discovery"):
            discovery_sites(session, ["plain.test"])


def test_periods_are_replaced_by_the_latest_discovery_and_pages_stay(db):
    with db.session() as session:
        track_by_discovery(session, ["shop.test"])
        first = [PeriodFound(A, "20040101000000", "20150101000000", "20040101000000"),
                 PeriodFound(B, "20150101000000", None, "20150101000000", cross_site=True)]
        stored = record_policy_periods(session, "shop.test", first)
        assert [(p.url, p.valid_from, p.valid_until, p.cross_site) for p in stored] == [
            (A, "20040101000000", "20150101000000", False), (B, "20150101000000", None, True)]
        assert record_policy_periods(session, "shop.test", first) == stored   # idempotent
        record_policy_periods(session, "shop.test", [PeriodFound(A, "20040101000000", None, "20040101000000")])
        assert [(p.url, p.valid_until) for p in policy_periods(session, "shop.test")] == [(A, None)]
        assert sorted(p.url for p in pages_for(session, ["shop.test"])) == [B, A]


def _version(vid: int, url: str, first_seen: str) -> VersionInfo:
    return VersionInfo(vid, "shop.test", url, first_seen, first_seen, "x" * 64, "t", 1, 1, "e", 1, 0, 0)


def test_stitch_keeps_each_pages_versions_in_its_periods_and_lists_the_moves(db):
    with db.session() as session:
        track_by_discovery(session, ["shop.test"])
        periods = record_policy_periods(session, "shop.test", [
            PeriodFound(A, "20040101000000", "20150101000000", "20040101000000"),
            PeriodFound(B, "20150101000000", None, "20150101000000", cross_site=True)])
    versions = [_version(1, A, "20040201000000"), _version(2, B, "20100101000000"),   # B before its period
                _version(3, A, "20120101000000"), _version(4, B, "20140601000000"),   # B in force from 2014-06
                _version(5, A, "20160101000000")]                                     # A after its period
    kept, moves = stitch(versions, periods)
    assert [v.id for v in kept] == [1, 3, 4]
    assert moves == [PolicyMove(A, B, "20150101000000", True)]
    assert stitch(versions, []) == (versions, [])


def test_an_incremental_discovery_cuts_at_its_start_extends_a_page_that_goes_on_and_appends(db):
    from storage.discovery import discovery_targets, mark_homepage_seen, policy_windows

    C = "https://shop.test/legal/privacy"
    with db.session() as session:
        track_by_discovery(session, ["shop.test"])
        # Never discovered: the whole homepage history is read.
        assert [(t.site, t.seen_until) for t in discovery_targets(session)] == [("shop.test", None)]
        record_policy_periods(session, "shop.test", [
            PeriodFound(A, "20040101000000", "20150101000000", "20040101000000"),
            PeriodFound(B, "20150101000000", None, "20150101000000", cross_site=True)], seen_until="20231215000000")
        # The tail from the last homepage read: B goes on until 2024-04, then C.
        tail = [PeriodFound(B, "20231215000000", "20240415000000", "20231215000000", cross_site=True),
                PeriodFound(C, "20240415000000", None, "20240415000000")]
        for _ in range(2):   # idempotent: the same tail again changes nothing
            stored = record_policy_periods(session, "shop.test", tail, since="20231215000000",
                                           seen_until="20240615000000")
            assert [(p.url, p.valid_from, p.valid_until) for p in stored] == [
                (A, "20040101000000", "20150101000000"), (B, "20150101000000", "20240415000000"),
                (C, "20240415000000", None)]
        # A tail with no policy link any more ends the stored period at its start.
        record_policy_periods(session, "shop.test", [], since="20240615000000", seen_until="20240715000000")
        assert policy_periods(session, "shop.test")[-1].valid_until == "20240615000000"
        mark_homepage_seen(session, "shop.test", "20200101000000")   # never moves back
        assert discovery_targets(session, ["shop.test"])[0].seen_until == "20240715000000"
        page_b = next(p.page_id for p in policy_periods(session, "shop.test") if p.url == B)
        assert policy_windows(session, page_b) == [("20150101000000", "20240415000000")]
        add_site(session, "plain.test", "https://plain.test/p")
        assert [t.site for t in discovery_targets(session, ["plain.test", "shop.test"])] == ["shop.test"]
