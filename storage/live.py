"""Live checks: captures fetched straight from the site, stored with their own provenance.

An archive may capture a changed policy days or weeks after the change. A site with live checks on has
its pages fetched directly on every crawl run; each fetch is stored as an ordinary capture (timestamp =
fetch time, normalized by the same normalizer), so it takes part in versions and changes -- and in
announcements -- the day it is made. A ``live_captures`` row marks its provenance, and once the archive
has a capture of the same text in the same version, the live capture is *matched* to it: the archive
confirms what was seen live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.document import SNAPSHOT_BASE, archive_base_of
from core.errors import UnknownSite
from storage.captures import CdxRow, capture_id, record_capture_outcome, record_captures, record_normalized
from storage.inserts import insert_ignoring_conflicts
from storage.models import (
    NORMALIZED_STATES, Capture, CrawlRun, LiveCapture, LiveSite, Page, Site, Snapshot, Version,
)
from storage.sites import lookup_hostname
from storage.types import utcnow


@dataclass(frozen=True)
class LiveNormalized:
    content_sha256: str
    title: str
    comparable_body: str
    extraction: str
    normalizer_version: str


@dataclass(frozen=True)
class LiveCaptureInfo:
    capture_id: int
    page_id: int
    timestamp: str
    content_sha256: str | None
    matched_capture_id: int | None
    matched_timestamp: str | None


def _site_ids(session: Session, hostnames: Iterable[str]) -> dict[str, int]:
    wanted = [lookup_hostname(h) for h in hostnames]
    found = dict(session.execute(select(Site.hostname, Site.id).where(Site.hostname.in_(wanted))).all())
    for host in wanted:
        if host not in found:
            raise UnknownSite(host)
    return found


def set_live(session: Session, hostnames: Iterable[str], enabled: bool = True) -> list[str]:
    """Turn live checks on (or off) for the named sites; returns their hostnames."""
    sites = _site_ids(session, hostnames)
    if enabled:
        insert_ignoring_conflicts(
            session, LiveSite, [{"site_id": site_id, "enabled_at": utcnow()} for site_id in sites.values()],
            ["site_id"],
        )
    else:
        session.execute(delete(LiveSite).where(LiveSite.site_id.in_(list(sites.values())))
                        .execution_options(synchronize_session=False))
    return sorted(sites)


def live_sites(session: Session) -> list[str]:
    """Hostnames of the sites with live checks on."""
    return list(session.scalars(select(Site.hostname).join(LiveSite, LiveSite.site_id == Site.id).order_by(Site.hostname)))


def live_page_ids(session: Session, page_ids: Iterable[int]) -> set[int]:
    """Which of these pages belong to a site with live checks on."""
    ids = list(page_ids)
    if not ids:
        return set()
    return set(session.scalars(
        select(Page.id).join(LiveSite, LiveSite.site_id == Page.site_id).where(Page.id.in_(ids))
    ))


def record_live_capture(
    session: Session,
    page_id: int,
    run_id: int | None,
    *,
    timestamp: str,
    url: str,
    status: int | None,
    mimetype: str | None,
    length: int | None,
    snapshot_id: int | None,
    final_url: str | None = None,
    normalized: LiveNormalized | None = None,
    failure: str | None = None,
    fetched_at: datetime | None = None,
) -> int | None:
    """Store one live fetch as a capture of the page, with live provenance.

    ``normalized`` for a document, else ``failure`` (the reason it yields none: recorded as skipped).
    Returns the capture id, or None when the page already has a capture at ``timestamp``.
    """
    if (normalized is None) == (failure is None):
        raise ValueError("record_live_capture takes exactly one of normalized= or failure=")
    row = CdxRow(timestamp=timestamp, original_url=url, status=status, mimetype=mimetype, digest=None, length=length)
    if not record_captures(session, page_id, [row], run_id):
        return None
    cid = capture_id(session, page_id, timestamp)
    if normalized is not None:
        assert snapshot_id is not None, "a normalized live capture has a snapshot"
        record_normalized(
            session, cid, snapshot_id=snapshot_id, content_sha256=normalized.content_sha256, title=normalized.title,
            comparable_body=normalized.comparable_body, extraction=normalized.extraction,
            normalizer_version=normalized.normalizer_version, final_url=final_url,
        )
    else:
        record_capture_outcome(session, cid, state="skipped", reason=str(failure), snapshot_id=snapshot_id,
                               final_url=final_url)
    session.add(LiveCapture(capture_id=cid, requested_url=url, fetched_at=fetched_at or utcnow()))
    session.flush()
    return cid


def match_live_captures(session: Session, page_id: int) -> int:
    """Link unmatched live captures of a page to the archive's first capture of the same text.

    "Same text" within the same version: the archive capture must fall inside the version (run of equal
    content) that the live capture belongs to. Returns how many live captures were matched now.
    """
    live_ids = select(LiveCapture.capture_id)
    pending = session.execute(
        select(LiveCapture, Capture.timestamp, Capture.content_sha256)
        .join(Capture, Capture.id == LiveCapture.capture_id)
        .where(Capture.page_id == page_id, LiveCapture.matched_capture_id.is_(None),
               Capture.content_sha256.is_not(None))
    ).all()
    matched = 0
    for live, timestamp, sha in pending:
        version = session.scalars(
            select(Version).where(Version.page_id == page_id, Version.first_seen <= timestamp,
                                  Version.last_seen >= timestamp)
        ).first()
        if version is None or version.content_sha256 != sha:
            continue
        archive = session.execute(
            select(Capture.id).where(
                Capture.page_id == page_id, Capture.content_sha256 == sha, Capture.state.in_(NORMALIZED_STATES),
                Capture.timestamp >= version.first_seen, Capture.timestamp <= version.last_seen,
                Capture.id.not_in(live_ids),
            ).order_by(Capture.timestamp).limit(1)
        ).scalar_one_or_none()
        if archive is not None:
            live.matched_capture_id, live.matched_at = archive, utcnow()
            matched += 1
    return matched


@dataclass(frozen=True)
class RenderedFor:
    """The capture a version's document is rendered for (see :mod:`core.document`).

    A version first seen by an archive capture is rendered for that capture. One first seen live is
    rendered for the archive's capture of the same text once there is one (``source`` stays "live": that
    is how it was first seen), and as a live fetch (``live``) until then.
    """

    source: str  # "archive" or "live": how the version was first seen
    original_url: str
    timestamp: str
    live: bool  # rendered as a live fetch: no archived snapshot of this text yet
    archive: str = SNAPSHOT_BASE  # Wayback base of the archive the rendered capture came from

    @property
    def snapshot_timestamp(self) -> str | None:
        return None if self.live else self.timestamp

    @property
    def link(self) -> str:
        """Where a reader sees this version: the archive's replay of the capture, or the live page."""
        return self.original_url if self.live else f"{self.archive}{self.timestamp}/{self.original_url}"


