"""The page queue: a Redis Stream read by one consumer group, with explicit acknowledgement.

A page is delivered to one worker (``XREADGROUP``) and stays in the group's pending list until that
worker acknowledges it (``XACK`` + ``XDEL``). A worker that dies never acknowledges: once its page has
been idle longer than the visibility timeout, the next worker asking for work claims it
(``XAUTOCLAIM``). That is at-least-once delivery; crawl writes are idempotent, so a page crawled twice
is stored once. A page that fails ``max_attempts`` times (or is delivered that often without ever
finishing, e.g. it kills its worker) is moved to the failed set instead of going round forever.

Keys (under ``prefix``): ``pages`` (the stream), ``queued`` (page ids in the stream: enqueueing a page
already there is a no-op), ``attempts`` (failures so far, by page id), ``failed`` (page id -> JSON of
the last error), ``worker:NAME`` (a heartbeat with a time to live).
"""

from __future__ import annotations

import json
import socket
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Sequence

import redis

from core.errors import ConfigurationError

if TYPE_CHECKING:
    import storage

GROUP = "workers"
DEFAULT_PREFIX = "policytrack:"
DEFAULT_VISIBILITY_SECONDS = 300.0
DEFAULT_MAX_ATTEMPTS = 3
HEARTBEAT_TTL_SECONDS = 30


def connect(url: str) -> redis.Redis:
    """A Redis client for ``url``, checked now: a wrong URL is one clear line, not a traceback later."""
    try:
        client = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
        client.ping()
    except (ValueError, redis.RedisError) as exc:
        raise ConfigurationError(f"cannot reach Redis at {display_url(url)}: {exc}") from None
    return client


def display_url(url: str) -> str:
    """``url`` without its password (it never goes to output or logs)."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user + ':***@' if user else '***@'}{host}"
    return url


@dataclass(frozen=True)
class Delivery:
    """One page handed to one worker: acknowledge, return or fail it by ``message_id``."""

    message_id: str
    page_id: int
    site: str
    url: str
    deliveries: int  # how often the stream has handed this entry out (1 = first time)
    schedule: tuple[str, datetime] | None = None  # queued by this schedule for this fire time

    def fields(self) -> dict[str, str | int]:
        return _entry(self.page_id, self.site, self.url, self.schedule)


def _entry(page_id: int, site: str, url: str, schedule: tuple[str, datetime] | None) -> dict[str, str | int]:
    """A page's stream entry (with the schedule that queued it, if one did)."""
    fields: dict[str, str | int] = {"page_id": page_id, "site": site, "url": url}
    if schedule is not None:
        fields.update(schedule_id=schedule[0], scheduled_for=schedule[1].isoformat())
    return fields


@dataclass(frozen=True)
class FailedPage:
    page_id: int
    site: str
    url: str
    attempts: int
    error: str
    run_id: int | None = None   # its last failed run (None: its workers died before recording one)
    worker: str | None = None   # the worker that ran it


@dataclass(frozen=True)
class QueueStatus:
    pending: int         # waiting for a worker
    in_flight: int       # delivered, not yet acknowledged
    failed: list[FailedPage]
    workers: dict[str, dict]  # name -> its last heartbeat


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue_sites(queue: "PageQueue", db: "storage.Database", sites: Sequence[str] | None,
                  schedule: tuple[str, datetime] | None = None) -> tuple[int, int]:
    """Queue every page of ``sites`` (None: every tracked site); returns (pages added, pages in all)."""
    import storage

    with db.session() as session:
        pages = storage.pages_for(session, list(sites) if sites else None)
    return queue.enqueue(((p.page_id, p.site, p.url) for p in pages), schedule), len(pages)


