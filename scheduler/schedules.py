"""Schedules: recurring crawls kept as APScheduler jobs in the database, managed without a running scheduler.

``policytrack schedule add/list/remove`` read and write the job store directly (through a scheduler
object that is started paused and never runs anything), so a schedule can be set up before the
scheduler process starts and changed while it runs: the running process picks changes up at its next
poll (:class:`scheduler.service.SchedulerService`).

Every schedule runs :func:`scheduler.jobs.scheduled_crawl` with picklable keyword arguments, with
``coalesce`` (missed fire times run once), ``max_instances=1`` (a schedule never runs twice at once)
and a misfire grace time (a run missed by more than that is skipped, not made up).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

import storage
from core.errors import ConfigurationError
from storage.scheduling import issue_schedule_id, job_store, last_schedule_runs

JOB_FUNC = "scheduler.jobs:scheduled_crawl"
RECOVERY_SUFFIX = "-recovery"
DEFAULT_GRACE = 24 * 3600.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_DURATION_FULL = re.compile(r"(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+")
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_ID = re.compile(r"s(\d+)")


def parse_duration(text: str) -> float:
    """Seconds in ``1d``, ``12h``, ``90m``, ``30s``, ``1w``, ``1h30m`` (or a plain number of seconds)."""
    value = (text or "").strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        if not _DURATION_FULL.fullmatch(value):
            raise ConfigurationError(f"invalid duration {text!r}: use e.g. 30s, 15m, 12h, 1d, 1w or 1h30m") from None
        seconds = sum(float(number) * _UNITS[unit] for number, unit in _DURATION.findall(value))
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigurationError(f"invalid duration {text!r}: it must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds != int(seconds):
        return f"{seconds:g}s"
    left, parts = int(seconds), []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or f"{seconds:g}s"


@dataclass(frozen=True)
class ScheduleInfo:
    id: str
    sites: list[str] | None  # None: every tracked site (including sites added later)
    trigger: str  # human-readable: 'every 1d', 'cron 0 3 * * * (UTC)', 'once at ...'
    next_run_at: datetime | None
    grace_seconds: float | None
    last_run_id: int | None = None
    last_run_status: str | None = None
    last_run_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "sites": self.sites, "trigger": self.trigger,
            "next_run_at": self.next_run_at.isoformat() if self.next_run_at else None,
            "grace_seconds": self.grace_seconds, "last_run_id": self.last_run_id,
            "last_run_status": self.last_run_status,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
        }


class _StoreOnlyScheduler(BaseScheduler):
    """An APScheduler that is only ever started paused: it reads and writes jobs, runs none."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass


@contextmanager
def _store(db: storage.Database) -> Iterator[BaseScheduler]:
    scheduler = _StoreOnlyScheduler(timezone=timezone.utc)
    scheduler.add_jobstore(job_store(db), "default")
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        # The job store's shutdown disposes the engine's pool; the Database stays usable (it reconnects).
        scheduler.shutdown(wait=False)


def describe_trigger(trigger: Any) -> str:
    if isinstance(trigger, IntervalTrigger):
        return f"every {format_duration(trigger.interval.total_seconds())}"
    if isinstance(trigger, CronTrigger):
        fields = {f.name: str(f) for f in trigger.fields}
        expr = " ".join(fields[name] for name in ("minute", "hour", "day", "month", "day_of_week"))
        return f"cron {expr} ({trigger.timezone})"
    if isinstance(trigger, DateTrigger):
        return f"once at {trigger.run_date.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
    return str(trigger)


def make_trigger(*, every: str | None = None, cron: str | None = None, tz: str | None = None) -> Any:
    """An APScheduler trigger for ``--every DURATION`` or ``--cron 'MIN HOUR DAY MONTH WEEKDAY'``."""
    if (every is None) == (cron is None):
        raise ConfigurationError("give exactly one of --every DURATION or --cron 'MIN HOUR DAY MONTH WEEKDAY'")
    if every is not None:
        return IntervalTrigger(seconds=parse_duration(every), timezone=timezone.utc)
    try:
        return CronTrigger.from_crontab(cron, timezone=tz) if tz else CronTrigger.from_crontab(cron)
    except (ValueError, LookupError) as exc:
        raise ConfigurationError(f"invalid --cron {cron!r}: {exc} (expected 5 fields: MIN HOUR DAY MONTH WEEKDAY)") from None


