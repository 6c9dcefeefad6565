"""Re-normalizing stored history: which captures to redo, recording their new outcome, and telling which
version boundaries exist only because the normalizer changed.

The raw snapshots are kept so that history can be re-derived without refetching. ``policytrack
renormalize`` (``crawler/renormalize.py``) drives these functions page by page:

1. :func:`begin_renormalization` remembers the page's change points as the old normalizer left them
   (once per page and normalizer version, so a resumed run still compares against the old history);
2. each capture from :func:`captures_to_renormalize` is normalized again and recorded with
   :func:`record_renormalized` or :func:`record_renormalize_skip` (committed one by one: resumable);
3. :func:`finish_renormalization` re-infers the captures bisection never fetched, rebuilds the versions
   and compares change points: one that is new *appeared* and one that is gone *disappeared* only because
   of the normalizer. Both are kept as :class:`TechnicalBoundary` rows; the change inside an appeared
   bracket is flagged ``technical`` now and by every later rebuild (``storage.versions``), so it is not
   announced and not counted as a policy change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.captures import record_capture_outcome, record_normalized
from storage.models import (NORMALIZED_STATES, Capture, Change, Page, Renormalization, Site, TechnicalBoundary, Version,
                            VersionText)
from storage.queries import ChangeEntry, site_named
from storage.types import since_timestamp, until_timestamp, utcnow
from storage.versions import rebuild_versions

# Captures whose stored outcome came from the normalizer: a text, or a skip recorded with its snapshot.
_REDOABLE_STATES = ("fetched", "reused", "skipped")


@dataclass(frozen=True)
class PageToRenormalize:
    page_id: int
    site: str
    url: str


@dataclass(frozen=True)
class RenormalizeTodo:
    capture_id: int
    timestamp: str
    original_url: str
    mimetype: str | None
    snapshot_id: int
    state: str


@dataclass(frozen=True)
class RenormalizeResult:
    versions_new: int
    versions_removed: int
    policy_changes_new: int  # changes the rebuild created that are not technical
    appeared: int  # technical boundaries recorded by this page's re-normalization
    disappeared: int
    reopened: int  # inferred captures whose neighbours now differ: pending again, fetched by the next crawl


def pages_to_renormalize(session: Session, sites: Sequence[str] = ()) -> list[PageToRenormalize]:
    """The tracked pages of ``sites`` (every site when empty); an unknown site raises PolicytrackError."""
    statement = select(Page.id, Site.hostname, Page.url).join(Site, Site.id == Page.site_id)
    if sites:
        ids = [site_named(session, hostname).id for hostname in sites]
        statement = statement.where(Page.site_id.in_(ids))
    return [PageToRenormalize(*row) for row in session.execute(statement.order_by(Site.hostname, Page.id))]


def _version_number(version: str | None) -> tuple[int, str]:
    text = version or ""
    return (int(text), "") if text.isdigit() else (-1, text)


def captures_to_renormalize(session: Session, page_id: int, normalizer_version: str,
                            since_version: str | None = None) -> list[RenormalizeTodo]:
    """Captures with a stored snapshot not yet redone with ``normalizer_version``, in time order.

    ``since_version``: only those whose outcome came from that normalizer version or a later one
    (versions compare as numbers), e.g. to redo just what a faulty release produced.
    """
    rows = session.execute(
        select(Capture.id, Capture.timestamp, Capture.original_url, Capture.mimetype, Capture.snapshot_id,
               Capture.state, Capture.normalizer_version)
        .where(Capture.page_id == page_id, Capture.state.in_(_REDOABLE_STATES), Capture.snapshot_id.is_not(None))
        .order_by(Capture.timestamp)
    )
    todos = []
    for cid, timestamp, url, mimetype, snapshot_id, state, version in rows:
        if version == normalizer_version:
            continue
        if since_version is not None and (version is None or _version_number(version) < _version_number(since_version)):
            continue
        todos.append(RenormalizeTodo(cid, timestamp, url, mimetype, snapshot_id, state))
    return todos


def _change_points(session: Session, page_id: int) -> list[list[str]]:
    return [[before, after] for before, after in session.execute(
        select(Change.before_timestamp, Change.after_timestamp)
        .where(Change.page_id == page_id).order_by(Change.after_timestamp))]


def begin_renormalization(session: Session, page_id: int, normalizer_version: str) -> None:
    """Remember the page's change points before anything is redone (kept as they are on a resume)."""
    row = session.scalars(select(Renormalization).where(
        Renormalization.page_id == page_id, Renormalization.normalizer_version == normalizer_version)).one_or_none()
    if row is None:
        session.add(Renormalization(page_id=page_id, normalizer_version=normalizer_version,
                                    before=_change_points(session, page_id)))
        session.flush()
    elif row.finished_at is not None:
        row.finished_at = None  # new captures to redo since it finished (e.g. a crawl with an old normalizer)
        row.before = _change_points(session, page_id)


