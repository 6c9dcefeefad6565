"""What the exports read: every version with its document, and every stored raw snapshot with its capture.

Both stream in small batches so an export of a large database runs in constant memory. Documents are
rendered exactly as ``show`` renders them (for the version's first capture), so an exported corpus file
is byte-identical to ``policytrack show --version ID``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.document import from_comparable, render_document, snapshot_url
from storage.models import Capture, Page, Site, Snapshot, Version, VersionText
from storage.live import rendered_for
from storage.queries import site_named
from storage.types import decompress

BATCH = 500


@dataclass(frozen=True)
class ExportedVersion:
    version_id: int
    site: str
    page_id: int
    page_url: str
    is_first_page: bool  # the site's first-added page (the one the corpus file is named after)
    original_url: str  # of the version's first capture, which the document is rendered for
    timestamp: str  # that capture's 14-digit timestamp
    first_seen: str
    last_seen: str
    capture_count: int
    sha256: str
    extraction: str
    normalizer_version: str
    chars: int
    words: int
    title: str
    body: str
    document: str
    source: str = "archive"  # how the version was first seen: "archive", or "live" (fetched from the site)
    snapshot: str | None = None  # the archived snapshot the document is rendered for (None: live, none yet)

    def metadata(self) -> dict[str, Any]:
        """Everything but the text, for commit messages and JSON lines."""
        return {
            "version_id": self.version_id, "site": self.site, "page_url": self.page_url,
            "original_url": self.original_url, "timestamp": self.timestamp,
            "source": self.source, "snapshot_url": self.snapshot, "first_seen": self.first_seen,
            "last_seen": self.last_seen, "capture_count": self.capture_count, "sha256": self.sha256,
            "extraction": self.extraction, "normalizer_version": self.normalizer_version, "chars": self.chars,
            "words": self.words,
        }


def _site_filter(session: Session, sites: Sequence[str] | None) -> list[int] | None:
    return [site_named(session, host).id for host in sites] if sites else None


def version_order(session: Session, sites: Sequence[str] | None = None) -> list[tuple[int, int, str]]:
    """(version id, page id, first_seen) of every version, in time order (ties by id)."""
    statement = select(Version.id, Version.page_id, Version.first_seen).order_by(Version.first_seen, Version.id)
    site_ids = _site_filter(session, sites)
    if site_ids is not None:
        statement = statement.join(Page, Page.id == Version.page_id).where(Page.site_id.in_(site_ids))
    return [(vid, pid, first) for vid, pid, first in session.execute(statement)]


def first_pages(session: Session) -> set[int]:
    """The id of each site's first-added page."""
    return set(session.scalars(select(func.min(Page.id)).group_by(Page.site_id)))


def load_versions(session: Session, version_ids: Sequence[int]) -> Iterator[ExportedVersion]:
    """The versions with these ids, in the order given, with their rendered documents; batched."""
    firsts = first_pages(session)
    for start in range(0, len(version_ids), BATCH):
        ids = list(version_ids[start : start + BATCH])
        rows = {
            row.id: row
            for row in session.execute(
                select(
                    Version.id, Version.page_id, Version.first_seen, Version.last_seen, Version.capture_count,
                    Version.content_sha256, Version.extraction, Version.normalizer_version, Site.hostname,
                    Page.url.label("page_url"), Version.first_capture_id, Capture.original_url, Capture.timestamp,
                    VersionText.title,
                    VersionText.body, VersionText.compression, VersionText.chars, VersionText.words,
                )
                .join(Page, Page.id == Version.page_id)
                .join(Site, Site.id == Page.site_id)
                .join(Capture, Capture.id == Version.first_capture_id)
                .join(VersionText, VersionText.id == Version.text_id)
                .where(Version.id.in_(ids))
            )
        }
        shown = rendered_for(session, {row.first_capture_id: (row.original_url, row.timestamp) for row in rows.values()})
        for vid in ids:
            row = rows.get(vid)
            if row is None:  # deleted by a concurrent rebuild since version_order was read
                continue
            body = decompress(row.body, row.compression).decode("utf-8")
            rendered = shown[row.first_capture_id]
            at = rendered.snapshot_timestamp
            yield ExportedVersion(
                version_id=row.id, site=row.hostname, page_id=row.page_id, page_url=row.page_url,
                is_first_page=row.page_id in firsts, original_url=row.original_url, timestamp=row.timestamp,
                first_seen=row.first_seen, last_seen=row.last_seen, capture_count=row.capture_count,
                sha256=row.content_sha256, extraction=row.extraction, normalizer_version=row.normalizer_version,
                chars=row.chars, words=row.words, title=from_comparable(row.title, at, rendered.archive),
                body=from_comparable(body, at, rendered.archive),
                document=render_document(row.hostname, rendered.original_url, rendered.timestamp, row.title, body,
                                         live=rendered.live, archive=rendered.archive),
                source=rendered.source,
                snapshot=snapshot_url(at, rendered.original_url, rendered.archive) if at else None,
            )


