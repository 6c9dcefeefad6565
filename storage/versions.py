"""Versions and changes of a page, derived from its normalized captures and reconciled with what is stored.

Versions are never appended blindly: a crawl can discover an older capture later (CDX pages arrive in
any order, reruns fill gaps), and that capture can extend, split or start a run. So every rebuild
derives the runs from all normalized captures in time order and then edits the stored rows as little as
possible, because ids and ``Change.announced_at`` are referenced from outside (CLI output, announcements):

* a version keeps its id while it still starts at the same capture with the same content, and also when
  an older capture with the same content is prepended to it (its first capture falls inside the new run);
* a change keeps its row, and so its announcement, while it still leads to the same version from the
  same content; only its bracket is updated. A change that has to be re-created inherits the
  announcement of a deleted change that happened at the same moment (same ``after_timestamp``).
"""

from __future__ import annotations

from dataclasses import dataclass

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.models import NORMALIZED_STATES, Capture, Change, Page, PageListing, Site, TechnicalBoundary, Version, VersionText
from storage.summary import ChangeSummary, document_lines, summarize
from storage.types import decompress, utcnow


@dataclass(frozen=True)
class RebuildResult:
    versions_new: int
    changes_new: int  # policy changes only: technical ones are counted apart
    versions_removed: int
    technical_new: int = 0


@dataclass
class _Run:
    """Consecutive normalized captures with one content hash."""

    content_sha256: str
    first_id: int
    first_seen: str
    extraction: str
    normalizer_version: str
    last_id: int
    last_seen: str
    last_normalizer_version: str
    count: int = 1


def _derive_runs(session: Session, page_id: int) -> list[_Run]:
    rows = session.execute(
        select(Capture.id, Capture.timestamp, Capture.content_sha256, Capture.extraction, Capture.normalizer_version)
        .where(
            Capture.page_id == page_id,
            Capture.state.in_(NORMALIZED_STATES),
            Capture.content_sha256.is_not(None),
        )
        .order_by(Capture.timestamp)
    )
    runs: list[_Run] = []
    for cid, timestamp, sha, extraction, normalizer_version in rows:
        assert sha is not None  # filtered by the query
        if runs and runs[-1].content_sha256 == sha:
            run = runs[-1]
            run.last_id, run.last_seen, run.last_normalizer_version = cid, timestamp, normalizer_version or ""
            run.count += 1
        else:
            runs.append(
                _Run(sha, cid, timestamp, extraction or "", normalizer_version or "", cid, timestamp,
                     normalizer_version or "")
            )
    return runs


def _match(runs: list[_Run], existing: list[Version]) -> dict[int, Version]:
    """Which stored version each run continues (by run index); unmatched stored versions are obsolete."""
    by_key = {(v.first_seen, v.content_sha256): v for v in existing}
    matched: dict[int, Version] = {}
    used: set[int] = set()
    for i, run in enumerate(runs):
        version = by_key.get((run.first_seen, run.content_sha256))
        if version is not None:
            matched[i] = version
            used.add(version.id)
    for i, run in enumerate(runs):
        if i in matched:
            continue
        # An older capture prepended to the run: the stored version now starts later inside it.
        candidates = [
            v for v in existing
            if v.id not in used and v.content_sha256 == run.content_sha256
            and run.first_seen <= v.first_seen <= run.last_seen
        ]
        if candidates:
            version = min(candidates, key=lambda v: v.first_seen)
            matched[i] = version
            used.add(version.id)
    return matched


class _Texts:
    """Text ids and diffable documents by content hash, loaded once per rebuild."""

    def __init__(self, session: Session, hashes: set[str]):
        self.session = session
        self.ids: dict[str, int] = {
            sha: text_id
            for sha, text_id in session.execute(
                select(VersionText.sha256, VersionText.id).where(VersionText.sha256.in_(hashes))
            )
        }
        missing = hashes - set(self.ids)
        if missing:
            raise ValueError(f"captures refer to content with no stored text: {sorted(missing)[:3]}")
        self._lines: dict[str, list[str]] = {}

    def lines(self, sha: str) -> list[str]:
        if sha not in self._lines:
            text = self.session.get_one(VersionText, self.ids[sha])
            body = decompress(text.body, text.compression).decode("utf-8")
            self._lines[sha] = document_lines(text.title, body)
        return self._lines[sha]

    def summary(self, before: str, after: str) -> ChangeSummary:
        """The change's summary: difflib's line counts (as a unified diff counts them), similarity, sections."""
        return summarize(self.lines(before), self.lines(after))


def _technical_brackets(session: Session, page_id: int) -> list[tuple[str, str]]:
    """Where re-normalizing made a boundary appear (storage.renormalize): changes inside are technical."""
    return [(before, after) for before, after in session.execute(
        select(TechnicalBoundary.before_timestamp, TechnicalBoundary.after_timestamp)
        .where(TechnicalBoundary.page_id == page_id, TechnicalBoundary.kind == "appeared"))]


