"""Captures: every CDX row seen for a page, and what became of it (fetched, reused, inferred, skipped...).

A capture is recorded as soon as it is listed (state ``pending``) and its outcome is written when known,
each in its own small transaction, so an interrupted crawl resumes where it stopped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.document import content_sha256 as compute_content_sha256
from storage.inserts import insert_ignoring_conflicts
from storage.models import Capture, VersionText
from storage.types import COMPRESSION, compress, utcnow

_TIMESTAMP = re.compile(r"\d{14}")
# States whose outcome a capture with the same payload digest can copy instead of fetching again.
_REUSABLE_STATES = ("fetched", "reused", "skipped")


@dataclass(frozen=True)
class CdxRow:
    timestamp: str
    original_url: str
    status: int | None
    mimetype: str | None
    digest: str | None
    length: int | None


class CdxRowLike(Protocol):
    """Anything with CdxRow's attributes, e.g. the crawler's own ``CdxRecord``."""

    timestamp: str
    original_url: str
    status: int | None
    mimetype: str | None
    digest: str | None
    length: int | None


@dataclass(frozen=True)
class CaptureTodo:
    capture_id: int
    page_id: int
    timestamp: str
    original_url: str
    status: int | None
    mimetype: str | None
    digest: str | None


@dataclass(frozen=True)
class Reusable:
    snapshot_id: int | None
    state: str
    reason: str | None
    content_sha256: str | None
    extraction: str | None
    normalizer_version: str | None
    final_url: str | None
    final_timestamp: str | None


@dataclass(frozen=True)
class FetchState:
    """What a page's stored captures already settle, read once before a crawl plans its requests."""

    done_timestamps: frozenset[str]  # a final outcome from a fetch: fetched, reused or skipped
    done_digests: frozenset[str]  # payload digests whose outcome a new capture can copy (find_reusable)
    contents: dict[str, str]  # timestamp -> content_sha256, or NO_TEXT for skipped captures


NO_TEXT = ""  # in FetchState.contents / record_inferred: a capture with no document
INFERRED_REASON = "inferred"

# --- helpers ----------------------------------------------------------------------------------------


def _capture(session: Session, capture_id: int) -> Capture:
    capture = session.get(Capture, capture_id)
    if capture is None:
        raise ValueError(f"no capture with id {capture_id}")
    return capture


def _check_timestamp(value: str | None, what: str) -> None:
    if value is not None and not (isinstance(value, str) and _TIMESTAMP.fullmatch(value)):
        raise ValueError(f"{what} must be a 14-digit archive timestamp, got {value!r}")


# --- captures ---------------------------------------------------------------------------------------


def record_captures(session: Session, page_id: int, rows: Iterable[CdxRowLike], run_id: int | None) -> int:
    """Record the CDX rows of a page not seen before; returns how many were new.

    The first row wins when a batch repeats a timestamp. Timestamps are checked before anything is
    written, so a bad row rejects the batch instead of half-storing it. Under a race with another writer
    the count can include rows the other writer inserted first (the rows themselves are stored once).
    """
    batch: dict[str, CdxRowLike] = {}
    for row in rows:
        _check_timestamp(row.timestamp, f"capture timestamp of {row.original_url!r}")
        batch.setdefault(row.timestamp, row)
    if not batch:
        return 0
    seen = set(session.scalars(select(Capture.timestamp).where(Capture.page_id == page_id)))
    now = utcnow()
    new = [
        {
            "page_id": page_id,
            "timestamp": timestamp,
            "original_url": row.original_url,
            "status": row.status,
            "mimetype": row.mimetype,
            "digest": row.digest,
            "length": row.length,
            "state": "pending",
            "first_run_id": run_id,
            "updated_at": now,
        }
        for timestamp, row in batch.items()
        if timestamp not in seen
    ]
    insert_ignoring_conflicts(session, Capture, new, ["page_id", "timestamp"])
    return len(new)


