"""Sites tracked by discovery and the periods in which each page was the site's privacy policy.

A site added without a URL is tracked by discovery (:func:`track_by_discovery`); the discovery crawl
records what it found as periods (:func:`record_policy_periods`), each one pointing to an ordinary
``Page`` that the captures crawl then tracks like any other. Recording is idempotent: the periods found by
the latest discovery replace the site's earlier ones, the pages stay (with their history).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.errors import UnknownSite
from storage.inserts import insert_ignoring_conflicts
from storage.models import DiscoverySite, Page, PolicyPeriod, Site
from storage.sites import add_sites, lookup_hostname, normalize_hostname


@dataclass(frozen=True)
class PeriodFound:
    """What discovery found for one period: the policy URL, from when to when, on which homepage capture."""

    url: str
    valid_from: str
    valid_until: str | None
    found_on: str
    cross_site: bool = False


@dataclass(frozen=True)
class PolicyPeriodInfo:
    page_id: int
    url: str
    valid_from: str
    valid_until: str | None
    found_on: str
    cross_site: bool


def track_by_discovery(session: Session, hostnames: Sequence[str]) -> list[tuple[str, bool]]:
    """Track each site by discovery (created if new); returns (hostname, newly tracked by discovery)."""
    hosts = [normalize_hostname(h) for h in hostnames]
    for host in sorted(set(hosts)):
        insert_ignoring_conflicts(session, Site, [{"hostname": host}], ["hostname"])
    site_ids = dict(session.execute(select(Site.hostname, Site.id).where(Site.hostname.in_(hosts))).all())
    for site in session.scalars(select(Site).where(Site.hostname.in_(hosts), Site.removed_at.is_not(None))):
        site.removed_at = None
    before = set(session.scalars(select(DiscoverySite.site_id).where(DiscoverySite.site_id.in_(site_ids.values()))))
    insert_ignoring_conflicts(session, DiscoverySite, [{"site_id": i} for i in sorted(set(site_ids.values()))],
                              ["site_id"])
    return [(host, site_ids[host] not in before) for host in hosts]


def discovery_sites(session: Session, hostnames: Sequence[str] | None = None) -> list[str]:
    """Hostnames tracked by discovery (of those named, if any), removed sites left out, sorted.

    Naming a site that is not tracked by discovery is an error (:class:`UnknownSite` says how to add it)."""
    statement = (select(Site.hostname).join(DiscoverySite, DiscoverySite.site_id == Site.id)
                 .where(Site.removed_at.is_(None)).order_by(Site.hostname))
    if not hostnames:
        return list(session.scalars(statement))
    wanted = [lookup_hostname(h) for h in hostnames]
    found = list(session.scalars(statement.where(Site.hostname.in_(wanted))))
    for host in wanted:
        if host not in found:
            error = UnknownSite(host)
            error.args = (f"{host} is not tracked by discovery: 'policytrack add {host}' (without URL) tracks it",)
            raise error
    return found


@dataclass(frozen=True)
class DiscoveryTarget:
    """A site the crawl discovers first: ``seen_until`` is where its homepage history was last read
    (None: never discovered -- the whole history is read)."""

    site: str
    seen_until: str | None


def discovery_targets(session: Session, hostnames: Sequence[str] | None = None) -> list[DiscoveryTarget]:
    """The sites tracked by discovery among ``hostnames`` (all if None), removed ones left out, sorted.

    Unlike :func:`discovery_sites`, naming a site tracked by URL is no error: a crawl names any site."""
    statement = (select(Site.hostname, DiscoverySite.homepage_seen_until)
                 .join(DiscoverySite, DiscoverySite.site_id == Site.id)
                 .where(Site.removed_at.is_(None)).order_by(Site.hostname))
    if hostnames:
        statement = statement.where(Site.hostname.in_([lookup_hostname(h) for h in hostnames]))
    return [DiscoveryTarget(host, seen) for host, seen in session.execute(statement)]


def record_policy_periods(session: Session, hostname: str, periods: Sequence[PeriodFound],
                          run_id: int | None = None, *, since: str | None = None,
                          seen_until: str | None = None) -> list[PolicyPeriodInfo]:
    """Store what a discovery found, adding a page for each policy URL not tracked yet; returns the
    stored periods in time order. ``periods``: in any order, not overlapping.

    ``since`` None (the whole homepage history was read): ``periods`` replace the site's periods.
    ``since`` a timestamp (only the homepage captures from then on were read): the stored periods are cut
    there and ``periods`` (none starting before it) follow; a stored period that goes on with the same
    page is extended, not split. ``seen_until``: the newest homepage capture read (see
    :func:`discovery_targets`)."""
    site_id = _site_id(session, hostname)
    host = lookup_hostname(hostname)
    periods = sorted(periods, key=lambda p: p.valid_from)
    refs = add_sites(session, [(host, p.url) for p in periods]) if periods else []
    kept: list[PolicyPeriod] = []
    if since is not None:
        cut = since
        stored = list(session.scalars(select(PolicyPeriod).where(PolicyPeriod.site_id == site_id)
                                      .order_by(PolicyPeriod.valid_from)))
        for period in stored:
            if period.valid_from >= cut:
                session.delete(period)
            else:
                if period.valid_until is None or period.valid_until > cut:
                    period.valid_until = cut
                kept.append(period)
        session.flush()
    elif since is None:
        session.execute(delete(PolicyPeriod).where(PolicyPeriod.site_id == site_id)
                        .execution_options(synchronize_session=False))
    for period, ref in zip(periods, refs):
        last = kept[-1] if kept else None
        # The same page goes on (across the cut: homepages without a link are transparent): one period.
        if last is not None and last.page_id == ref.page_id and last.valid_until in (period.valid_from, since):
            last.valid_until = period.valid_until
            continue
        row = PolicyPeriod(site_id=site_id, page_id=ref.page_id, valid_from=period.valid_from,
                           valid_until=period.valid_until, found_on=period.found_on,
                           cross_site=period.cross_site, run_id=run_id)
        session.add(row)
        kept.append(row)
    if seen_until is not None:
        mark_homepage_seen(session, host, seen_until)
    session.flush()
    return policy_periods(session, host)


def mark_homepage_seen(session: Session, hostname: str, seen_until: str) -> None:
    """The site's homepage history has been read up to ``seen_until`` (never moves back)."""
    tracked = session.get(DiscoverySite, _site_id(session, hostname))
    if tracked is not None:
        tracked.homepage_seen_until = max(seen_until, tracked.homepage_seen_until or seen_until)