def _is_technical(before: _Run, after: _Run, brackets: list[tuple[str, str]]) -> bool:
    """Normalized by different normalizer versions, or inside a bracket only a new normalizer made.

    A later crawl may narrow a bracket (bisection fetches captures inside it), so containment counts.
    """
    if before.last_normalizer_version != after.normalizer_version:
        return True
    return any(low <= before.last_seen and after.first_seen <= high for low, high in brackets)


def rebuild_versions(session: Session, page_id: int, run_id: int | None = None) -> RebuildResult:
    """Make the page's Version and Change rows match its normalized captures. Idempotent.

    Returns what was created and removed; a second call with no new captures returns zeros.
    """
    runs = _derive_runs(session, page_id)
    existing = list(session.scalars(select(Version).where(Version.page_id == page_id).order_by(Version.first_seen)))
    changes = list(session.scalars(select(Change).where(Change.page_id == page_id)))
    texts = _Texts(session, {run.content_sha256 for run in runs})
    matched = _match(runs, existing)
    kept_ids = {v.id for v in matched.values()}
    obsolete = [v for v in existing if v.id not in kept_ids]
    obsolete_ids = {v.id for v in obsolete}

    # 1. Drop obsolete versions and the changes touching them, remembering what had been announced.
    announced = {c.after_timestamp: c.announced_at for c in changes if c.announced_at is not None}
    for dropped in [c for c in changes if c.from_version_id in obsolete_ids or c.to_version_id in obsolete_ids]:
        changes.remove(dropped)
        session.delete(dropped)
    for version in obsolete:
        session.delete(version)
    session.flush()

    # 2. Move kept versions whose first capture changed, via placeholders: (page_id, first_seen) is unique
    # and two kept versions may trade places.
    moving = [(i, v) for i, v in matched.items() if v.first_seen != runs[i].first_seen]
    if moving:
        for _, version in moving:
            version.first_seen = f"~{version.id}"
        session.flush()
    for i, version in matched.items():
        run = runs[i]
        version.first_seen, version.first_capture_id = run.first_seen, run.first_id
        version.last_seen, version.last_capture_id = run.last_seen, run.last_id
        version.capture_count = run.count
        version.text_id = texts.ids[run.content_sha256]
        version.extraction, version.normalizer_version = run.extraction, run.normalizer_version

    # 3. New versions for runs nobody continues.
    ordered: list[Version] = []
    versions_new = 0
    for i, run in enumerate(runs):
        continued = matched.get(i)
        if continued is not None:
            ordered.append(continued)
        else:
            version = Version(
                page_id=page_id, text_id=texts.ids[run.content_sha256], content_sha256=run.content_sha256,
                first_seen=run.first_seen, last_seen=run.last_seen, first_capture_id=run.first_id,
                last_capture_id=run.last_id, capture_count=run.count, extraction=run.extraction,
                normalizer_version=run.normalizer_version, created_run_id=run_id,
            )
            session.add(version)
            versions_new += 1
            ordered.append(version)
    session.flush()

    # 4. Changes between consecutive versions.
    position = {v.id: i for i, v in enumerate(ordered)}
    content_of = {v.id: v.content_sha256 for v in ordered}

    def still_valid(change: Change) -> bool:
        """Same target, reached from the same content (the source version itself may differ)."""
        i = position.get(change.to_version_id, 0)
        return i > 0 and content_of.get(change.from_version_id) == ordered[i - 1].content_sha256

    by_target = {c.to_version_id: c for c in changes}
    stale = [c for c in changes if not still_valid(c)]
    for obsolete_change in stale:
        by_target.pop(obsolete_change.to_version_id, None)
        session.delete(obsolete_change)
    if stale:
        session.flush()
    changes_new = technical_new = 0
    brackets = _technical_brackets(session, page_id)
    for i in range(1, len(ordered)):
        before_run, after_run = runs[i - 1], runs[i]
        source, target = ordered[i - 1], ordered[i]
        technical = _is_technical(before_run, after_run, brackets)
        change = by_target.get(target.id)
        if change is None:
            summary = texts.summary(source.content_sha256, target.content_sha256)
            change = by_target[target.id] = Change(
                page_id=page_id, to_version_id=target.id, lines_added=summary.lines_added,
                lines_removed=summary.lines_removed, similarity=summary.similarity, sections=summary.sections,
                run_id=run_id, announced_at=announced.get(after_run.first_seen),
            )
            session.add(change)
            technical_new += technical
            changes_new += not technical
        change.from_version_id = source.id
        change.before_timestamp, change.after_timestamp = before_run.last_seen, after_run.first_seen
        change.technical = technical
    session.flush()
    refresh_site_totals(session, [session.get_one(Page, page_id).site_id])
    return RebuildResult(versions_new=versions_new, changes_new=changes_new, versions_removed=len(obsolete),
                         technical_new=technical_new)


