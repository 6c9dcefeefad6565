"""Leases: exclusive, crash-safe claims on named resources, shared by every process using the database.

Why in the database: a scheduler process, a cron ``policytrack crawl`` and an operator's manual crawl
may all run at once, possibly on different hosts (PostgreSQL). An in-process lock protects nothing
then; a row does. Names in use:

* ``site:HOST`` -- the site is being crawled (two crawls of one site would race on its versions);
* ``run:ID`` -- crawl run ID is alive: a ``running`` run without a live ``run:`` lease was abandoned
  (the process was killed) and is marked ``interrupted`` by :func:`reap_abandoned_runs`;
* ``scheduler`` -- the one scheduler process of this database;
* ``announcer`` -- the one process sending announcements right now.

A holder renews its leases (:class:`LeaseKeeper`) and deletes them when done. A lease is *dead* when it
has expired, or at once when its holder ran on this host and its process no longer exists (a
``kill -9`` is noticed by the next process without waiting out the expiry). Taking over a dead lease
is a compare-and-swap on its owner, so two processes racing for it cannot both win -- on SQLite and
PostgreSQL alike, with no table lock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.inserts import insert_ignoring_conflicts
from storage.models import CrawlRun, Lease
from storage.types import utcnow

if TYPE_CHECKING:
    from storage.db import Database

logger = logging.getLogger(__name__)

DEFAULT_TTL = 300.0  # seconds; a holder renews every TTL/4, so a lease outlives a slow renewal or two
HOSTNAME = socket.gethostname()[:253]
ABANDONED_NOTE = "abandoned: the process running it stopped without finishing it (killed or crashed)"


@dataclass(frozen=True)
class Holder:
    """Who holds (or wants) leases: one per crawl run or service, not per process."""

    owner: str
    hostname: str
    pid: int

    @classmethod
    def new(cls, purpose: str) -> "Holder":
        return cls(owner=f"{purpose}@{HOSTNAME}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[:200],
                   hostname=HOSTNAME, pid=os.getpid())


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    owner: str
    hostname: str
    pid: int
    run_id: int | None
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        run = f"run {self.run_id}, " if self.run_id else ""
        return f"{run}pid {self.pid} on {self.hostname} since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC"


def _info(lease: Lease) -> LeaseInfo:
    return LeaseInfo(lease.name, lease.owner, lease.hostname, lease.pid, lease.run_id, lease.acquired_at,
                     lease.expires_at)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def is_dead(lease: Lease | LeaseInfo, now: datetime | None = None) -> bool:
    """Expired, or held by a process of this host that no longer exists."""
    if lease.expires_at <= (now or utcnow()):
        return True
    return lease.hostname == HOSTNAME and not process_alive(lease.pid)


def acquire(session: Session, holder: Holder, names: Sequence[str], *, ttl: float = DEFAULT_TTL,
            run_id: int | None = None) -> tuple[list[str], dict[str, LeaseInfo]]:
    """Take every free (or dead) lease in ``names`` for ``holder``.

    Returns (names acquired, {name: current holder} for the busy ones). Leases already held by this
    holder count as acquired (and are renewed). Nothing is waited for.
    """
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    acquired: list[str] = []
    busy: dict[str, LeaseInfo] = {}
    for name in dict.fromkeys(names):
        row = {"name": name, "owner": holder.owner, "hostname": holder.hostname, "pid": holder.pid,
               "run_id": run_id, "acquired_at": now, "expires_at": expires}
        if insert_ignoring_conflicts(session, Lease, [row], ["name"]):
            acquired.append(name)
            continue
        current = session.scalars(select(Lease).where(Lease.name == name)).one_or_none()
        if current is None:  # released between our insert and our look: try once more
            if insert_ignoring_conflicts(session, Lease, [row], ["name"]):
                acquired.append(name)
            continue
        if current.owner == holder.owner or is_dead(current, now):
            previous = current.owner
            taken = session.execute(
                update(Lease).where(Lease.name == name, Lease.owner == previous)
                .values(owner=holder.owner, hostname=holder.hostname, pid=holder.pid, run_id=run_id,
                        acquired_at=now if previous != holder.owner else current.acquired_at, expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], taken).rowcount == 1:
                if previous != holder.owner:
                    logger.info("took over lease %s from %s (%s)", name, previous, "expired or its process is gone")
                acquired.append(name)
                continue
            session.expire(current)
            current = session.scalars(select(Lease).where(Lease.name == name)).one_or_none()
            if current is None:
                continue
        busy[name] = _info(current)
    return acquired, busy


def renew(session: Session, holder: Holder, *, ttl: float = DEFAULT_TTL) -> int:
    """Push back the expiry of every lease of ``holder``; returns how many it still holds."""
    result = session.execute(
        update(Lease).where(Lease.owner == holder.owner)
        .values(expires_at=utcnow() + timedelta(seconds=ttl))
        .execution_options(synchronize_session=False)
    )
    return max(cast(CursorResult[Any], result).rowcount, 0)


def release(session: Session, holder: Holder, names: Iterable[str] | None = None) -> int:
    """Give back leases of ``holder`` (all of them when ``names`` is None); returns how many."""
    statement = delete(Lease).where(Lease.owner == holder.owner)
    if names is not None:
        statement = statement.where(Lease.name.in_(list(names)))
    result = session.execute(statement.execution_options(synchronize_session=False))
    return max(cast(CursorResult[Any], result).rowcount, 0)


def list_leases(session: Session, prefix: str | None = None) -> list[LeaseInfo]:
    statement = select(Lease).order_by(Lease.name)
    if prefix:
        statement = statement.where(Lease.name.startswith(prefix, autoescape=True))
    return [_info(lease) for lease in session.scalars(statement)]


def reap_abandoned_runs(session: Session) -> list[int]:
    """Mark ``running`` crawl runs whose ``run:`` lease is missing or dead as ``interrupted``.

    Their dead leases (site leases included) are deleted. A run starts in the same transaction that
    takes its ``run:`` lease, so a run that is merely starting is never mistaken for an abandoned one.
    Returns the ids of the runs marked.
    """
    now = utcnow()
    reaped: list[int] = []
    for run in session.scalars(select(CrawlRun).where(CrawlRun.status == "running").order_by(CrawlRun.id)).all():
        lease = session.scalars(select(Lease).where(Lease.name == f"run:{run.id}")).one_or_none()
        if lease is not None and not is_dead(lease, now):
            continue
        # Compare-and-swap on the status: on PostgreSQL the run may have finished (and released its
        # lease) since it was read as running -- another worker's commit between our two reads.
        marked = session.execute(
            update(CrawlRun).where(CrawlRun.id == run.id, CrawlRun.status == "running")
            .values(status="interrupted", finished_at=now, errors=[*(run.errors or []), ABANDONED_NOTE])
            .execution_options(synchronize_session=False)
        )
        session.expire(run)
        if cast(CursorResult[Any], marked).rowcount != 1:
            continue
        if lease is not None:
            session.execute(delete(Lease).where(Lease.owner == lease.owner)
                            .execution_options(synchronize_session=False))
        reaped.append(run.id)
    # Other dead leases (a process killed outside any run) would only be taken over later; drop them now
    # -- each only if still as read (a lease taken over or renewed meanwhile is someone's live lease).
    for lease in session.scalars(select(Lease)).all():
        if is_dead(lease, now):
            session.execute(delete(Lease).where(Lease.name == lease.name, Lease.owner == lease.owner,
                                                Lease.expires_at == lease.expires_at)
                            .execution_options(synchronize_session=False))
    if reaped:
        logger.warning("crawl runs %s were abandoned by their process: marked interrupted", reaped)
    return reaped


class LeaseKeeper:
    """Renews a holder's leases from a daemon thread until stopped (context manager).

    A thread rather than a reactor timer: the blocking crawl (``run_crawl``) and the scheduler's
    in-loop crawls share it, and a renewal never waits behind the event loop. If the process dies the
    thread dies with it, which is exactly when the leases should lapse.
    """

    def __init__(self, db: "Database", holder: Holder, ttl: float = DEFAULT_TTL, interval: float | None = None):
        self.db = db
        self.holder = holder
        self.ttl = ttl
        self.interval = interval if interval is not None else max(ttl / 4, 0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-keeper {holder.owner}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.db.session() as session:
                    held = renew(session, self.holder, ttl=self.ttl)
                if held == 0:
                    logger.debug("lease keeper for %s: no leases held", self.holder.owner)
            except Exception:  # a failed renewal is retried at the next tick; the TTL covers a few misses
                logger.warning("could not renew leases of %s", self.holder.owner, exc_info=True)

    def start(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def __enter__(self) -> "LeaseKeeper":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