def fetch_state(session: Session, page_id: int) -> FetchState:
    """The captures of a page that need no fetching, and the content known for each.

    Inferred captures are in ``contents`` (bisection may anchor on them) but not in ``done_timestamps``:
    they were never fetched, so an exhaustive crawl still fetches them.
    """
    done: set[str] = set()
    digests: set[str] = set()
    contents: dict[str, str] = {}
    rows = session.execute(
        select(Capture.timestamp, Capture.state, Capture.digest, Capture.content_sha256).where(
            Capture.page_id == page_id, Capture.state.in_(_REUSABLE_STATES + ("inferred",))
        )
    )
    for timestamp, state, digest, sha in rows:
        if state == "skipped":
            contents[timestamp] = NO_TEXT
        elif sha:
            contents[timestamp] = sha
        if state in _REUSABLE_STATES:
            done.add(timestamp)
            if digest:
                digests.add(digest)
    return FetchState(frozenset(done), frozenset(digests), contents)


def record_inferred(session: Session, page_id: int, contents: Mapping[str, str]) -> int:
    """Give captures that were not fetched the content found on both sides of them (bisection).

    Only captures still pending or failed change: an assumption never overwrites a real result. The
    content must already be known for this page (it came from fetched neighbours); extraction and
    normalizer version are copied from a capture that has it. NO_TEXT marks the capture skipped.
    Returns how many captures were marked.
    """
    for timestamp in contents:
        _check_timestamp(timestamp, "inferred capture timestamp")
    if not contents:
        return 0
    hashes = {sha for sha in contents.values() if sha != NO_TEXT}
    sources: dict[str, tuple[str | None, str | None]] = {}
    for sha, extraction, normalizer_version in session.execute(
        select(Capture.content_sha256, Capture.extraction, Capture.normalizer_version)
        .where(Capture.page_id == page_id, Capture.state.in_(("fetched", "reused")), Capture.content_sha256.in_(hashes))
        .order_by(Capture.timestamp)
    ):
        if sha is not None:
            sources.setdefault(sha, (extraction, normalizer_version))
    unknown = hashes - set(sources)
    if unknown:
        raise ValueError(f"cannot infer content never seen for page {page_id}: {sorted(unknown)[:3]}")
    now = utcnow()
    marked = 0
    open_captures = session.scalars(
        select(Capture).where(Capture.page_id == page_id, Capture.state.in_(("pending", "failed")))
    )
    for capture in open_captures:
        sha = contents.get(capture.timestamp)
        if sha is None:
            continue
        if sha == NO_TEXT:
            capture.state, capture.content_sha256, capture.extraction, capture.normalizer_version = (
                "skipped", None, None, None)
        else:
            capture.state, capture.content_sha256 = "inferred", sha
            capture.extraction, capture.normalizer_version = sources[sha]
        capture.reason = INFERRED_REASON
        capture.snapshot_id = None
        capture.updated_at = now
        marked += 1
    return marked


def capture_id(session: Session, page_id: int, timestamp: str) -> int:
    """The id of the capture of ``page_id`` at ``timestamp`` (which must have been recorded)."""
    found = session.scalars(
        select(Capture.id).where(Capture.page_id == page_id, Capture.timestamp == timestamp)
    ).one_or_none()
    if found is None:
        raise ValueError(f"no capture of page {page_id} at {timestamp!r}")
    return found


def captures_to_process(session: Session, page_id: int) -> list[CaptureTodo]:
    """Captures still to fetch: never tried (pending) or transiently failed, oldest first."""
    statement = (
        select(Capture)
        .where(Capture.page_id == page_id, Capture.state.in_(("pending", "failed")))
        .order_by(Capture.timestamp)
    )
    return [
        CaptureTodo(
            capture_id=c.id, page_id=c.page_id, timestamp=c.timestamp, original_url=c.original_url,
            status=c.status, mimetype=c.mimetype, digest=c.digest,
        )
        for c in session.scalars(statement)
    ]


def find_reusable(session: Session, page_id: int, digest: str | None) -> Reusable | None:
    """The outcome of an already processed capture of the same page with the same payload digest.

    Same page only: the same bytes under another URL may need a different site name in the document.
    The most recently decided outcome wins, as it reflects the current normalizer.
    """
    if not digest:
        return None
    source = session.scalars(
        select(Capture)
        .where(Capture.page_id == page_id, Capture.digest == digest, Capture.state.in_(_REUSABLE_STATES))
        .order_by(Capture.updated_at.desc(), Capture.id.desc())
        .limit(1)
    ).one_or_none()
    if source is None:
        return None
    return Reusable(
        snapshot_id=source.snapshot_id, state=source.state, reason=source.reason,
        content_sha256=source.content_sha256, extraction=source.extraction,
        normalizer_version=source.normalizer_version, final_url=source.final_url,
        final_timestamp=source.final_timestamp,
    )


