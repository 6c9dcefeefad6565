"""Announce new changes on the configured channels: webhooks (JSON POST), Apprise URLs, Atom feed files.

One cycle (:func:`announce_pending`) sends every change still owed to a push channel, oldest first,
retrying each send a few times with exponential backoff; a send that still fails stays owed and is
retried at the next cycle, up to ``max_attempts`` cycles. Delivery state lives in the database
(:mod:`storage.announcements`), committed after every send, so a restart resends nothing delivered.
Cycles are serialized across processes by the ``announcer`` lease: a scheduler and a cron
``policytrack announce`` never send the same change at the same time. Feed channels are files, not
deliveries: each cycle rewrites them.

Runs in a worker thread (blocking HTTP); everything it needs comes in as arguments, and what went wrong
comes back in the report (callers decide how loudly to say it: a log line, or one line for cron).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

import storage
from storage import leases
from storage.announcements import (
    DEFAULT_MAX_ATTEMPTS,
    PUSH_KINDS,
    ChangeAnnouncement,
    ChannelInfo,
    change_announcement,
    finish_announcement,
    list_channels,
    masked_url,
    pending_announcements,
    record_delivery,
    settle_announcements,
)
from storage.leases import Holder, LeaseKeeper

logger = logging.getLogger(__name__)

USER_AGENT = "policytrack/0.1 (change announcements)"


@dataclass
class SendPolicy:
    timeout: float = 10.0  # seconds per HTTP attempt
    retries: int = 3  # extra attempts within one cycle
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    max_backoff: float = 30.0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # cycles before a delivery is given up
    sleep: Callable[[float], None] = time.sleep
    # Asked between attempts and between deliveries: a stopping scheduler need not wait out retries and
    # timeouts against a receiver that is down. An announcement cut short stays owed, its attempt uncounted.
    stopping: Callable[[], bool] = lambda: False

    @classmethod
    def until(cls, stop: threading.Event, **kwargs: Any) -> "SendPolicy":
        """A policy whose back-off waits end, and which gives up, as soon as ``stop`` is set."""
        return cls(sleep=lambda seconds: stop.wait(seconds), stopping=stop.is_set, **kwargs)


@dataclass
class AnnounceReport:
    delivered: int = 0
    failed: int = 0
    changes_announced: int = 0
    feeds_written: int = 0
    busy: str | None = None  # another process was announcing (its description)
    stopped: bool = False  # cut short by a stop: the rest stays owed for the next cycle
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.busy:
            return f"skipped: another process is announcing ({self.busy})"
        text = (f"{self.delivered} delivered, {self.failed} failed, {self.changes_announced} change(s) fully "
                f"announced, {self.feeds_written} feed(s) written")
        if self.stopped:
            text += "; stopped early, the rest is announced next time"
        if self.errors:
            text += f"; first error: {self.errors[0]}"
        return text


# --- what is sent -----------------------------------------------------------------------------------


def _version(ref: Any) -> dict[str, Any]:
    return {"id": ref.id, "sha256": ref.sha256, "first_seen": ref.first_seen, "last_seen": ref.last_seen,
            "source": "live" if ref.live else "archive",
            "url": ref.link}


def webhook_payload(change: ChangeAnnouncement) -> dict[str, Any]:
    """The JSON body of a webhook announcement (stable: receivers parse it)."""
    return {
        "id": change.key,
        "type": "policy.changed",
        "change_id": change.change_id,
        "site": change.site,
        "page_url": change.page_url,
        "changed_after": change.before_timestamp,
        "changed_by": change.after_timestamp,
        "detected_at": change.detected_at.isoformat(),
        "technical": change.technical,
        "summary": change.summary.as_dict(),
        "from_version": _version(change.before),
        "to_version": _version(change.after),
    }


def _stamp(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}"


def message(change: ChangeAnnouncement) -> tuple[str, str]:
    """(title, body) of a human-readable announcement (Apprise, the Atom feed)."""
    title = f"{change.site}: privacy policy changed"
    seen = "on the live site" if change.after.live else "in the archive"
    body = (
        f"The privacy policy of {change.site} ({change.page_url}) changed between "
        f"{_stamp(change.before_timestamp)} and {_stamp(change.after_timestamp)} UTC (first seen {seen}).\n"
        f"{change.summary.describe()}.\n"
        f"Before: version {change.before.id}, {change.before.link}\n"
        f"After: version {change.after.id}, {change.after.link}\n"
        f"policytrack diff {change.site} --from v{change.before.id} --to v{change.after.id}"
    )
    return title, body


# --- how it is sent ---------------------------------------------------------------------------------


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    value = error.headers.get("Retry-After") if error.headers else None
    return float(value) if value and value.strip().isdigit() else None


def post_json(url: str, payload: dict[str, Any], policy: SendPolicy, headers: dict[str, str] | None = None) -> str | None:
    """POST ``payload``; None on a 2xx, else the last error. Retries timeouts, connection errors, 408,
    429 and 5xx with exponential backoff (honouring a numeric Retry-After); other 4xx are final."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request_headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **(headers or {})}
    error = "not sent"
    for attempt in range(policy.retries + 1):
        wait = min(policy.max_backoff, policy.backoff * 2 ** attempt)
        try:
            request = urllib.request.Request(url, data=data, headers=request_headers, method="POST")
            with urllib.request.urlopen(request, timeout=policy.timeout) as response:
                response.read(65536)
                return None
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} from {masked_url(url)}"
            if exc.code < 500 and exc.code not in (408, 429):
                return error
            wait = min(policy.max_backoff, _retry_after(exc) or wait)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = str(getattr(exc, "reason", exc)).replace(url, masked_url(url))
            error = f"{masked_url(url)}: {reason}"
            if isinstance(exc, ValueError):  # a malformed URL will not get better
                return error
        if attempt < policy.retries:
            policy.sleep(wait)
            if policy.stopping():
                return error
    return error


