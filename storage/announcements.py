"""Announcement channels, per-channel delivery state, and the description of a change to announce.

Exactly-once, as far as a network allows: a change is sent to a channel only while its delivery row is
not ``delivered``, the row is committed right after a successful send, and ``Change.announced_at`` is
set once every channel that should get the change has it (or gave up after ``max_attempts`` cycles).
A restart therefore resends nothing that was delivered; only a crash in the instant between a
receiver's 2xx and our commit can repeat one delivery, which is why each carries a stable id that a
receiver can deduplicate on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from storage.inserts import insert_ignoring_conflicts
from storage.models import (
    CHANNEL_KINDS,
    Capture,
    Change,
    Channel,
    Delivery,
    Page,
    Site,
    Version,
)
from storage.live import rendered_for
from storage.queries import site_named
from storage.summary import ChangeSummary
from storage.types import utcnow
from storage.versions import change_summaries, mark_announced

PUSH_KINDS = ("webhook", "apprise")
DEFAULT_MAX_ATTEMPTS = 10  # announce cycles (one per crawl run) before a delivery is given up


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    kind: str
    target: str
    since: datetime | None
    created_at: datetime
    delivered: int = 0
    pending: int = 0
    failed: int = 0

    @property
    def shown(self) -> str:
        """The target as it may be printed or logged: webhook and Apprise URLs carry secrets."""
        return masked_target(self.kind, self.target)


def masked_url(url: str) -> str:
    """A webhook URL without its secrets: tokens hide in passwords, paths and queries alike, so only the
    scheme and host are kept (``https://hooks.example.org/***``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    if not parts.scheme or not host:
        return "(an invalid URL)"
    user = f"{parts.username}:***@" if parts.password else (f"{parts.username}@" if parts.username else "")
    rest = "/***" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{user}{host}{port}{rest}"


def masked_target(kind: str, target: str) -> str:
    """A channel's target for display: Apprise's own privacy form for Apprise URLs (it knows which part of
    each service's URL is a token), :func:`masked_url` for webhooks, a feed's path as it is."""
    if kind == "feed":
        return target
    if kind == "apprise":
        try:
            import apprise

            service = apprise.Apprise.instantiate(target)
        except Exception:  # noqa: BLE001 -- any failure to parse: show nothing of it
            service = None
        return service.url(privacy=True).split("?", 1)[0] if service else f"{target.split('://', 1)[0]}://***"
    return masked_url(target)


@dataclass(frozen=True)
class VersionRef:
    id: int
    sha256: str
    first_seen: str
    last_seen: str
    url: str  # the original URL of the version's first capture
    live: bool  # first seen on the live site rather than in the archive
    link: str  # where to read it: the archive's snapshot (of the archive it came from), or the live page


@dataclass(frozen=True)
class ChangeAnnouncement:
    """Everything an announcement says about one change."""

    change_id: int
    site: str
    page_url: str
    before: VersionRef
    after: VersionRef
    before_timestamp: str  # the change happened after this capture ...
    after_timestamp: str  # ... and by this one
    detected_at: datetime
    technical: bool
    summary: ChangeSummary

    @property
    def key(self) -> str:
        """Stable identifier of this announcement, for receivers to deduplicate on."""
        return f"policytrack-change-{self.change_id}"


# --- channels ---------------------------------------------------------------------------------------


def _channel_info(channel: Channel, counts: dict[str, int] | None = None) -> ChannelInfo:
    counts = counts or {}
    return ChannelInfo(channel.id, channel.kind, channel.target, channel.since, channel.created_at,
                       counts.get("delivered", 0), counts.get("pending", 0), counts.get("failed", 0))


def add_channel(session: Session, kind: str, target: str, *, backlog: bool = False) -> ChannelInfo:
    """Add a channel (adding it again returns the existing one). ``backlog``: also announce changes
    detected before now that are not announced yet; by default a new channel only gets new changes."""
    if kind not in CHANNEL_KINDS:
        raise ConfigurationError(f"unknown channel kind {kind!r} (expected one of {', '.join(CHANNEL_KINDS)})")
    target = (target or "").strip()
    if not target:
        raise ConfigurationError(f"a {kind} channel needs a target")
    now = utcnow()
    insert_ignoring_conflicts(
        session, Channel, [{"kind": kind, "target": target, "since": None if backlog else now, "created_at": now}],
        ["kind", "target"],
    )
    channel = session.scalars(select(Channel).where(Channel.kind == kind, Channel.target == target)).one()
    return _channel_info(channel)


def list_channels(session: Session, kinds: tuple[str, ...] = CHANNEL_KINDS) -> list[ChannelInfo]:
    counts: dict[int, dict[str, int]] = {}
    for channel_id, status, n in session.execute(
        select(Delivery.channel_id, Delivery.status, func.count()).group_by(Delivery.channel_id, Delivery.status)
    ):
        counts.setdefault(channel_id, {})[status] = n
    channels = session.scalars(select(Channel).where(Channel.kind.in_(kinds)).order_by(Channel.id))
    return [_channel_info(c, counts.get(c.id)) for c in channels]


def remove_channel(session: Session, channel_id: int) -> ChannelInfo:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise ConfigurationError(f"no announcement channel with id {channel_id}: see 'policytrack notify list'")
    info = _channel_info(channel)
    session.execute(delete(Delivery).where(Delivery.channel_id == channel_id).execution_options(synchronize_session=False))
    session.delete(channel)
    return info


# --- what to announce -------------------------------------------------------------------------------


def _announcements(session: Session, rows: Sequence[tuple[Change, str, str]]) -> list[ChangeAnnouncement]:
    """Announcements of ``(change, hostname, page URL)`` rows, in their order, in a few queries whatever their
    number (a feed lists tens): both versions, their first captures and how each is rendered, the stored
    summaries -- no text is read."""
    version_ids = {v for change, _, _ in rows for v in (change.from_version_id, change.to_version_id)}
    versions = {row.id: row for row in session.execute(
        select(Version.id, Version.content_sha256, Version.first_seen, Version.last_seen, Version.first_capture_id)
        .where(Version.id.in_(version_ids)))}
    captures = {cid: (url, ts) for cid, url, ts in session.execute(
        select(Capture.id, Capture.original_url, Capture.timestamp)
        .where(Capture.id.in_([v.first_capture_id for v in versions.values()])))}
    shown = rendered_for(session, captures)
    summaries = change_summaries(session, [change.id for change, _, _ in rows])

    def ref(version_id: int) -> VersionRef:
        version = versions[version_id]
        capture = shown[version.first_capture_id]
        return VersionRef(version.id, version.content_sha256, version.first_seen, version.last_seen,
                          captures[version.first_capture_id][0], capture.source == "live", capture.link)

    return [
        ChangeAnnouncement(
            change_id=change.id, site=site, page_url=page_url, before=ref(change.from_version_id),
            after=ref(change.to_version_id), before_timestamp=change.before_timestamp,
            after_timestamp=change.after_timestamp, detected_at=change.created_at, technical=change.technical,
            summary=summaries[change.id],  # stored with the change
        )
        for change, site, page_url in rows
    ]


def _with_page(statement: Any) -> Any:
    return statement.join(Page, Page.id == Change.page_id).join(Site, Site.id == Page.site_id)


def change_announcement(session: Session, change_id: int) -> ChangeAnnouncement:
    row = session.execute(_with_page(select(Change, Site.hostname, Page.url)).where(Change.id == change_id)).first()
    if row is None:
        raise ValueError(f"no change with id {change_id}")
    return _announcements(session, [tuple(row)])[0]


def recent_changes(session: Session, *, limit: int = 50, site: str | None = None,
                   include_technical: bool = False) -> list[ChangeAnnouncement]:
    """The most recently detected changes, newest first (what an Atom feed shows)."""
    statement = _with_page(select(Change, Site.hostname, Page.url)).order_by(Change.created_at.desc(), Change.id.desc())
    if site is not None:  # an unknown site is an error, not an empty feed
        # By its pages' ids: read the site's changes by (page_id, ...) and sort those few, rather than walk
        # the created_at index past every other site's newer changes.
        pages = list(session.scalars(select(Page.id).where(Page.site_id == site_named(session, site).id)))
        statement = statement.where(Change.page_id.in_(pages))
    if not include_technical:
        statement = statement.where(Change.technical.is_(False))
    return _announcements(session, [tuple(row) for row in session.execute(statement.limit(limit)).all()])


@dataclass(frozen=True)
class PendingAnnouncement:
    change_id: int
    channel_ids: list[int]  # push channels that still need this change


def _owed(session: Session) -> tuple[list[PendingAnnouncement], list[int]]:
    """(changes owed to push channels with those channels, unannounced changes owed to none)."""
    channels = list(session.scalars(select(Channel).where(Channel.kind.in_(PUSH_KINDS)).order_by(Channel.id)))
    if not channels:
        return [], []
    changes = list(session.execute(
        select(Change.id, Change.created_at).where(Change.announced_at.is_(None), Change.technical.is_(False))
        .order_by(Change.after_timestamp, Change.id)
    ).all())
    settled: dict[int, set[int]] = {}
    if changes:
        for change_id, channel_id in session.execute(
            select(Delivery.change_id, Delivery.channel_id).where(
                Delivery.status.in_(("delivered", "failed")), Delivery.change_id.in_([c for c, _ in changes])
            )
        ).all():
            settled.setdefault(change_id, set()).add(channel_id)
    owed: list[PendingAnnouncement] = []
    complete: list[int] = []
    for change_id, created_at in changes:
        channel_ids = [c.id for c in channels
                       if (c.since is None or created_at >= c.since) and c.id not in settled.get(change_id, set())]
        if channel_ids:
            owed.append(PendingAnnouncement(change_id, channel_ids))
        else:
            complete.append(change_id)
    return owed, complete


def pending_announcements(session: Session) -> list[PendingAnnouncement]:
    """Unannounced changes (oldest first) with the push channels still owed each of them.

    Nothing is returned while no push channel exists: changes wait for the first one, which takes them
    only if added with a backlog.
    """
    return _owed(session)[0]


def settle_announcements(session: Session) -> int:
    """Mark announced the unannounced changes no push channel is owed any more (every channel has them,
    gave up on them, was removed, or is newer than them); returns how many. No-op without push channels."""
    return mark_announced(session, _owed(session)[1])


def record_delivery(session: Session, change_id: int, channel_id: int, *, ok: bool, error: str | None = None,
                    max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:
    """Record one delivery attempt (a whole retry cycle); returns the delivery's status afterwards."""
    now = utcnow()
    insert_ignoring_conflicts(
        session, Delivery,
        [{"change_id": change_id, "channel_id": channel_id, "status": "pending", "attempts": 0, "updated_at": now}],
        ["change_id", "channel_id"],
    )
    delivery = session.get_one(Delivery, (change_id, channel_id))
    if delivery.status == "delivered":
        return delivery.status
    delivery.attempts += 1
    delivery.updated_at = now
    if ok:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
    else:
        delivery.last_error = (error or "failed")[:2000]
        if delivery.attempts >= max_attempts:
            delivery.status = "failed"
    session.flush()
    return delivery.status


def finish_announcement(session: Session, change_id: int) -> bool:
    """Mark the change announced if no push channel is still owed it; returns whether it was marked."""
    remaining = pending_for_change(session, change_id)
    if remaining:
        return False
    return mark_announced(session, [change_id]) > 0


def pending_for_change(session: Session, change_id: int) -> list[int]:
    change = session.get(Change, change_id)
    if change is None or change.announced_at is not None:
        return []
    settled = set(session.scalars(select(Delivery.channel_id).where(
        Delivery.change_id == change_id, Delivery.status.in_(("delivered", "failed")))))
    return [
        c.id for c in session.scalars(select(Channel).where(Channel.kind.in_(PUSH_KINDS)))
        if (c.since is None or change.created_at >= c.since) and c.id not in settled
    ]


def channel(session: Session, channel_id: int) -> ChannelInfo:
    found = session.get(Channel, channel_id)
    if found is None:
        raise ConfigurationError(f"no announcement channel with id {channel_id}")
    return _channel_info(found)
