"""Reads for the CLI (and later an HTTP API). Results are frozen dataclasses, never ORM objects, so they
stay valid after the session closes and can be rendered as tables or JSON directly.

Version texts are stored in comparable form (the capture's own timestamp replaced by a sentinel inside
snapshot URLs); every document returned here is rendered back for the version's first capture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from core.document import archived_date, from_comparable, render_document
from core.errors import NoRun, NoVersion, UnknownSite
from storage.live import rendered_for
from storage.models import (
    RUN_COUNTS,
    RUN_STATUSES,
    Capture,
    Change,
    CrawlRun,
    Page,
    ScheduledRun,
    Site,
    Version,
    VersionText,
)
from storage.sites import lookup_hostname, page_listings
from storage.types import decompress, since_timestamp, until_timestamp


@dataclass(frozen=True)
class SiteSummary:
    hostname: str
    urls: list[str]
    captures: int
    versions: int
    first_capture: str | None
    last_capture: str | None
    listing: dict[str, str] = field(default_factory=dict)  # page URL -> listed | blocked | failed | never
    notes: list[str] = field(default_factory=list)  # pages the archive blocks or could not list, and since when
    removed_at: str | None = None  # ISO date: removed with its history kept (no longer crawled)


@dataclass(frozen=True)
class VersionInfo:
    id: int
    site: str
    page_url: str
    first_seen: str
    last_seen: str
    sha256: str
    title: str
    chars: int
    words: int
    extraction: str
    capture_count: int
    lines_added: int  # against the previous version of the same page; 0 for the first
    lines_removed: int
    # The change that led to this version (None for a page's first version) and its summary.
    change_id: int | None = None
    technical: bool = False  # the two sides were normalized by different normalizer versions
    words_delta: int | None = None  # words minus the previous version's words
    chars_delta: int | None = None


@dataclass(frozen=True)
class VersionDocument:
    id: int
    site: str
    page_url: str
    original_url: str
    timestamp: str
    first_seen: str
    last_seen: str
    title: str
    body: str
    document: str
    extraction: str
    sha256: str
    source: str = "archive"  # how the version was first seen: "archive", or "live" (fetched from the site)


@dataclass(frozen=True)
class RunInfo:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    trigger: str
    counts: dict[str, int]
    errors: list[str]  # errors, then notes (sites left out because another run was crawling them)
    sites: list[str] | None = None  # hostnames the run was limited to; None: every tracked site
    archive: str = ""
    schedule_id: str | None = None  # the schedule that started it (trigger "schedule")
    scheduled_for: datetime | None = None  # that schedule's fire time (a coalesced run: the latest)
    worker: str | None = None  # the `policytrack worker` (HOST:PID) that ran it (trigger "worker")


@dataclass(frozen=True)
class ChangeInfo:
    id: int
    site: str
    page_url: str
    from_version_id: int
    to_version_id: int
    before_timestamp: str
    after_timestamp: str
    lines_added: int
    lines_removed: int
    technical: bool
    announced_at: datetime | None


# --- lookups ----------------------------------------------------------------------------------------


def site_named(session: Session, hostname: str) -> Site:
    """The site called ``hostname`` (either spelling, see :func:`lookup_hostname`); :class:`UnknownSite` if none.

    A site removed with its history kept is still found: its history can be queried."""
    host = lookup_hostname(hostname)
    site = session.scalars(select(Site).where(Site.hostname == host)).one_or_none()
    if site is None:
        raise UnknownSite(host)
    return site


def _page(session: Session, hostname: str, url: str | None) -> tuple[Site, Page]:
    """The named page of a site, or the site's first-added page."""
    site = site_named(session, hostname)
    statement = select(Page).where(Page.site_id == site.id).order_by(Page.id)
    if url is not None:
        statement = statement.where(Page.url == url.strip())
    page = session.scalars(statement.limit(1)).one_or_none()
    if page is None:
        error = UnknownSite(site.hostname)
        error.args = (
            f"site {site.hostname!r} does not track the page {url!r}: "
            f"add it with 'policytrack add {site.hostname} {url}'",
        )
        raise error
    return site, page


