"""What the scheduler keeps in the database: APScheduler's job store, and which schedule started which run.

The schedules themselves are APScheduler jobs in APScheduler's own table (:data:`JOBS_TABLE`), written
through its ``SQLAlchemyJobStore`` on policytrack's engine: one database holds everything, and a
restarted scheduler finds its schedule where it left it. That table belongs to APScheduler (it creates
it and pickles job state into it), so it has no model and Alembic leaves it alone
(:func:`is_scheduler_object`, used by ``storage/migrations/env.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.inserts import insert_ignoring_conflicts
from storage.models import CrawlRun, IssuedScheduleId, ScheduledRun

if TYPE_CHECKING:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from storage.db import Database

JOBS_TABLE = "apscheduler_jobs"
# Everything APScheduler creates for its table on any backend (PostgreSQL names the index after it).
_SCHEDULER_OBJECTS = frozenset({JOBS_TABLE, f"ix_{JOBS_TABLE}_next_run_time", f"{JOBS_TABLE}_pkey"})


def is_scheduler_object(name: str | None) -> bool:
    """Whether a schema object belongs to APScheduler's job store (not described by the models)."""
    return name in _SCHEDULER_OBJECTS


def job_store(db: "Database") -> "SQLAlchemyJobStore":
    """APScheduler's SQLAlchemy job store over policytrack's own engine (same database, same tuning)."""
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    class PolicytrackJobStore(SQLAlchemyJobStore):
        def update_job(self, job: Any) -> None:
            # `policytrack schedule remove` in another process can delete a job between APScheduler
            # reading it as due and writing its next run time: the removal wins, quietly.
            try:
                super().update_job(job)
            except JobLookupError:
                pass

    return PolicytrackJobStore(engine=db.engine, tablename=JOBS_TABLE)


# --- schedule ids -----------------------------------------------------------------------------------

_SCHEDULE_ID = re.compile(r"s(\d+)")


def issue_schedule_id(session: Session, in_use: Iterable[str] = ()) -> str:
    """A schedule id never issued before (``s1``, ``s2``, ...), recorded as issued.

    Ids are never reused: a new schedule must not inherit a removed one's runs (``runs --schedule``).
    ``in_use``: ids of existing jobs, for a job store written before ids were recorded.
    """
    issued = list(session.scalars(select(IssuedScheduleId.id))) + list(in_use)
    numbers = [int(m.group(1)) for sid in issued if (m := _SCHEDULE_ID.fullmatch(sid))]
    schedule_id = f"s{max(numbers, default=0) + 1}"
    session.add(IssuedScheduleId(id=schedule_id))
    session.flush()
    return schedule_id


# --- runs started by a schedule ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRunInfo:
    run_id: int
    schedule_id: str
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime | None
    status: str


def link_scheduled_run(session: Session, run_id: int, schedule_id: str, scheduled_for: datetime | None) -> None:
    """Record that ``schedule_id`` started run ``run_id`` for its fire time ``scheduled_for``."""
    insert_ignoring_conflicts(
        session, ScheduledRun, [{"run_id": run_id, "schedule_id": schedule_id, "scheduled_for": scheduled_for}],
        ["run_id"],
    )


def _run_infos(session: Session, statement: Any) -> list[ScheduleRunInfo]:
    return [
        ScheduleRunInfo(link.run_id, link.schedule_id, link.scheduled_for, run.started_at, run.finished_at, run.status)
        for link, run in session.execute(statement)
    ]


def schedule_runs(session: Session, schedule_id: str | None = None) -> list[ScheduleRunInfo]:
    """Runs started by schedules (one schedule's if given), oldest first."""
    statement = select(ScheduledRun, CrawlRun).join(CrawlRun, CrawlRun.id == ScheduledRun.run_id).order_by(
        ScheduledRun.run_id
    )
    if schedule_id is not None:
        statement = statement.where(ScheduledRun.schedule_id == schedule_id)
    return _run_infos(session, statement)


def last_schedule_runs(session: Session) -> dict[str, ScheduleRunInfo]:
    """The latest run of each schedule, by schedule id."""
    latest = (
        select(func.max(ScheduledRun.run_id)).group_by(ScheduledRun.schedule_id).scalar_subquery()
    )
    statement = (
        select(ScheduledRun, CrawlRun).join(CrawlRun, CrawlRun.id == ScheduledRun.run_id)
        .where(ScheduledRun.run_id.in_(latest))
    )
    return {info.schedule_id: info for info in _run_infos(session, statement)}


def schedules_of_runs(session: Session, run_ids: list[int]) -> dict[int, str]:
    """Which schedule started each of ``run_ids`` (runs started by hand are absent)."""
    if not run_ids:
        return {}
    return dict(session.execute(
        select(ScheduledRun.run_id, ScheduledRun.schedule_id).where(ScheduledRun.run_id.in_(run_ids))
    ).all())