def rendered_for(session: Session, captures: dict[int, tuple[str, str]]) -> dict[int, RenderedFor]:
    """For each capture id -> (original URL, timestamp): what its version's document is rendered for.

    A live capture not matched yet is rendered for the archive's first capture of the same text in the
    same version when there is one: a crawl that brings that capture in need not wait for the next live
    check (which is what records the match) to show it.
    """
    if not captures:
        return {}
    bases = _archive_bases(session, captures)
    result = {cid: RenderedFor("archive", url, ts, False, bases[cid]) for cid, (url, ts) in captures.items()}
    matched = Capture.__table__.alias("matched")
    rows = session.execute(
        select(LiveCapture.capture_id, matched.c.id, matched.c.original_url, matched.c.timestamp)
        .outerjoin(matched, matched.c.id == LiveCapture.matched_capture_id)
        .where(LiveCapture.capture_id.in_(list(captures)))
    ).all()
    for cid, archived_id, url, timestamp in rows:
        if timestamp is None:
            found = _archived_same_text(session, cid)
            if found is not None:
                archived_id, url, timestamp = found
        if timestamp is not None:
            result[cid] = RenderedFor("live", url, timestamp, False, _archive_bases(session, [archived_id])[archived_id])
        else:
            result[cid] = RenderedFor("live", *captures[cid], True)
    return result


def _archive_bases(session: Session, capture_ids: Iterable[int]) -> dict[int, str]:
    """The Wayback base of the archive each capture came from (:func:`core.document.archive_base_of`):
    the archive of the run that recorded it, else where its snapshot was fetched (a snapshot is stored
    once per payload, so it may name another archive that had the same bytes)."""
    ids = list(capture_ids)
    rows = session.execute(
        select(Capture.id, CrawlRun.archive, Snapshot.url)
        .outerjoin(CrawlRun, CrawlRun.id == Capture.first_run_id)
        .outerjoin(Snapshot, Snapshot.id == Capture.snapshot_id)
        .where(Capture.id.in_(ids))
    ).all()
    found = {cid: archive_base_of(fetched, archive) for cid, archive, fetched in rows}
    return {cid: found.get(cid, archive_base_of()) for cid in ids}


def _archived_same_text(session: Session, live_capture_id: int) -> tuple[int, str, str] | None:
    """(id, original URL, timestamp) of the archive's first capture of a live capture's text inside the
    same version, as :func:`match_live_captures` would match it; None if the archive has none yet."""
    live = session.get_one(Capture, live_capture_id)
    if live.content_sha256 is None:
        return None
    version = session.scalars(
        select(Version).where(Version.page_id == live.page_id, Version.first_seen <= live.timestamp,
                              Version.last_seen >= live.timestamp)
    ).first()
    if version is None or version.content_sha256 != live.content_sha256:
        return None
    row = session.execute(
        select(Capture.id, Capture.original_url, Capture.timestamp).where(
            Capture.page_id == live.page_id, Capture.content_sha256 == live.content_sha256,
            Capture.state.in_(NORMALIZED_STATES), Capture.timestamp >= version.first_seen,
            Capture.timestamp <= version.last_seen, Capture.id.not_in(select(LiveCapture.capture_id)),
        ).order_by(Capture.timestamp).limit(1)
    ).first()
    return tuple(row) if row is not None else None  # type: ignore[return-value]


def live_captures(session: Session, page_id: int) -> list[LiveCaptureInfo]:
    """The live captures of a page, in time order, with the archive capture each was matched to."""
    matched = Capture.__table__.alias("matched")
    rows = session.execute(
        select(LiveCapture.capture_id, Capture.timestamp, Capture.content_sha256, LiveCapture.matched_capture_id,
               matched.c.timestamp)
        .join(Capture, Capture.id == LiveCapture.capture_id)
        .outerjoin(matched, matched.c.id == LiveCapture.matched_capture_id)
        .where(Capture.page_id == page_id)
        .order_by(Capture.timestamp)
    )
    return [LiveCaptureInfo(cid, page_id, ts, sha, mid, mts) for cid, ts, sha, mid, mts in rows]