def renormalization_pending(session: Session, page_id: int, normalizer_version: str) -> bool:
    """Whether the page's re-normalization to this version was begun and not finished (a resume)."""
    return session.scalars(select(Renormalization.id).where(
        Renormalization.page_id == page_id, Renormalization.normalizer_version == normalizer_version,
        Renormalization.finished_at.is_(None))).first() is not None


def record_renormalized(session: Session, capture_id: int, *, content_sha256: str, title: str,
                        comparable_body: str, extraction: str, normalizer_version: str) -> None:
    """A redone capture's new document; a 'reused' capture stays 'reused', a skipped one becomes 'fetched'."""
    capture = session.get_one(Capture, capture_id)
    state, snapshot_id = capture.state, capture.snapshot_id
    assert snapshot_id is not None
    record_normalized(session, capture_id, snapshot_id=snapshot_id, content_sha256=content_sha256, title=title,
                      comparable_body=comparable_body, extraction=extraction, normalizer_version=normalizer_version,
                      final_url=capture.final_url, final_timestamp=capture.final_timestamp)
    if state == "reused":
        capture.state = "reused"


def record_renormalize_skip(session: Session, capture_id: int, *, reason: str, normalizer_version: str) -> None:
    """A redone capture the current normalizer makes no document of (no-text, soft-404, ...)."""
    capture = session.get_one(Capture, capture_id)
    record_capture_outcome(session, capture_id, state="skipped", reason=reason, snapshot_id=capture.snapshot_id,
                           final_url=capture.final_url, final_timestamp=capture.final_timestamp)
    capture.normalizer_version = normalizer_version  # done with this version: a resumed run skips it


def _reinfer(session: Session, page_id: int, normalizer_version: str) -> int:
    """Inferred captures take the content their fetched neighbours now agree on; else they are reopened.

    Bisection inferred them because the fetched captures on both sides had equal text. When the new
    normalizer tells those sides apart, the inference no longer holds: the capture goes back to
    'pending' for the next crawl to fetch (nothing is fetched here). Returns how many were reopened.
    """
    captures = list(session.scalars(
        select(Capture).where(Capture.page_id == page_id, Capture.state.in_(NORMALIZED_STATES))
        .order_by(Capture.timestamp)))
    known = [c for c in captures if c.state != "inferred"]
    reopened = 0
    for capture in captures:
        if capture.state != "inferred":
            continue
        before = next((c for c in reversed(known) if c.timestamp < capture.timestamp), None)
        after = next((c for c in known if c.timestamp > capture.timestamp), None)
        sides = {c.content_sha256 for c in (before, after) if c is not None}
        if len(sides) == 1:
            source = before or after
            assert source is not None
            capture.content_sha256, capture.extraction = source.content_sha256, source.extraction
            capture.normalizer_version = normalizer_version
        else:
            capture.state, capture.content_sha256, capture.extraction, capture.normalizer_version = (
                "pending", None, None, None)
            capture.reason = "re-normalized neighbours differ: to be fetched"
            reopened += 1
    session.flush()
    return reopened


def _boundary(session: Session, page_id: int, kind: str, after: str) -> TechnicalBoundary | None:
    return session.scalars(select(TechnicalBoundary).where(
        TechnicalBoundary.page_id == page_id, TechnicalBoundary.kind == kind,
        TechnicalBoundary.after_timestamp == after)).one_or_none()


def _record_boundaries(session: Session, page_id: int, found: dict[str, str], other: dict[str, str], kind: str,
                       normalizer_version: str) -> int:
    """Record change points in ``found`` and not in ``other`` as ``kind``; returns how many were recorded.

    A point recorded the opposite way before is instead forgotten: a change the old normalizer lost
    and this one finds again is real, and a technical boundary that is gone again leaves nothing.
    """
    opposite = "disappeared" if kind == "appeared" else "appeared"
    recorded = 0
    for after, before in found.items():
        if after in other:
            continue
        undone = _boundary(session, page_id, opposite, after)
        if undone is not None:
            session.delete(undone)
        elif _boundary(session, page_id, kind, after) is None:
            session.add(TechnicalBoundary(page_id=page_id, kind=kind, before_timestamp=before,
                                          after_timestamp=after, normalizer_version=normalizer_version))
            recorded += 1
    return recorded