def _no_version(session: Session, site: Site, page: Page, when: date | datetime | None) -> NoVersion:
    first = session.scalars(
        select(Version.first_seen).where(Version.page_id == page.id).order_by(Version.first_seen).limit(1)
    ).first()
    if first is not None and when is not None:
        day = archived_date(until_timestamp(when))
        return NoVersion(
            f"no version of {site.hostname} ({page.url}) on or before {day}: "
            f"the first capture with a document is from {archived_date(first)}"
        )
    captures = session.scalar(select(func.count()).select_from(Capture).where(Capture.page_id == page.id)) or 0
    if captures:
        return NoVersion(
            f"no version of {site.hostname} ({page.url}) yet: {captures} captures recorded, none with a document"
        )
    listing = page_listings(session, [page.id]).get(page.id)
    if listing is not None and listing.describe():
        return NoVersion(f"no version of {site.hostname} ({page.url}): {listing.describe()}")
    return NoVersion(f"no version of {site.hostname} ({page.url}) yet: no captures recorded, crawl it first")


def _version_at(session: Session, site: Site, page: Page, when: date | datetime | None) -> Version:
    statement = select(Version).where(Version.page_id == page.id)
    if when is not None:
        statement = statement.where(Version.first_seen <= until_timestamp(when))
    version = session.scalars(statement.order_by(Version.first_seen.desc()).limit(1)).one_or_none()
    if version is None:
        raise _no_version(session, site, page, when)
    return version


def _document(session: Session, version: Version, site: Site, page: Page) -> VersionDocument:
    capture = session.get_one(Capture, version.first_capture_id)
    shown = rendered_for(session, {capture.id: (capture.original_url, capture.timestamp)})[capture.id]
    text = version.text
    body = decompress(text.body, text.compression).decode("utf-8")
    return VersionDocument(
        id=version.id,
        site=site.hostname,
        page_url=page.url,
        original_url=capture.original_url,
        timestamp=capture.timestamp,
        first_seen=version.first_seen,
        last_seen=version.last_seen,
        title=from_comparable(text.title, shown.snapshot_timestamp, shown.archive),
        body=from_comparable(body, shown.snapshot_timestamp, shown.archive),
        document=render_document(site.hostname, shown.original_url, shown.timestamp, text.title, body,
                                 live=shown.live, archive=shown.archive),
        extraction=version.extraction,
        sha256=version.content_sha256,
        source=shown.source,
    )


# --- queries ----------------------------------------------------------------------------------------


def list_sites(session: Session) -> list[SiteSummary]:
    """Every tracked site with its pages and capture/version counts, by hostname."""
    urls: dict[int, list[str]] = {}
    page_urls: dict[int, tuple[int, str]] = {}
    for page_id, site_id, url in session.execute(select(Page.id, Page.site_id, Page.url).order_by(Page.id)):
        urls.setdefault(site_id, []).append(url)
        page_urls[page_id] = (site_id, url)
    listings = page_listings(session)  # all of them: an IN list of every page id would hit parameter limits
    listing: dict[int, dict[str, str]] = {}
    notes: dict[int, list[str]] = {}
    for page_id, (site_id, url) in page_urls.items():
        info = listings.get(page_id)
        listing.setdefault(site_id, {})[url] = info.state if info else "never"
        if info is not None and info.describe():
            notes.setdefault(site_id, []).append(f"{url}: {info.describe()}")
    capture_stats = {
        site_id: (count, first, last)
        for site_id, count, first, last in session.execute(
            select(Page.site_id, func.count(Capture.id), func.min(Capture.timestamp), func.max(Capture.timestamp))
            .join(Capture, Capture.page_id == Page.id)
            .group_by(Page.site_id)
        )
    }
    version_counts: dict[int, int] = {
        site_id: n
        for site_id, n in session.execute(
            select(Page.site_id, func.count(Version.id)).join(Version, Version.page_id == Page.id).group_by(Page.site_id)
        )
    }
    summaries = []
    for site_id, hostname, removed_at in session.execute(
        select(Site.id, Site.hostname, Site.removed_at).order_by(Site.hostname)
    ):
        count, first, last = capture_stats.get(site_id, (0, None, None))
        summaries.append(
            SiteSummary(
                hostname=hostname, urls=urls.get(site_id, []), captures=count,
                versions=version_counts.get(site_id, 0), first_capture=first, last_capture=last,
                listing=listing.get(site_id, {}), notes=notes.get(site_id, []),
                removed_at=f"{removed_at:%Y-%m-%d}" if removed_at else None,
            )
        )
    return summaries