def policy_windows(session: Session, page_id: int) -> list[tuple[str, str | None]]:
    """The periods in which the page was its site's policy page, as (valid_from, valid_until) in time
    order; empty for a page tracked by URL (its whole history counts)."""
    rows = session.execute(select(PolicyPeriod.valid_from, PolicyPeriod.valid_until)
                           .where(PolicyPeriod.page_id == page_id).order_by(PolicyPeriod.valid_from))
    return [(start, until) for start, until in rows]


def policy_periods(session: Session, hostname: str) -> list[PolicyPeriodInfo]:
    """The site's policy periods in time order (empty if never discovered)."""
    site_id = _site_id(session, hostname)
    rows = session.execute(
        select(PolicyPeriod, Page.url).join(Page, Page.id == PolicyPeriod.page_id)
        .where(PolicyPeriod.site_id == site_id).order_by(PolicyPeriod.valid_from)
    ).all()
    return [PolicyPeriodInfo(p.page_id, url, p.valid_from, p.valid_until, p.found_on, p.cross_site)
            for p, url in rows]


def _site_id(session: Session, hostname: str) -> int:
    host = lookup_hostname(hostname)
    site_id = session.scalar(select(Site.id).where(Site.hostname == host))
    if site_id is None:
        raise UnknownSite(host)
    return site_id


@dataclass(frozen=True)
class PolicyMove:
    """The site's privacy link moved from one page to another at ``at`` (the first homepage linking to it)."""

    from_url: str
    to_url: str
    at: str
    cross_site: bool


def stitch(versions: Sequence[Any], periods: Sequence[PolicyPeriodInfo]) -> tuple[list[Any], list[PolicyMove]]:
    """A discovered site's history: the versions of each page in force during that page's periods, in time
    order, and the moves between periods. Without periods (a site tracked by URL) the versions stay as
    they are. ``versions``: ``VersionInfo``s of the site in time order (``storage.site_history``)."""
    if not periods:
        return list(versions), []
    by_url: dict[str, list[PolicyPeriodInfo]] = {}
    for period in periods:
        by_url.setdefault(period.url, []).append(period)
    superseded: dict[int, str | None] = {}
    following: dict[str, str] = {}
    for version in reversed(versions):
        superseded[version.id] = following.get(version.page_url)
        following[version.page_url] = version.first_seen
    kept = [v for v in versions if any(
        (p.valid_until is None or v.first_seen < p.valid_until)
        and (superseded[v.id] is None or superseded[v.id] > p.valid_from)
        for p in by_url.get(v.page_url, ()))]
    moves = [PolicyMove(a.url, b.url, b.valid_from, b.cross_site)
             for a, b in zip(periods, periods[1:]) if a.url != b.url]
    return kept, moves


def stitched_history(session: Session, hostname: str, *, url: str | None = None, since: Any = None,
                     until: Any = None) -> tuple[list[Any], list[PolicyMove]]:
    """A site's history as ``history`` and the API show it: its versions (``storage.site_history``), for a
    discovered site stitched by period (:func:`stitch`, unless one page is asked for), and its moves."""
    from storage.queries import site_history

    versions = site_history(session, hostname, url=url, since=since, until=until)
    if url is not None:
        return versions, []
    return stitch(versions, policy_periods(session, hostname))


def place_moves(versions: Sequence[Any], moves: Sequence[PolicyMove]) -> tuple[list[list[PolicyMove]], list[PolicyMove]]:
    """Where each move shows among the versions (in time order): the moves before each version (and after
    the one before it), and the moves after the last version (its new page has no version yet)."""
    pending = sorted(moves, key=lambda m: m.at)
    before: list[list[PolicyMove]] = []
    for version in versions:
        placed = []
        while pending and pending[0].at <= version.first_seen:
            placed.append(pending.pop(0))
        before.append(placed)
    return before, pending


def history_rows(versions: Sequence[Any], moves: Sequence[PolicyMove]) -> tuple[list[dict[str, Any]], list[PolicyMove]]:
    """The rows of ``history --json`` and of the API's site versions: each version's fields and ``moves``,
    the moves shown before it (:func:`place_moves`); and the moves after the last version."""
    before, after = place_moves(versions, moves)
    rows = [{**asdict(version), "moves": [asdict(move) for move in placed]} for version, placed in zip(versions, before)]
    return rows, after
