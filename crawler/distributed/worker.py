"""A long-running worker: pull pages, crawl them with the ordinary crawl loop, acknowledge each one.

The Scrapy reactor lives for the whole process (Twisted's asyncio reactor, as in the scheduler). Pages
are crawled in streamed runs (:class:`crawler.distributed.batch.Batch`): one
:class:`crawler.runner.LoopCrawl` -- one recorded run -- on a long-lived ``AsyncCrawlerRunner`` keeps
pulling pages from the queue while it has room (``--pages`` in flight), and each page is acknowledged
as soon as it is stored; the reactor is never restarted. Blocking Redis calls run in threads. Every page
the worker holds is renewed every heartbeat, so only a worker that stopped beating (killed, machine lost,
hung) has its pages redelivered.

Each run is recorded with trigger ``worker`` and the worker's name (HOST:PID); heartbeats say which pages
(and runs) a worker has in hand. Outages are waited out: a Redis restart (pulling, reporting and the
shared budget retry until it answers) and a database that does not answer (no page is taken until it
does; a run it cut short is recorded ``interrupted`` once it is back, and its pages queued again uncounted).

SIGTERM/SIGINT: the worker takes no new page, stops its crawl gracefully (what was fetched is stored,
the pages stored by then acknowledged) and gives the other pages back to the queue; a second signal
leaves at once (the pages then come back after the visibility timeout).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

import redis

import storage
from core.errors import ConfigurationError
from crawler.distributed.queue import DEFAULT_VISIBILITY_SECONDS, Delivery, PageQueue, connect, worker_name
from storage import leases
from storage.leases import Holder

logger = logging.getLogger(__name__)

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
HEARTBEAT_SECONDS = 5.0
BUSY_SITE_DELAY_SECONDS = 1.0  # a page whose site another run holds goes back; wait before the next pull
STORE_RETRY_SECONDS = 2.0      # the database does not answer: ask again this often (no page is taken meanwhile)
RECORD_ATTEMPTS = 5            # tries to record a run whose end could not be written (then its lease lapses)


class Worker:
    def __init__(self, redis_url: str, db_url: str, *, archive: str | None = None,
                 overrides: Mapping[str, Any] | None = None, pages_at_once: int = 1,
                 pages_per_run: int | None = None, visibility_seconds: float | None = None,
                 max_attempts: int | None = None, name: str | None = None):
        from crawler.distributed.batch import DEFAULT_PAGES_PER_RUN

        self.redis_url = redis_url
        self.db_url = db_url
        self.archive = archive
        self.overrides = dict(overrides or {})
        self.pages_in_flight = pages_at_once
        self.pages_per_run = pages_per_run or DEFAULT_PAGES_PER_RUN
        self.busy_site_delay = BUSY_SITE_DELAY_SECONDS
        self.queue_options = {k: v for k, v in (("visibility_seconds", visibility_seconds),
                                                 ("max_attempts", max_attempts)) if v is not None}
        self.name = name or worker_name()
        # Renew held pages well within the visibility timeout, so only a worker that stopped beating loses them.
        self.beat_seconds = min(HEARTBEAT_SECONDS, (visibility_seconds or DEFAULT_VISIBILITY_SECONDS) / 3)
        self.stopping = False
        self.batch: Any = None  # the run in progress (crawler.distributed.batch.Batch)
        self.done = 0
        self.failed = 0

    # --- process ---------------------------------------------------------------------------------
    def run(self) -> int:
        """Work until stopped by a signal; returns the exit code."""
        from scrapy.utils.reactor import install_reactor

        install_reactor(ASYNCIO_REACTOR)  # first: importing parts of the crawler would install another
        from scrapy.crawler import AsyncCrawlerRunner
        from scrapy.utils.log import configure_logging
        from twisted.internet import reactor

        from crawler.runner import crawl_settings

        self.overrides["POLICYTRACK_REDIS_URL"] = self.redis_url
        self.overrides["POLICYTRACK_WORKER"] = self.name  # its runs name it (`runs`, trigger "worker")
        self.overrides["POLICYTRACK_NORMALIZER_KEEP"] = True  # one Node pool for all runs, not one per run
        self.overrides["POLICYTRACK_PAGES_IN_FLIGHT"] = self.pages_in_flight
        settings = crawl_settings(self.db_url, self.archive, self.overrides)
        if settings["TWISTED_REACTOR"] != ASYNCIO_REACTOR:
            raise ConfigurationError(f"a worker runs on {ASYNCIO_REACTOR}; TWISTED_REACTOR cannot be changed")
        self.queue = PageQueue(connect(self.redis_url), **self.queue_options)
        configure_logging(settings)
        self.db = storage.open_database(self.db_url)
        self.runner = AsyncCrawlerRunner(settings)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda n, _frame: reactor.callFromThread(self._on_signal))
        exit_code = [0]

        def start() -> None:
            task = asyncio.ensure_future(self._main())
            task.add_done_callback(lambda t: (exit_code.__setitem__(0, _exit_code(t)), reactor.stop()))

        reactor.callWhenRunning(start)
        try:
            reactor.run(installSignalHandlers=False)
        finally:
            from crawler.middlewares import NormalizerMiddleware

            NormalizerMiddleware.close_kept()
            self.queue.forget_worker(self.name)
            self.db.dispose()
        return exit_code[0]

    def _on_signal(self) -> None:
        from twisted.internet import reactor

        if self.stopping:  # a second signal: leave now
            logger.warning("worker %s: second signal, leaving at once", self.name)
            reactor.stop()
            return
        batch = self.batch
        held = len(batch.deliveries()) if batch is not None else 0
        logger.warning("worker %s: stopping (giving back %d page(s) in progress)", self.name, held)
        self.stopping = True
        if batch is not None:
            batch.wake()
            asyncio.ensure_future(batch.crawl.stop())

    async def _main(self) -> None:
        beat = asyncio.ensure_future(self._beat())
        try:
            await self._pull_loop()
        finally:
            beat.cancel()

    async def _beat(self) -> None:
        # Its own thread: the shared executor may be busy with database calls hanging on an outage, and
        # a late beat would let the visibility timeout hand this worker's pages to another worker.
        beats = ThreadPoolExecutor(1, thread_name_prefix="heartbeat")
        try:
            while True:
                try:
                    await asyncio.get_running_loop().run_in_executor(beats, self._beat_once)
                except Exception as exc:  # Redis away for a moment: the next beat tries again
                    logger.warning("worker %s: heartbeat failed: %s", self.name, exc)
                await asyncio.sleep(self.beat_seconds)
        finally:
            beats.shutdown(wait=False)

    def _beat_once(self) -> None:
        held = self.batch.deliveries() if self.batch is not None else []
        crawling = [{"page_id": delivery.page_id, "site": delivery.site, "run_id": run_id}
                    for delivery, run_id in held]
        self.queue.heartbeat(self.name, {"pages": len(crawling), "crawling": crawling,
                                         "done": self.done, "failed": self.failed})
        self.queue.extend([delivery.message_id for delivery, _ in held], self.name)

    async def _pull_loop(self) -> None:
        """Pull a page, then crawl it in a run that takes more pages while it has room (see batch)."""
        from crawler.distributed.batch import Batch

        carry: Delivery | None = None
        while not self.stopping:
            delivery, carry = carry, None
            if delivery is None:
                await self._wait_for_store()  # a page taken now could not even be recorded
                if self.stopping:
                    break
                try:
                    delivery = await asyncio.to_thread(self.queue.claim, self.name, 1.0)
                except Exception as exc:  # Redis restarting: wait and ask again
                    logger.warning("worker %s: cannot read the queue: %s", self.name, exc)
                    await asyncio.sleep(HEARTBEAT_SECONDS)
                    continue
                if delivery is None:
                    continue
            if self.stopping:
                await self.tell(self.queue.give_back, delivery)
                return
            batch = self.batch = Batch(self, delivery)
            try:
                await batch.run()
                # A run opening reaps the runs of dead workers; with long runs, so does each run's end.
                await asyncio.to_thread(self._reap_abandoned_runs)
            finally:
                carry, self.batch = batch.carry, None  # the carried page stays renewed until here
        if carry is not None:
            await self.tell(self.queue.give_back, carry)

    # --- reports (called by the batch) ---------------------------------------------------------------
    async def report_done(self, delivery: Delivery) -> None:
        self.done += 1
        await self.tell(self.queue.ack, delivery)

    async def report_page_error(self, delivery: Delivery, error: str, run_id: int | None) -> None:
        """A page stored with an error: failed -- unless the database is away (not the page's fault)."""
        if await asyncio.to_thread(self.db.unreachable) is not None:
            await self.tell(self.queue.give_back, delivery)
        else:
            await self.report_failure(delivery, error, run_id)

    async def report_failure(self, delivery: Delivery, error: str, run_id: int | None) -> None:
        """Queue the page again, or, past its attempts, move it to the failed set."""
        moved = await self.tell(self.queue.fail, delivery, error, run_id=run_id, worker=self.name)
        if moved:
            self.failed += 1
        logger.warning("worker %s: page %d (%s) failed (run %s)%s", self.name, delivery.page_id, delivery.url,
                       run_id, ": moved to the failed set" if moved else "; queued again")

    def release_lease(self, holder: Holder, name: str) -> None:
        """Give one lease of a run back (in a thread); if the database is away, the run's end or the
        lease's expiry releases it."""
        try:
            with self.db.session() as session:
                leases.release(session, holder, [name])
        except Exception as exc:
            logger.warning("worker %s: could not release %s yet: %s", self.name, name, exc)

    def _reap_abandoned_runs(self) -> None:
        try:
            with self.db.session(immediate=True) as session:
                leases.reap_abandoned_runs(session)
        except Exception as exc:  # the database is away: the next run's start reaps them
            logger.warning("worker %s: could not look for abandoned runs: %s", self.name, exc)

    async def tell(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Report a page's outcome to the queue, waiting out a Redis restart: what its crawl learned is
        already stored, and a report lost for good would only mean the page is crawled again (idempotently)."""
        while True:
            try:
                return await asyncio.to_thread(call, *args, **kwargs)
            except redis.RedisError as exc:
                logger.warning("worker %s: cannot reach the queue (%s): trying again", self.name, exc)
                await asyncio.sleep(self.beat_seconds)

    async def _wait_for_store(self) -> bool:
        """Wait while the database does not answer (a restart, a failover); True if it was away."""
        away = False
        while not self.stopping and (why := await asyncio.to_thread(self.db.unreachable)) is not None:
            if not away:
                logger.warning("worker %s: the database does not answer (%s): waiting", self.name, why)
            away = True
            await asyncio.sleep(STORE_RETRY_SECONDS)
        if away:
            logger.warning("worker %s: the database answers again", self.name)
        return away

    async def crawl_not_recorded(self, crawl: Any, deliveries: list[Delivery], exc: Exception) -> None:
        """A run could not be opened, or not closed (a database error): once the database answers,
        record an opened run as interrupted, with what it counted and why, and queue its unreported pages
        again -- uncounted if the database was away (not the pages' fault), as failures otherwise."""
        from crawler import runstats
        from crawler.runner import finish_run

        why = runstats.describe(exc)
        logger.warning("worker %s: run %s (%d page(s) unreported) not recorded: %s", self.name, crawl.run_id,
                       len(deliveries), why)
        away = await self._wait_for_store()
        for attempt in range(RECORD_ATTEMPTS if crawl.plan is not None else 0):
            try:
                await asyncio.to_thread(finish_run, self.db, crawl.plan, crawl.crawler,
                                        f"the run could not be recorded when it ended: {why}", True)
                break
            except Exception as again:  # the database went away again: wait once more
                logger.warning("worker %s: run %d still not recorded (%s)%s", self.name, crawl.run_id, again,
                               "" if attempt + 1 < RECORD_ATTEMPTS else ": left to the next run's reaping")
                await asyncio.sleep(STORE_RETRY_SECONDS)
                await self._wait_for_store()
        for delivery in deliveries:
            if away or self.stopping:
                await self.tell(self.queue.give_back, delivery)
            else:
                await self.report_failure(delivery, f"not crawled: {why}", crawl.run_id)


def _exit_code(task: asyncio.Future) -> int:
    if task.cancelled():
        return 1
    exc = task.exception()
    if exc is not None:
        logger.error("worker stopped by an error: %s", exc)
        return 1
    return 0
