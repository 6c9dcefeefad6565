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