def finish_renormalization(session: Session, page_id: int, normalizer_version: str) -> RenormalizeResult:
    """Re-infer, rebuild the page's versions and record the boundaries the normalizer alone made or unmade."""
    row = session.scalars(select(Renormalization).where(
        Renormalization.page_id == page_id, Renormalization.normalizer_version == normalizer_version)).one()
    reopened = _reinfer(session, page_id, normalizer_version)
    old = {after: before for before, after in row.before}
    rebuilt = rebuild_versions(session, page_id)
    new = {after: before for before, after in _change_points(session, page_id)}
    appeared = _record_boundaries(session, page_id, new, old, "appeared", normalizer_version)
    disappeared = _record_boundaries(session, page_id, old, new, "disappeared", normalizer_version)
    session.flush()
    # Flag with the recorded brackets (rebuild_versions reads them), then count what is left as policy.
    rebuild_versions(session, page_id)
    policy = session.scalars(select(Change.id).where(
        Change.page_id == page_id, Change.technical.is_(False), Change.after_timestamp.not_in(list(old)))).all()
    row.finished_at = utcnow()
    return RenormalizeResult(versions_new=rebuilt.versions_new, versions_removed=rebuilt.versions_removed,
                             policy_changes_new=len(policy), appeared=appeared, disappeared=disappeared,
                             reopened=reopened)


def technical_boundaries(session: Session, page_id: int) -> list[TechnicalBoundary]:
    """The page's recorded technical boundaries, in time order."""
    return list(session.scalars(select(TechnicalBoundary).where(TechnicalBoundary.page_id == page_id)
                                .order_by(TechnicalBoundary.after_timestamp)))



@dataclass(frozen=True)
class MergedBoundary:
    """A change the old normalizer saw that the current one does not: two texts it no longer tells apart.

    Its Change and Version rows were deleted by the rebuild; what is left is when it was seen and which
    version now holds both sides (``version_id``; None if a later rebuild split them differently).
    """

    site: str
    page_url: str
    before_timestamp: str  # last capture of the old side
    after_timestamp: str  # first capture of the side the old normalizer saw as new
    normalizer_version: str  # the normalizer that stopped distinguishing them
    version_id: int | None
    words: int | None  # that version's words
    page_id: int


def merged_boundaries(session: Session, *, sites: Sequence[str] = (), page_url: str | None = None,
                      since: date | datetime | None = None, until: date | datetime | None = None
                      ) -> list[MergedBoundary]:
    """The ``disappeared`` technical boundaries seen in the period (dates inclusive), in time order.

    ``history`` and ``changes`` show them as technical entries: without them a re-normalized history
    would silently have fewer changes than before.
    """
    statement = (
        select(Site.hostname, Page.url, Page.id, TechnicalBoundary.before_timestamp,
               TechnicalBoundary.after_timestamp, TechnicalBoundary.normalizer_version)
        .join(Page, Page.id == TechnicalBoundary.page_id).join(Site, Site.id == Page.site_id)
        .where(TechnicalBoundary.kind == "disappeared")
        .order_by(TechnicalBoundary.after_timestamp, Page.id)
    )
    if sites:
        statement = statement.where(Site.id.in_([site_named(session, host).id for host in sites]))
    if page_url is not None:
        statement = statement.where(Page.url == page_url.strip())
    if since is not None:
        statement = statement.where(TechnicalBoundary.after_timestamp >= since_timestamp(since))
    if until is not None:
        statement = statement.where(TechnicalBoundary.after_timestamp <= until_timestamp(until))
    merged = []
    for host, url, page_id, before, after, normalizer_version in session.execute(statement).all():
        holder = session.execute(
            select(Version.id, VersionText.words).join(VersionText, VersionText.id == Version.text_id)
            .where(Version.page_id == page_id, Version.first_seen <= before, Version.last_seen >= after)
        ).first()
        merged.append(MergedBoundary(host, url, before, after, normalizer_version,
                                     holder[0] if holder else None, holder[1] if holder else None, page_id))
    return merged


def merged_change(boundary: MergedBoundary) -> ChangeEntry:
    """A change the normalizer no longer sees as a row of a changes listing (see :class:`ChangeEntry`)."""
    return ChangeEntry(
        id=None, site=boundary.site, page_url=boundary.page_url, from_version_id=boundary.version_id,
        to_version_id=boundary.version_id, before_timestamp=boundary.before_timestamp,
        after_timestamp=boundary.after_timestamp, lines_added=0, lines_removed=0, words_before=boundary.words,
        words_after=boundary.words, technical=True, merged=True,
    )


def merged_changes(session: Session, *, sites: Sequence[str] = (), page_url: str | None = None,
                   since: date | datetime | None = None, until: date | datetime | None = None) -> list[ChangeEntry]:
    """:func:`merged_boundaries` as rows of a changes listing, in time order."""
    return [merged_change(b) for b in merged_boundaries(session, sites=sites, page_url=page_url, since=since,
                                                        until=until)]