def site_history(
    session: Session,
    hostname: str,
    url: str | None = None,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> list[VersionInfo]:
    """The versions of a site (of one page if ``url`` is given), in time order, each with its change.

    ``since``/``until`` keep the versions *in force* at some moment of the period: the one already in
    force at ``since`` is included even though it first appeared before. A date ``until`` includes that day.
    Only index lookups and the small text columns are read (never the bodies): this is the hot query.
    """
    site = site_named(session, hostname)
    pages = [_page(session, hostname, url)[1]] if url is not None else list(site.pages)
    page_urls = {p.id: p.url for p in pages}
    statement = (
        select(
            Version.id, Version.page_id, Version.first_seen, Version.last_seen, Version.content_sha256,
            Version.extraction, Version.capture_count, VersionText.title, VersionText.chars, VersionText.words,
            Capture.timestamp, Change.id, Change.lines_added, Change.lines_removed, Change.technical,
        )
        .join(VersionText, VersionText.id == Version.text_id)
        .join(Capture, Capture.id == Version.first_capture_id)
        # page_id first: the (page_id, to_version_id) unique index serves the join.
        .outerjoin(Change, (Change.page_id == Version.page_id) & (Change.to_version_id == Version.id))
        .where(Version.page_id.in_(page_urls))
        .order_by(Version.first_seen, Version.page_id)
    )
    start = since_timestamp(since) if since is not None else None
    end = until_timestamp(until) if until is not None else None
    rows = session.execute(statement).all()
    next_start: dict[int, str | None] = {}
    in_period: set[int] = set()
    for row in reversed(rows):  # newest first, to know when each version was superseded
        superseded = next_start.get(row.page_id)
        if (end is None or row.first_seen <= end) and (start is None or superseded is None or superseded > start):
            in_period.add(row[0])
        next_start[row.page_id] = row.first_seen
    previous: dict[int, tuple[int, int]] = {}
    history = []
    for (vid, page_id, first_seen, last_seen, sha, extraction, capture_count, title, chars, words, timestamp,
         change_id, added, removed, technical) in rows:
        before = previous.get(page_id)
        previous[page_id] = (words, chars)
        if vid not in in_period:
            continue
        history.append(
            VersionInfo(
                id=vid, site=site.hostname, page_url=page_urls[page_id], first_seen=first_seen,
                last_seen=last_seen, sha256=sha, title=from_comparable(title, timestamp), chars=chars,
                words=words, extraction=extraction, capture_count=capture_count, lines_added=added or 0,
                lines_removed=removed or 0, change_id=change_id, technical=bool(technical),
                words_delta=None if before is None else words - before[0],
                chars_delta=None if before is None else chars - before[1],
            )
        )
    return history


def version_at(
    session: Session, hostname: str, when: date | datetime | None = None, url: str | None = None
) -> VersionDocument:
    """The version in force at the end of day ``when`` (or at the instant, for a datetime; naive = UTC).

    ``None`` means the latest. A site with several pages answers for ``url``, default its first page.
    """
    site, page = _page(session, hostname, url)
    return _document(session, _version_at(session, site, page, when), site, page)


def version_by_id(session: Session, version_id: int) -> VersionDocument:
    version = session.get(Version, version_id)
    if version is None:
        raise NoVersion(f"no version with id {version_id}")
    page = session.get_one(Page, version.page_id)
    return _document(session, version, page.site, page)


def version_pair(
    session: Session,
    hostname: str,
    from_when: date | datetime | None = None,
    to_when: date | datetime | None = None,
    url: str | None = None,
) -> tuple[VersionDocument, VersionDocument]:
    """Two versions to compare: ``to`` defaults to the latest, ``from`` to the version just before ``to``."""
    site, page = _page(session, hostname, url)
    count = session.scalar(select(func.count()).select_from(Version).where(Version.page_id == page.id)) or 0
    if count < 2:
        raise NoVersion(
            f"{site.hostname} ({page.url}) has {count} version{'' if count == 1 else 's'}: a comparison needs two"
        )
    after = _version_at(session, site, page, to_when)
    before: Version | None
    if from_when is not None:
        before = _version_at(session, site, page, from_when)
    else:
        before = session.scalars(
            select(Version)
            .where(Version.page_id == page.id, Version.first_seen < after.first_seen)
            .order_by(Version.first_seen.desc())
            .limit(1)
        ).one_or_none()
        if before is None:
            raise NoVersion(
                f"no version of {site.hostname} before the one first seen on {archived_date(after.first_seen)}"
            )
    return _document(session, before, site, page), _document(session, after, site, page)


def list_runs(session: Session, limit: int | None = 20, *, status: str | None = None,
              schedule_id: str | None = None) -> list[RunInfo]:
    """The most recent crawl runs, newest first; only those with ``status`` / of ``schedule_id`` if given."""
    statement = (
        select(CrawlRun, ScheduledRun.schedule_id, ScheduledRun.scheduled_for)
        .outerjoin(ScheduledRun, ScheduledRun.run_id == CrawlRun.id)
        .order_by(CrawlRun.id.desc())
    )
    if status is not None:
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r} (expected one of {', '.join(RUN_STATUSES)})")
        statement = statement.where(CrawlRun.status == status)
    if schedule_id is not None:
        statement = statement.where(ScheduledRun.schedule_id == schedule_id)
    if limit is not None:
        statement = statement.limit(limit)
    return [_run_info(run, sid, when) for run, sid, when in session.execute(statement)]


