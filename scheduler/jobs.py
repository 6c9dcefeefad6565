"""The job every schedule runs, and the executor that runs it on the reactor's event loop.

APScheduler persists a job as a reference to an importable function plus picklable arguments, so the
job is :func:`scheduled_crawl` with ``schedule_id`` and ``sites``; everything that cannot be pickled
(the reactor, the crawler runner, the database) belongs to the running
:class:`~scheduler.service.SchedulerService`, which the job looks up.

:class:`CrawlExecutor` is APScheduler's asyncio executor (coroutine jobs run as tasks on the loop, and
a job counts as running until its coroutine returns -- which is what makes ``max_instances=1`` mean
"never twice at once" for a crawl) plus one thing: it tells the job which fire time it runs for, so
each run records it (a coalesced run records the latest of the fire times it stands for).
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import run_coroutine_job
from apscheduler.util import iscoroutinefunction_partial

FIRE_TIME: ContextVar[datetime | None] = ContextVar("policytrack_fire_time", default=None)


async def scheduled_crawl(*, schedule_id: str, sites: list[str] | None = None) -> Any:
    """Crawl ``sites`` (None: all) for schedule ``schedule_id``, in the running scheduler process."""
    from scheduler.service import current_service

    return await current_service().run_schedule(schedule_id, sites, FIRE_TIME.get())


async def _run_with_fire_times(job: Any, jobstore_alias: str, run_times: list[datetime], logger_name: str) -> list[Any]:
    events: list[Any] = []
    for run_time in run_times:
        token = FIRE_TIME.set(run_time)
        try:
            events.extend(await run_coroutine_job(job, jobstore_alias, [run_time], logger_name))
        finally:
            FIRE_TIME.reset(token)
    return events


class CrawlExecutor(AsyncIOExecutor):
    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        if not iscoroutinefunction_partial(job.func):
            super()._do_submit_job(job, run_times)
            return

        def callback(future: Any) -> None:
            self._pending_futures.discard(future)
            try:
                events = future.result()
            except BaseException:
                self._run_job_error(job.id, *sys.exc_info()[1:])
            else:
                self._run_job_success(job.id, events)

        task = self._eventloop.create_task(
            _run_with_fire_times(job, job._jobstore_alias, run_times, self._logger.name)
        )
        task.add_done_callback(callback)
        self._pending_futures.add(task)