def send_webhook(channel: ChannelInfo, change: ChangeAnnouncement, policy: SendPolicy) -> str | None:
    return post_json(channel.target, webhook_payload(change), policy, headers={"Idempotency-Key": change.key})


def send_apprise(channel: ChannelInfo, change: ChangeAnnouncement, policy: SendPolicy) -> str | None:
    try:
        import apprise
    except ImportError:
        return "the apprise package is not installed (pip install apprise)"
    notifier = apprise.Apprise()
    if not notifier.add(channel.target):
        return f"invalid or unsupported Apprise URL {channel.shown!r}"
    title, body = message(change)
    for attempt in range(policy.retries + 1):
        if notifier.notify(title=title, body=body):
            return None
        if attempt < policy.retries:
            policy.sleep(min(policy.max_backoff, policy.backoff * 2 ** attempt))
            if policy.stopping():
                break
    return f"Apprise could not notify {channel.target.split('://', 1)[0]}:// (see the log)"


SENDERS: dict[str, Callable[[ChannelInfo, ChangeAnnouncement, SendPolicy], str | None]] = {
    "webhook": send_webhook,
    "apprise": send_apprise,
}


# --- one cycle --------------------------------------------------------------------------------------


def write_feeds(db: storage.Database, report: AnnounceReport) -> None:
    from scheduler.feed import write_feed

    with db.session() as session:
        feeds = list_channels(session, ("feed",))
    for channel in feeds:
        try:
            write_feed(db, channel.target)
            report.feeds_written += 1
        except Exception as exc:  # one unwritable feed must not stop the others
            report.errors.append(f"feed {channel.target}: {exc}")


def announce_pending(db: storage.Database, policy: SendPolicy | None = None) -> AnnounceReport:
    """Send every owed announcement once, then rewrite the feed files. Blocking."""
    policy = policy or SendPolicy()
    report = AnnounceReport()
    holder = Holder.new("announcer")
    with db.session(immediate=True) as session:
        _, busy = leases.acquire(session, holder, ["announcer"])
    if busy:
        report.busy = busy["announcer"].describe()
        return report
    try:
        with LeaseKeeper(db, holder):
            with db.session(immediate=True) as session:
                report.changes_announced += settle_announcements(session)
                pending = pending_announcements(session)
                channels = {c.id: c for c in list_channels(session, PUSH_KINDS)}
            for item in pending:
                if policy.stopping():
                    report.stopped = True
                    break
                try:
                    with db.session() as session:
                        change = change_announcement(session, item.change_id)
                except ValueError:  # the change was rebuilt away meanwhile; its successor is announced
                    continue
                for channel_id in item.channel_ids:
                    channel = channels.get(channel_id)
                    if channel is None:
                        continue
                    error = SENDERS[channel.kind](channel, change, policy)
                    if error is not None and policy.stopping():
                        break  # cut short: still owed, and this attempt does not count towards giving up
                    with db.session(immediate=True) as session:
                        record_delivery(session, change.change_id, channel_id, ok=error is None, error=error,
                                        max_attempts=policy.max_attempts)
                    if error is None:
                        report.delivered += 1
                    else:
                        report.failed += 1
                        report.errors.append(f"change {change.change_id} on {channel.kind} channel {channel_id}: {error}")
                if policy.stopping():
                    report.stopped = True
                    break
                with db.session(immediate=True) as session:
                    report.changes_announced += int(finish_announcement(session, change.change_id))
            write_feeds(db, report)
    finally:
        with db.session() as session:
            leases.release(session, holder)
    return report