def iter_versions(
    session: Session, sites: Sequence[str] | None = None, *, skip: Collection[int] = ()
) -> Iterator[ExportedVersion]:
    """Every version (of the named sites), in time order, except the ids in ``skip``."""
    ids = [vid for vid, _, _ in version_order(session, sites) if vid not in skip]
    return load_versions(session, ids)


def latest_versions(session: Session, page_ids: Collection[int]) -> dict[int, int]:
    """The latest version id of each page (by first_seen, then id)."""
    latest: dict[int, tuple[str, int]] = {}
    for vid, pid, first in session.execute(
        select(Version.id, Version.page_id, Version.first_seen).where(Version.page_id.in_(list(page_ids)))
    ):
        if pid not in latest or (first, vid) > latest[pid]:
            latest[pid] = (first, vid)
    return {pid: vid for pid, (_, vid) in latest.items()}


@dataclass(frozen=True)
class ArchivedResponse:
    """One archived response, as the archive replayed it for a capture.

    A capture that was an archived redirect the crawler followed gives two: the redirect itself (its
    status, a ``Location`` naming the target, no body: the crawler keeps only the target's bytes) and the
    target's stored bytes at the target's URL and time. A capture of an archived error that was never
    fetched (a 404 the CDX listed) gives its status with no body.
    """

    site: str
    url: str
    timestamp: str
    http_status: int | None
    headers: list[tuple[str, str]]
    payload: bytes
    sha256: str


_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def iter_snapshots(session: Session, sites: Sequence[str] | None = None) -> Iterator[ArchivedResponse]:
    """Every capture's archived response(s), once per (URL, time), in time order; batched.

    Captures inferred by bisection were never fetched: their bytes are unknown and nothing is written
    for them (a re-crawl of the export sees the fetched captures, which pin every change).
    """
    statement = (
        select(Capture.id)
        .where((Capture.snapshot_id.is_not(None)) | ((Capture.status >= 300) & (Capture.state == "skipped")))
        .order_by(Capture.timestamp, Capture.id)
    )
    site_ids = _site_filter(session, sites)
    if site_ids is not None:
        statement = statement.join(Page, Page.id == Capture.page_id).where(Page.site_id.in_(site_ids))
    ordered = list(session.scalars(statement))
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(ordered), BATCH):
        ids = ordered[start : start + BATCH]
        rows = {
            row.id: row
            for row in session.execute(
                select(
                    Capture.id, Capture.original_url, Capture.timestamp, Capture.final_url, Capture.final_timestamp,
                    Capture.status, Site.hostname, Snapshot.http_status, Snapshot.headers, Snapshot.payload,
                    Snapshot.compression, Snapshot.sha256,
                )
                .outerjoin(Snapshot, Snapshot.id == Capture.snapshot_id)
                .join(Page, Page.id == Capture.page_id)
                .join(Site, Site.id == Page.site_id)
                .where(Capture.id.in_(ids))
            )
        }
        for cid in ids:
            row = rows.get(cid)
            if row is None:
                continue
            for response in _responses(row):
                if (response.url, response.timestamp) not in seen:
                    seen.add((response.url, response.timestamp))
                    yield response


def _responses(row: Any) -> Iterator[ArchivedResponse]:
    if row.sha256 is None or (row.final_url and row.final_url != row.original_url):
        # The capture's own answer was not stored: an archived error, or a redirect to the stored target.
        headers = [("Location", row.final_url)] if row.final_url and row.sha256 is not None else []
        yield ArchivedResponse(site=row.hostname, url=row.original_url, timestamp=row.timestamp,
                               http_status=row.status, headers=headers, payload=b"", sha256=_EMPTY_SHA256)
    if row.sha256 is not None:
        yield ArchivedResponse(
            site=row.hostname, url=row.final_url or row.original_url, timestamp=row.final_timestamp or row.timestamp,
            http_status=row.http_status, headers=[(str(name), str(value)) for name, value in row.headers],
            payload=decompress(row.payload, row.compression), sha256=row.sha256,
        )