class PageQueue:
    def __init__(self, client: redis.Redis, *, prefix: str = DEFAULT_PREFIX,
                 visibility_seconds: float = DEFAULT_VISIBILITY_SECONDS, max_attempts: int = DEFAULT_MAX_ATTEMPTS):
        self.r = client
        self.prefix = prefix
        self.stream = prefix + "pages"
        self.queued = prefix + "queued"
        self.attempts = prefix + "attempts"
        self.failed = prefix + "failed"
        self.visibility_ms = int(visibility_seconds * 1000)
        self.max_attempts = max_attempts
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.r.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # --- producers -------------------------------------------------------------------------------
    def enqueue(self, pages: Iterable[tuple[int, str, str]], schedule: tuple[str, datetime] | None = None) -> int:
        """Queue ``(page_id, site, url)`` pages not queued already; returns how many were added.
        ``schedule``: (schedule id, fire time) of the schedule queueing them, which their runs record.

        A page that failed before is taken out of the failed set: enqueueing it again is the retry."""
        self._ensure_group()
        added = 0
        for page_id, site, url in pages:
            if self.r.sadd(self.queued, page_id):
                with self.r.pipeline() as pipe:
                    pipe.xadd(self.stream, _entry(page_id, site, url, schedule))
                    pipe.hdel(self.failed, page_id)
                    pipe.hdel(self.attempts, page_id)
                    pipe.execute()
                added += 1
        return added

    # --- consumers -------------------------------------------------------------------------------
    def claim(self, consumer: str, block_seconds: float = 2.0) -> Delivery | None:
        """The next page for ``consumer``: first one abandoned by a dead worker (idle longer than the
        visibility timeout), else a new one (waiting up to ``block_seconds``); None if there is none."""
        try:
            return self._claim(consumer, block_seconds)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # Redis came back empty (restarted without persistence): make it again
            return None

    def _claim(self, consumer: str, block_seconds: float) -> Delivery | None:
        self._ensure_group()
        while True:
            _, claimed, _ = self.r.xautoclaim(self.stream, GROUP, consumer, self.visibility_ms, "0-0", count=1)
            if not claimed:
                break
            delivery = self._delivery(*claimed[0])
            if delivery is None:
                continue
            if delivery.deliveries > self.max_attempts:
                self._move_to_failed(delivery, f"delivered {delivery.deliveries - 1} times and never finished "
                                               "(its workers died or stalled)")
                continue
            return delivery
        answer = self.r.xreadgroup(GROUP, consumer, {self.stream: ">"}, count=1,
                                   block=max(1, int(block_seconds * 1000)))
        if not answer:
            return None
        _, messages = answer[0]
        return self._delivery(*messages[0]) if messages else None

    def _delivery(self, message_id: str, fields: dict | None) -> Delivery | None:
        if not fields:  # deleted meanwhile (acknowledged by a slow worker): drop the stale entry
            self.r.xack(self.stream, GROUP, message_id)
            return None
        info = self.r.xpending_range(self.stream, GROUP, min=message_id, max=message_id, count=1)
        deliveries = info[0]["times_delivered"] if info else 1
        schedule = ((fields["schedule_id"], datetime.fromisoformat(fields["scheduled_for"]))
                    if "schedule_id" in fields else None)
        return Delivery(message_id, int(fields["page_id"]), fields["site"], fields["url"], deliveries, schedule)

    def extend(self, message_ids: Sequence[str], consumer: str) -> None:
        """Still working on them: reset the pages' idle time, so they are not redelivered (one XCLAIM
        JUSTID for all the pages a worker holds)."""
        if message_ids:
            self.r.xclaim(self.stream, GROUP, consumer, 0, list(message_ids), justid=True)

    def ack(self, delivery: Delivery) -> None:
        """Done: the page leaves the queue."""
        with self.r.pipeline() as pipe:
            pipe.xack(self.stream, GROUP, delivery.message_id)
            pipe.xdel(self.stream, delivery.message_id)
            pipe.srem(self.queued, delivery.page_id)
            pipe.hdel(self.attempts, delivery.page_id)
            pipe.execute()

    def give_back(self, delivery: Delivery) -> None:
        """Not done, not failed (the worker is stopping, the site is busy): queue it again at the end."""
        with self.r.pipeline() as pipe:
            pipe.xadd(self.stream, delivery.fields())
            pipe.xack(self.stream, GROUP, delivery.message_id)
            pipe.xdel(self.stream, delivery.message_id)
            pipe.execute()

    def fail(self, delivery: Delivery, error: str, *, run_id: int | None = None, worker: str | None = None) -> bool:
        """The page's crawl (run ``run_id`` by ``worker``) failed: queue it again, or after
        ``max_attempts`` failures move it to the failed set. Returns True when it went to the failed set."""
        attempts = int(self.r.hincrby(self.attempts, delivery.page_id, 1))
        if attempts >= self.max_attempts:
            self._move_to_failed(delivery, error, attempts, run_id=run_id, worker=worker)
            return True
        self.give_back(delivery)
        return False

    def _move_to_failed(self, delivery: Delivery, error: str, attempts: int | None = None, *,
                        run_id: int | None = None, worker: str | None = None) -> None:
        record = {"site": delivery.site, "url": delivery.url, "error": error,
                  "attempts": attempts if attempts is not None else delivery.deliveries - 1,
                  "run_id": run_id, "worker": worker}
        with self.r.pipeline() as pipe:
            pipe.hset(self.failed, delivery.page_id, json.dumps(record))
            pipe.xack(self.stream, GROUP, delivery.message_id)
            pipe.xdel(self.stream, delivery.message_id)
            pipe.srem(self.queued, delivery.page_id)
            pipe.hdel(self.attempts, delivery.page_id)
            pipe.execute()

    # --- workers alive ---------------------------------------------------------------------------
    def heartbeat(self, worker: str, info: dict) -> None:
        self.r.set(f"{self.prefix}worker:{worker}", json.dumps({**info, "at": time.time()}),
                   ex=HEARTBEAT_TTL_SECONDS)

    def forget_worker(self, worker: str) -> None:
        self.r.delete(f"{self.prefix}worker:{worker}")
        try:
            # Only once it holds nothing: deleting a consumer drops its pending entries, which could then
            # never be redelivered (a worker leaving at once on a second signal still holds its pages).
            if not self.r.xpending_range(self.stream, GROUP, min="-", max="+", count=1, consumername=worker):
                self.r.xgroup_delconsumer(self.stream, GROUP, worker)
        except redis.ResponseError:
            pass

    # --- status ----------------------------------------------------------------------------------
    def status(self) -> QueueStatus:
        self._ensure_group()
        in_flight = int(self.r.xpending(self.stream, GROUP)["pending"])
        pending = int(self.r.xlen(self.stream)) - in_flight  # acknowledged entries are deleted
        failed = [FailedPage(int(pid), rec["site"], rec["url"], int(rec["attempts"]), rec["error"],
                             rec.get("run_id"), rec.get("worker"))
                  for pid, rec in ((pid, json.loads(raw)) for pid, raw in self.r.hgetall(self.failed).items())]
        workers = {}
        for key in self.r.scan_iter(match=f"{self.prefix}worker:*"):
            raw = self.r.get(key)
            if raw:
                workers[key.removeprefix(f"{self.prefix}worker:")] = json.loads(raw)
        return QueueStatus(max(0, pending), in_flight, sorted(failed, key=lambda f: f.page_id), workers)