def run_info(session: Session, run_id: int) -> RunInfo:
    """One crawl run, whole (every error and note it kept)."""
    row = session.execute(
        select(CrawlRun, ScheduledRun.schedule_id, ScheduledRun.scheduled_for)
        .outerjoin(ScheduledRun, ScheduledRun.run_id == CrawlRun.id)
        .where(CrawlRun.id == run_id)
    ).one_or_none()
    if row is None:
        raise NoRun(f"no crawl run with id {run_id} (see policytrack runs)")
    return _run_info(*row)


def _run_info(run: CrawlRun, schedule_id: str | None, scheduled_for: datetime | None) -> RunInfo:
    return RunInfo(
        id=run.id, started_at=run.started_at, finished_at=run.finished_at, status=run.status,
        trigger=run.trigger, counts={name: getattr(run, name) for name in RUN_COUNTS},
        errors=list(run.errors or []), sites=list(run.sites) if run.sites else None, archive=run.archive,
        schedule_id=schedule_id, scheduled_for=scheduled_for, worker=run.worker,
    )


def changes_to_announce(session: Session, *, include_technical: bool = False) -> list[ChangeInfo]:
    """Changes not announced yet, oldest first; technical ones (normalizer changed) only on request."""
    statement = (
        select(Change, Site.hostname, Page.url)
        .join(Page, Page.id == Change.page_id)
        .join(Site, Site.id == Page.site_id)
        .where(Change.announced_at.is_(None))
        .order_by(Change.after_timestamp, Change.id)
    )
    if not include_technical:
        statement = statement.where(Change.technical.is_(False))
    return [
        ChangeInfo(
            id=c.id, site=host, page_url=url, from_version_id=c.from_version_id, to_version_id=c.to_version_id,
            before_timestamp=c.before_timestamp, after_timestamp=c.after_timestamp, lines_added=c.lines_added,
            lines_removed=c.lines_removed, technical=c.technical, announced_at=c.announced_at,
        )
        for c, host, url in session.execute(statement)
    ]


# --- research queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeEntry:
    """A change in a cross-site listing: when, where, and how big (lines and words).

    A *merged* entry is a change the current normalizer no longer sees (``storage.renormalize``): ``changes``
    and the web view list those beside the stored changes, as technical rows with no change id, both version
    ids the version that now holds the two texts (None if none does), no lines, and its words on both sides.
    """

    id: int | None
    site: str
    page_url: str
    from_version_id: int | None
    to_version_id: int | None
    before_timestamp: str  # last capture with the old text
    after_timestamp: str  # first capture with the new text: when the change was seen
    lines_added: int
    lines_removed: int
    words_before: int | None
    words_after: int | None
    technical: bool
    merged: bool = False  # a stored change is never merged