# Per site: its pages' versions counted, and their newest change. CROSS JOIN keeps SQLite's planner on the
# pages -> (page_id, ...) indexes; it would otherwise answer max() by walking the after_timestamp index
# backwards until it met one of the site's changes (a scan of most of the table for a site quiet for years).
_SITE_TOTALS = """
UPDATE sites SET
    version_count = (SELECT count(*) FROM pages p CROSS JOIN versions v WHERE v.page_id = p.id AND p.site_id = sites.id),
    last_change = coalesce((SELECT max(c.after_timestamp) FROM pages p CROSS JOIN changes c
                            WHERE c.page_id = p.id AND p.site_id = sites.id), '')
WHERE id IN :ids
"""


def refresh_site_totals(session: Session, site_ids: Iterable[int]) -> None:
    """Recount the version total and the last change of these sites (``Site.version_count``,
    ``Site.last_change``): every function that adds or removes versions calls it, so the sites list never
    counts. Per site, two index range reads of its own rows."""
    ids = sorted(set(site_ids))
    for start in range(0, len(ids), 500):
        session.execute(text(_SITE_TOTALS).bindparams(bindparam("ids", expanding=True)),
                        {"ids": ids[start:start + 500]})


def change_summaries(session: Session, change_ids: Iterable[int]) -> dict[int, ChangeSummary]:
    """The stored summaries of these changes, by id (what feeds, timelines and announcements show).

    Every change is stored with its summary (rebuild, bulk load, migration 0011); one stored without it
    (a row written by an older version of this code between its upgrade and the migration) is summarized
    from its texts here, as the rebuild would, so the answer is always the summary."""
    ids = sorted(set(change_ids))
    rows = [row for start in range(0, len(ids), 500) for row in session.execute(
        select(Change.id, Change.lines_added, Change.lines_removed, Change.similarity, Change.sections,
               Change.from_version_id, Change.to_version_id).where(Change.id.in_(ids[start:start + 500])))]
    found = {cid: ChangeSummary(added, removed, similarity, list(sections))
             for cid, added, removed, similarity, sections, _, _ in rows
             if similarity is not None and sections is not None}
    missing = [(cid, old, new) for cid, _, _, similarity, sections, old, new in rows if cid not in found]
    if missing:
        hashes = dict(session.execute(select(Version.id, Version.content_sha256).where(
            Version.id.in_({v for _, old, new in missing for v in (old, new)}))).all())
        texts = _Texts(session, set(hashes.values()))
        for cid, old, new in missing:
            found[cid] = texts.summary(hashes[old], hashes[new])
    return found


def mark_announced(session: Session, change_ids: Iterable[int], when: datetime | None = None) -> int:
    """Record that changes were announced (only those not announced yet); returns how many were marked."""
    ids = list(change_ids)
    if not ids:
        return 0
    result = session.execute(
        update(Change)
        .where(Change.id.in_(ids), Change.announced_at.is_(None))
        .values(announced_at=when or utcnow())
        .execution_options(synchronize_session=False)
    )
    return max(cast(CursorResult[Any], result).rowcount, 0)


def record_page_crawled(session: Session, page_id: int, run_id: int | None, *, complete: bool) -> None:
    """Say whether ``run_id``'s crawl of the page ended without an error (after its versions were rebuilt).

    A page whose last listing came from a run that did not complete it has provisional history
    (:func:`storage.queries.history_is_provisional`).
    """
    listing = session.get(PageListing, page_id)
    if listing is None:
        return
    if complete:
        listing.complete_run_id = run_id
    elif listing.complete_run_id == run_id:
        listing.complete_run_id = None


def provisional_history(session: Session, hostname: str, url: str | None = None) -> list[str]:
    """One note per page of the site (or of ``url``) whose last crawl did not complete; else empty.

    Their history is provisional: captures listed by that crawl may not be resolved yet, so a change may
    be missing or bracketed too widely until a crawl completes them. A page the archive refuses to list
    (``blocked``) or never listed is not provisional: nothing newer is known about it.
    """
    statement = (
        select(Page.url, PageListing.run_id)
        .join(Site, Site.id == Page.site_id)
        .join(PageListing, PageListing.page_id == Page.id)
        .where(Site.hostname == hostname.strip().lower().rstrip("."), PageListing.state != "blocked",
               (PageListing.complete_run_id.is_(None)) | (PageListing.complete_run_id != PageListing.run_id))
        .order_by(Page.id)
    )
    if url is not None:
        statement = statement.where(Page.url == url)
    return [f"history of {page_url} is provisional: its last crawl"
            + (f" (run {run_id})" if run_id is not None else "")
            + " did not complete; the next crawl completes it"
            for page_url, run_id in session.execute(statement)]
