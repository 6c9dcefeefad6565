"""The long-running scheduler process (``policytrack scheduler``).

One asyncio reactor for the process's whole life: Scrapy needs its asyncio reactor, that reactor *is*
an asyncio event loop, and APScheduler's ``AsyncIOScheduler`` runs on the same loop. Schedules fire as
coroutine jobs (:mod:`scheduler.jobs`) that await an in-loop crawl (:class:`crawler.runner.LoopCrawl`,
on Scrapy's ``AsyncCrawlerRunner``): no thread sits blocked per crawl, the reactor is never restarted,
and APScheduler counts a job as running until its crawl ends, so ``max_instances=1`` keeps a schedule
from overlapping itself. Crawls take turns within the process (SQLite has one writer; the archive's
rate limits are per process), and site leases keep crawls of other processes -- a cron
``policytrack crawl``, a scheduler on another host -- off a site while it is being crawled.

Start-up: take the ``scheduler`` lease (one scheduler per database), mark runs abandoned by a killed
process as ``interrupted``, queue a recovery run for each schedule whose last run was interrupted (by
this, a SIGTERM or a crash), then start
APScheduler over the persistent job store -- missed fire times of each schedule run once (coalesced)
if within its grace time.

Shutdown (SIGTERM or SIGINT): stop taking new work (APScheduler paused), stop the crawls in flight
gracefully (what was fetched is stored and versions rebuilt; the runs end ``interrupted``), wait for
them, release the lease, exit 0. A second signal abandons the in-flight crawls at once (exit 1); like
``kill -9``, that leaves their runs to the next start to mark interrupted and complete.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from datetime import datetime, timezone
from typing import Any, Mapping

import storage
from core.errors import ConfigurationError
from storage import leases
from storage.leases import Holder, LeaseKeeper
from storage.scheduling import job_store, last_schedule_runs

logger = logging.getLogger("policytrack.scheduler")

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DEFAULT_POLL_SECONDS = 10.0
# Seconds a graceful stop may take before the in-flight crawls are abandoned. Abandoning is clean: every
# write is its own transaction and the next start resumes the interrupted schedule (see run()).
STOP_TIMEOUT = 60.0

_current: "SchedulerService | None" = None


def current_service() -> "SchedulerService":
    if _current is None:
        raise RuntimeError("no scheduler service is running in this process")
    return _current


class SchedulerService:
    def __init__(self, db_url: str, *, archive: str | None = None, overrides: Mapping[str, Any] | None = None,
                 poll_seconds: float = DEFAULT_POLL_SECONDS, announce: bool = True, redis_url: str | None = None):
        self.db_url = db_url
        self.redis_url = redis_url  # set: schedules queue their pages for `policytrack worker`s instead
        self.queue: Any = None
        self.archive = archive
        self.overrides = dict(overrides or {})
        self.poll_seconds = poll_seconds
        self.announce_enabled = announce
        self.stopping = False
        self.exit_code = 0
        self.active: set[Any] = set()  # LoopCrawl objects in flight
        self.job_tasks: set[asyncio.Task[Any]] = set()
        self._announce_lock: asyncio.Lock | None = None
        self._crawl_lock: asyncio.Lock | None = None
        self._announcing: asyncio.Future[Any] | None = None
        # Set on shutdown: an announcement cycle in its worker thread gives up its retries and back-offs.
        self._stop_announcing = threading.Event()

    # --- process ---------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped by a signal; returns the process exit code."""
        global _current
        from scrapy.utils.reactor import install_reactor

        # First of all: importing parts of the crawler would install Twisted's default reactor.
        install_reactor(ASYNCIO_REACTOR)
        from scrapy.utils.log import configure_logging

        from crawler.runner import crawl_settings

        overrides = dict(self.overrides)
        if self.redis_url:  # its discovery runs spend the workers' shared politeness budget
            overrides["POLICYTRACK_REDIS_URL"] = self.redis_url
        settings = crawl_settings(self.db_url, self.archive, overrides)
        if settings["TWISTED_REACTOR"] != ASYNCIO_REACTOR:
            raise ConfigurationError(f"the scheduler runs on {ASYNCIO_REACTOR}; TWISTED_REACTOR cannot be changed")
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from scrapy.crawler import AsyncCrawlerRunner
        from twisted.internet import reactor

        from scheduler.jobs import CrawlExecutor

        configure_logging(settings)
        if self.redis_url:
            from crawler.distributed.queue import PageQueue, connect

            self.queue = PageQueue(connect(self.redis_url))  # unreachable: one clear line now
        self.settings = settings
        self.db = storage.open_database(self.db_url)
        self.holder = Holder.new("scheduler")
        self.ttl = settings.getfloat("POLICYTRACK_LEASE_TTL", leases.DEFAULT_TTL)
        with self.db.session(immediate=True) as session:
            _, busy = leases.acquire(session, self.holder, ["scheduler"], ttl=self.ttl)
            if not busy:
                leases.reap_abandoned_runs(session)
            # A schedule whose last run was cut short (SIGTERM, kill -9, a crash) is resumed right away.
            to_recover = {info.run_id: schedule_id for schedule_id, info in last_schedule_runs(session).items()
                          if info.status == "interrupted"}
        if busy:
            self.db.dispose()
            raise ConfigurationError(
                f"another scheduler is already running on this database ({busy['scheduler'].describe()})"
            )
        keeper = LeaseKeeper(self.db, self.holder, self.ttl).start()
        try:
            self.runner = AsyncCrawlerRunner(settings)
            reactor.suggestThreadPoolSize(settings.getint("REACTOR_THREADPOOL_MAXSIZE"))
            loop = asyncio.get_event_loop()
            self._announce_lock = asyncio.Lock()
            self._crawl_lock = asyncio.Lock()
            self.scheduler = AsyncIOScheduler(
                event_loop=loop, timezone=timezone.utc,
                jobstores={"default": job_store(self.db)}, executors={"default": CrawlExecutor()},
            )
            self.scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
            _current = self
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda n, _frame: reactor.callFromThread(self._on_signal, n))
            reactor.callWhenRunning(self._start, to_recover)
            reactor.run(installSignalHandlers=False)
        finally:
            _current = None
            keeper.stop()
            with self.db.session() as session:
                leases.release(session, self.holder)
            self.db.dispose()
        return self.exit_code

    def _start(self, to_recover: dict[int, str]) -> None:
        from twisted.internet.task import LoopingCall

        from scheduler.schedules import add_recovery

        self.scheduler.start()
        for run_id, schedule_id in sorted(to_recover.items()):
            job = self.scheduler.get_job(schedule_id)
            if job is not None:
                logger.warning("run %d of schedule %s was interrupted: resuming it now", run_id, schedule_id)
                add_recovery(self.scheduler, schedule_id, job.kwargs.get("sites"))
        self._poll = LoopingCall(self.scheduler.wakeup)  # picks up schedules added by other processes
        self._poll.start(self.poll_seconds, now=False)
        jobs = self.scheduler.get_jobs()
        logger.warning("scheduler started on %s: %d schedule(s)%s", self.db.display_url, len(jobs),
                       f", next run at {min(j.next_run_time for j in jobs if j.next_run_time):%Y-%m-%d %H:%M:%S %Z}"
                       if any(j.next_run_time for j in jobs) else "")
        if self.announce_enabled:
            asyncio.ensure_future(self._announce_leftovers())

    async def _announce_leftovers(self) -> None:
        """Whatever a previous process left unannounced; taking turns with crawls like any announce."""
        assert self._crawl_lock is not None
        async with self._crawl_lock:
            await self._after_run()

    def _on_event(self, event: Any) -> None:
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

        if event.code == EVENT_JOB_MISSED:
            logger.warning("schedule %s: run due at %s missed by more than its grace time; skipped",
                           event.job_id, event.scheduled_run_time)
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            logger.warning("schedule %s: still running, this fire time is skipped", event.job_id)

    # --- jobs ------------------------------------------------------------------------------------
    async def run_schedule(self, schedule_id: str, sites: list[str] | None, fire_time: datetime | None) -> int | None:
        """One run of a schedule: crawl, then announce. Returns the run id (None if nothing ran)."""
        from crawler.runner import LoopCrawl

        if self.stopping:
            return None
        assert self._crawl_lock is not None
        task = asyncio.current_task()
        if task is not None:
            self.job_tasks.add(task)
        try:
            # One crawl at a time in this process (a due schedule waits its turn, still counted as running
            # by APScheduler): SQLite has one writer, and the archive's rate limits are per process anyway,
            # so parallel crawls would contend for both without finishing sooner. Scrapy already
            # parallelizes within a crawl.
            async with self._crawl_lock:
                if self.stopping:
                    return None
                if self.queue is not None:
                    schedule = (schedule_id, fire_time or datetime.now(timezone.utc))
                    await self._discover(schedule_id, sites, schedule)
                    if self.stopping:
                        return None
                    await asyncio.get_running_loop().run_in_executor(None, self._enqueue, schedule, sites)
                    if self.announce_enabled and not self.stopping:
                        await self._after_run()  # what the workers' runs found since the last fire
                    return None
                crawl = LoopCrawl(self.runner, self.db, sites=sites, trigger="schedule",
                                  schedule=(schedule_id, fire_time or datetime.now(timezone.utc)))
                self.active.add(crawl)
                try:
                    result = await crawl.run()
                except Exception as exc:  # e.g. a site of the schedule was removed: say so, keep the schedule
                    logger.error("schedule %s: could not run: %s", schedule_id, exc)
                    return None
                finally:
                    self.active.discard(crawl)
                self._report(schedule_id, result)
                if self.announce_enabled and not self.stopping:
                    await self._after_run()  # before the next crawl starts writing
        finally:
            if task is not None:
                self.job_tasks.discard(task)
        return result.run_id

    async def _discover(self, schedule_id: str, sites: list[str] | None, schedule: tuple[str, datetime]) -> None:
        """Distributed: discover the schedule's sites tracked by discovery here first (one recorded run of
        the schedule, within the workers' shared budget), so that the pages found are queued too."""
        from crawler.runner import LoopCrawl
        from storage.discovery import discovery_targets

        def tracked_by_discovery() -> list[str]:
            with self.db.session() as session:
                return [target.site for target in discovery_targets(session, sites)]

        loop = asyncio.get_running_loop()
        try:
            to_discover = await loop.run_in_executor(None, tracked_by_discovery)
        except Exception as exc:  # the database away: the next fire time discovers them
            logger.error("schedule %s: could not list the sites to discover: %s", schedule_id, exc)
            return
        if not to_discover:
            return
        crawl = LoopCrawl(self.runner, self.db, sites=to_discover, trigger="schedule", schedule=schedule,
                          discover_only=True)
        self.active.add(crawl)
        try:
            result = await crawl.run()
        except Exception as exc:
            logger.error("schedule %s: could not run its discovery: %s", schedule_id, exc)
            return
        finally:
            self.active.discard(crawl)
        self._report(schedule_id, result)

    def _enqueue(self, schedule: tuple[str, datetime], sites: list[str] | None) -> None:
        """Distributed: queue the schedule's pages; each worker's run of a page records this fire, the one
        its discovery run records (``schedule``: id and fire time, taken once per fire)."""
        from crawler.distributed.queue import enqueue_sites

        schedule_id = schedule[0]
        try:
            added, total = enqueue_sites(self.queue, self.db, sites, schedule)
        except Exception as exc:  # Redis or the database away: the next fire time queues them
            logger.error("schedule %s: could not queue its pages: %s", schedule_id, exc)
            return
        logger.warning("schedule %s: queued %d page(s) for the workers%s", schedule_id, added,
                       f" ({total - added} already queued)" if total > added else "")

    def _report(self, schedule_id: str, result: Any) -> None:
        c = result.counts
        log = logger.warning if not result.ok else logger.info
        log("schedule %s: run %d %s: %d captures seen, %d fetched, %d new versions, %d new changes%s",
            schedule_id, result.run_id, result.status, c.get("captures_seen", 0), c.get("captures_fetched", 0),
            c.get("versions_new", 0), c.get("changes_new", 0),
            f"; first error: {result.errors[0]}" if result.errors else "")

    async def _after_run(self) -> None:
        """Announce new changes and rewrite feed files; one cycle at a time in this process."""
        from scheduler.announce import SendPolicy, announce_pending

        assert self._announce_lock is not None
        async with self._announce_lock:
            if self.stopping:
                return
            loop = asyncio.get_running_loop()
            policy = SendPolicy.until(self._stop_announcing)
            self._announcing = loop.run_in_executor(None, announce_pending, self.db, policy)
            try:
                report = await self._announcing
            except Exception:
                logger.exception("announcing changes failed")
                return
            finally:
                self._announcing = None
            if report.failed or report.errors:
                logger.warning("announcements: %s", report.describe())
            elif report.delivered:
                logger.info("announcements: %s", report.describe())

    # --- shutdown --------------------------------------------------------------------------------
    def _on_signal(self, signum: int) -> None:
        from twisted.internet import reactor

        name = signal.Signals(signum).name
        if self.stopping:
            logger.warning("%s again: abandoning %d crawl(s) in flight; the next start completes them",
                           name, len(self.active))
            self.exit_code = 1
            reactor.stop()
            return
        self.stopping = True
        logger.warning("%s: stopping -- no new runs; finishing %d crawl(s) in flight (send again to abandon them)",
                       name, len(self.active))
        asyncio.ensure_future(self._shutdown(name))

    def _log_stuck(self, tasks: Any) -> None:
        """Say where a crawl that would not stop is waiting, so the cause can be found from the log."""
        import io

        for task in tasks:
            stack = io.StringIO()
            task.print_stack(file=stack)
            logger.error("still waiting: %s", stack.getvalue())
        for crawl in self.active:
            crawler = getattr(crawl, "crawler", None)
            engine = getattr(crawler, "_engine", None)  # None until the crawl starts (Scrapy's own spelling)
            if engine is None:
                continue
            from scrapy.utils.engine import get_engine_status

            logger.error("engine of run %s: %s", crawl.run_id, get_engine_status(engine))
            board = getattr(crawler, "policytrack_results", None)
            logger.error("bisection waits pending: %s", board.pending if board else None)

    async def _shutdown(self, name: str = "SIGTERM") -> None:
        from twisted.internet import reactor

        try:
            self._stop_announcing.set()
            self.scheduler.pause()
            if self._poll.running:
                self._poll.stop()
            deadline = asyncio.get_running_loop().time() + STOP_TIMEOUT
            stops = [asyncio.ensure_future(crawl.stop()) for crawl in list(self.active)]
            pending = [*stops, *(t for t in (*self.job_tasks, *([self._announcing] if self._announcing else []))
                                 if not t.done())]
            if pending:
                _, still = await asyncio.wait(pending, timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
                if still:
                    # Whatever did not stop in time is abandoned cleanly: stored captures stay, the run is
                    # marked interrupted by the next start, which resumes its schedule.
                    logger.error("%d crawl task(s) did not stop within %.0f s: abandoning them; the next start "
                                 "completes their work", len(still), STOP_TIMEOUT)
                    self._log_stuck(still)
                    for crawl in list(self.active):
                        crawl.abandon(f"abandoned: did not stop within {STOP_TIMEOUT:.0f} s of {name}")
            self.scheduler.shutdown(wait=False)
        except Exception:
            logger.exception("error while stopping")
            self.exit_code = 1
        finally:
            logger.warning("scheduler stopped")
            reactor.callLater(0, reactor.stop)