def list_changes(
    session: Session,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    sites: Sequence[str] | None = None,
    include_technical: bool = True,
    limit: int | None = None,
    before: tuple[str, int] | None = None,
) -> list[ChangeEntry]:
    """Every change first seen in the period (dates inclusive), across sites, newest first.

    ``before``: only changes after a page's last row, given as its ``(after_timestamp, id)`` (keyset paging).
    """
    before_text, after_text = aliased(VersionText), aliased(VersionText)
    before_version, after_version = aliased(Version), aliased(Version)
    statement = (
        select(
            Change.id, Site.hostname, Page.url, Change.from_version_id, Change.to_version_id,
            Change.before_timestamp, Change.after_timestamp, Change.lines_added, Change.lines_removed,
            before_text.words, after_text.words, Change.technical,
        )
        .join(Page, Page.id == Change.page_id)
        .join(Site, Site.id == Page.site_id)
        .join(before_version, before_version.id == Change.from_version_id)
        .join(before_text, before_text.id == before_version.text_id)
        .join(after_version, after_version.id == Change.to_version_id)
        .join(after_text, after_text.id == after_version.text_id)
        .order_by(Change.after_timestamp.desc(), Change.id.desc())
    )
    if since is not None:
        statement = statement.where(Change.after_timestamp >= since_timestamp(since))
    elif not sites:
        # The newest changes of every site: with no bound on after_timestamp SQLite's planner scans pages
        # and sorts every change (0.7 s at 1,000,000 versions); a bound every timestamp meets (all are
        # digits) makes it walk the after_timestamp index newest first and stop at the limit (< 1 ms).
        statement = statement.where(Change.after_timestamp >= "0")
    if until is not None:
        statement = statement.where(Change.after_timestamp <= until_timestamp(until))
    if sites:
        statement = statement.where(Site.id.in_([site_named(session, host).id for host in sites]))
    if not include_technical:
        statement = statement.where(Change.technical.is_(False))
    if before is not None:
        statement = statement.where((Change.after_timestamp < before[0])
                                    | ((Change.after_timestamp == before[0]) & (Change.id < before[1])))
    if limit is not None:
        statement = statement.limit(limit)
    return [
        ChangeEntry(
            id=cid, site=host, page_url=url, from_version_id=from_id, to_version_id=to_id,
            before_timestamp=before, after_timestamp=after, lines_added=added, lines_removed=removed,
            words_before=words_before, words_after=words_after, technical=bool(technical),
        )
        for cid, host, url, from_id, to_id, before, after, added, removed, words_before, words_after, technical
        in session.execute(statement)
    ]


def site_version(session: Session, hostname: str, version_id: int) -> VersionDocument:
    """A version by id, refusing one that belongs to another site (ids are global, users mistype them)."""
    document = version_by_id(session, version_id)
    site = site_named(session, hostname)
    if document.site != site.hostname:
        raise NoVersion(f"version {version_id} belongs to {document.site}, not {site.hostname}")
    return document


@dataclass(frozen=True)
class ComparableText:
    """A version's text in the form versions are compared and counted in (see :mod:`core.document`)."""

    text: str  # "# {title}\n\n{body}", snapshot timestamps replaced by the sentinel
    snapshot_timestamp: str | None  # the capture its document is rendered for (None: a live fetch)
    archive: str  # the archive that capture came from (core.document.archive_base_of)

    def render(self, text: str) -> str:
        """``text`` (part of this version's comparable text) as its document shows it."""
        return from_comparable(text, self.snapshot_timestamp, self.archive)


def comparable_text(session: Session, version_id: int) -> ComparableText:
    """What ``diff`` compares: the same text the change's line counts were computed on."""
    version = session.get(Version, version_id)
    if version is None:
        raise NoVersion(f"no version with id {version_id}")
    capture = session.get_one(Capture, version.first_capture_id)
    shown = rendered_for(session, {capture.id: (capture.original_url, capture.timestamp)})[capture.id]
    body = decompress(version.text.body, version.text.compression).decode("utf-8")
    return ComparableText(f"# {version.text.title}\n\n{body}", shown.snapshot_timestamp, shown.archive)


def page_last_capture(session: Session, hostname: str, url: str) -> str | None:
    """The timestamp of the page's last capture (any outcome), or None if it has none."""
    _site, page = _page(session, hostname, url)
    return session.scalar(select(func.max(Capture.timestamp)).where(Capture.page_id == page.id))