def _next_id(db: storage.Database, scheduler: BaseScheduler) -> str:
    with db.session(immediate=True) as session:
        return issue_schedule_id(session, [job.id for job in scheduler.get_jobs()])


def _sites_label(sites: Sequence[str] | None) -> str:
    return ", ".join(sites) if sites else "all sites"


def add_schedule(db: storage.Database, sites: Sequence[str] | None, *, every: str | None = None,
                 cron: str | None = None, tz: str | None = None, grace: float = DEFAULT_GRACE,
                 run_now: bool = False) -> ScheduleInfo:
    """Add a schedule crawling ``sites`` (None: all sites). ``run_now``: first run at once."""
    trigger = make_trigger(every=every, cron=cron, tz=tz)
    hosts: list[str] | None = None
    if sites:
        with db.session() as session:  # unknown sites are refused now, not at 3 a.m.
            hosts = sorted({page.site for page in storage.pages_for(session, list(sites))})
    with _store(db) as scheduler:
        schedule_id = _next_id(db, scheduler)
        job = scheduler.add_job(
            JOB_FUNC, trigger, id=schedule_id, name=f"crawl {_sites_label(hosts)} {describe_trigger(trigger)}",
            kwargs={"schedule_id": schedule_id, "sites": hosts}, coalesce=True, max_instances=1,
            misfire_grace_time=int(grace), replace_existing=False,
            **({"next_run_time": datetime.now(timezone.utc)} if run_now else {}),
        )
        return _info(job)


def add_recovery(scheduler: BaseScheduler, schedule_id: str, sites: list[str] | None) -> None:
    """A one-off run, right away, of a schedule whose run was abandoned (the process was killed)."""
    scheduler.add_job(
        JOB_FUNC, DateTrigger(datetime.now(timezone.utc), timezone=timezone.utc), id=schedule_id + RECOVERY_SUFFIX,
        name=f"recover the abandoned run of {schedule_id}", kwargs={"schedule_id": schedule_id, "sites": sites},
        coalesce=True, max_instances=1, misfire_grace_time=None, replace_existing=True,
    )


def _info(job: Any, last: Any = None) -> ScheduleInfo:
    return ScheduleInfo(
        id=job.id, sites=job.kwargs.get("sites"), trigger=describe_trigger(job.trigger),
        next_run_at=job.next_run_time, grace_seconds=job.misfire_grace_time,
        last_run_id=last.run_id if last else None, last_run_status=last.status if last else None,
        last_run_at=last.started_at if last else None,
    )


def list_schedules(db: storage.Database) -> list[ScheduleInfo]:
    with _store(db) as scheduler:
        jobs = scheduler.get_jobs()
    with db.session() as session:
        last = last_schedule_runs(session)
    return sorted((_info(job, last.get(job.id)) for job in jobs), key=lambda s: _sort_key(s.id))


def _sort_key(schedule_id: str) -> tuple[int, str]:
    match = _ID.match(schedule_id)
    return (int(match.group(1)) if match else 1 << 30, schedule_id)


def remove_schedule(db: storage.Database, schedule_id: str) -> ScheduleInfo:
    """Remove a schedule (and any pending recovery run of it)."""
    with _store(db) as scheduler:
        job = scheduler.get_job(schedule_id)
        if job is None:
            raise ConfigurationError(f"no schedule with id {schedule_id!r}: see 'policytrack schedule list'")
        info = _info(job)
        scheduler.remove_job(schedule_id)
        if scheduler.get_job(schedule_id + RECOVERY_SUFFIX) is not None:
            scheduler.remove_job(schedule_id + RECOVERY_SUFFIX)
    return info


def grace_from(text: str | None) -> float:
    return DEFAULT_GRACE if text is None else parse_duration(text)