def _settle(capture: Capture, state: str, *, reason: str | None, snapshot_id: int | None,
            content_sha256: str | None, extraction: str | None, normalizer_version: str | None,
            final_url: str | None, final_timestamp: str | None) -> None:
    """Set every outcome field of a capture at once, so no field keeps a value from an earlier outcome."""
    capture.state = state
    capture.reason = reason
    capture.snapshot_id = snapshot_id
    capture.content_sha256 = content_sha256
    capture.extraction = extraction
    capture.normalizer_version = normalizer_version
    capture.final_url = final_url
    capture.final_timestamp = final_timestamp
    capture.updated_at = utcnow()


def mark_reused(session: Session, capture_id: int, source: Reusable) -> None:
    """Give a capture the outcome of an identical one: 'reused', or 'skipped' for the same reason."""
    capture = _capture(session, capture_id)
    skipped = source.state == "skipped"
    _settle(capture, "skipped" if skipped else "reused",
            reason=source.reason if skipped else None,
            snapshot_id=source.snapshot_id,
            content_sha256=None if skipped else source.content_sha256,
            extraction=source.extraction,
            normalizer_version=source.normalizer_version,
            final_url=source.final_url,
            final_timestamp=source.final_timestamp)


def reuse_fetched_digests(session: Session, page_id: int) -> int:
    """Settle every open capture of a page whose payload digest was already fetched for it; returns how many.

    Such a capture takes the stored outcome of its twin (:func:`mark_reused`) instead of being fetched.
    Redirect captures are left alone: identical 301s of one server lead to different places.
    """
    reused = 0
    for todo in captures_to_process(session, page_id):
        if not todo.digest or (todo.status is not None and 300 <= todo.status < 400):
            continue
        source = find_reusable(session, page_id, todo.digest)
        if source is not None:
            mark_reused(session, todo.capture_id, source)
            reused += 1
    return reused


def record_normalized(
    session: Session,
    capture_id: int,
    *,
    snapshot_id: int,
    content_sha256: str,
    title: str,
    comparable_body: str,
    extraction: str,
    normalizer_version: str,
    final_url: str | None = None,
    final_timestamp: str | None = None,
) -> None:
    """Record a capture's normalized document; its text is stored once per distinct content."""
    expected = compute_content_sha256(title, comparable_body)
    if content_sha256 != expected:
        raise ValueError(
            f"content_sha256 {content_sha256!r} is not the hash of the given title and body ({expected!r}): "
            "pass core.document.content_sha256(title, comparable_body)"
        )
    _check_timestamp(final_timestamp, "final_timestamp")
    capture = _capture(session, capture_id)
    text_exists = session.scalars(select(VersionText.id).where(VersionText.sha256 == content_sha256)).first()
    if text_exists is None:
        row = {
            "sha256": content_sha256,
            "title": title,
            "body": compress(comparable_body.encode("utf-8")),
            "compression": COMPRESSION,
            "chars": len(comparable_body),
            "words": len(comparable_body.split()),
        }
        insert_ignoring_conflicts(session, VersionText, [row], ["sha256"])
    _settle(capture, "fetched", reason=None, snapshot_id=snapshot_id, content_sha256=content_sha256,
            extraction=extraction, normalizer_version=normalizer_version, final_url=final_url,
            final_timestamp=final_timestamp)


def record_capture_outcome(
    session: Session,
    capture_id: int,
    *,
    state: str,
    reason: str,
    snapshot_id: int | None = None,
    final_url: str | None = None,
    final_timestamp: str | None = None,
) -> None:
    """Record that a capture yields no document: 'failed' (retried next run) or 'skipped' (final)."""
    if state not in ("failed", "skipped"):
        raise ValueError(f"record_capture_outcome takes state 'failed' or 'skipped', not {state!r}")
    if not reason or not str(reason).strip():
        raise ValueError("a failed or skipped capture needs a reason")
    _check_timestamp(final_timestamp, "final_timestamp")
    capture = _capture(session, capture_id)
    _settle(capture, state, reason=str(reason), snapshot_id=snapshot_id, content_sha256=None, extraction=None,
            normalizer_version=None, final_url=final_url, final_timestamp=final_timestamp)
