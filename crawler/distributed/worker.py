"""A long-running worker: pull a page, crawl it with the ordinary crawl loop, acknowledge it.

The Scrapy reactor lives for the whole process (Twisted's asyncio reactor, as in the scheduler): each
page is one :class:`crawler.runner.LoopCrawl` -- one recorded run, its site leased, its pages filtered
to the one page -- on a long-lived ``AsyncCrawlerRunner``; the reactor is never restarted. Blocking
Redis calls run in threads. While a page is being crawled its delivery is renewed every heartbeat, so
only a worker that stopped beating (killed, machine lost, hung) has its page redelivered.

Each run is recorded with trigger ``worker`` and the worker's name (HOST:PID); heartbeats say which pages
(and runs) a worker has in hand. Outages are waited out: a Redis restart (pulling, reporting and the
shared budget retry until it answers) and a database that does not answer (no page is taken until it
does; a run it cut short is recorded ``interrupted`` once it is back, and its page queued again uncounted).

SIGTERM/SIGINT: the worker takes no new page, stops its crawls gracefully (what was fetched is stored)
and gives their pages back to the queue; a second signal leaves at once (the pages then come back after
the visibility timeout).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any, Mapping

import redis

import storage
from core.errors import ConfigurationError
from crawler.distributed.queue import DEFAULT_VISIBILITY_SECONDS, Delivery, PageQueue, connect, worker_name

logger = logging.getLogger(__name__)

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
HEARTBEAT_SECONDS = 5.0
BUSY_SITE_DELAY_SECONDS = 1.0  # a page whose site another run holds goes back; wait before the next pull
STORE_RETRY_SECONDS = 2.0      # the database does not answer: ask again this often (no page is taken meanwhile)
RECORD_ATTEMPTS = 5            # tries to record a run whose end could not be written (then its lease lapses)


class Worker:
    def __init__(self, redis_url: str, db_url: str, *, archive: str | None = None,
                 overrides: Mapping[str, Any] | None = None, pages_at_once: int = 1,
                 visibility_seconds: float | None = None, max_attempts: int | None = None,
                 name: str | None = None):
        self.redis_url = redis_url
        self.db_url = db_url
        self.archive = archive
        self.overrides = dict(overrides or {})
        self.pages_at_once = pages_at_once
        self.queue_options = {k: v for k, v in (("visibility_seconds", visibility_seconds),
                                                 ("max_attempts", max_attempts)) if v is not None}
        self.name = name or worker_name()
        # Renew held pages well within the visibility timeout, so only a worker that stopped beating loses them.
        self.beat_seconds = min(HEARTBEAT_SECONDS, (visibility_seconds or DEFAULT_VISIBILITY_SECONDS) / 3)
        self.stopping = False
        self.crawls: dict[str, tuple[Delivery, Any]] = {}  # message id -> (its page, the LoopCrawl in flight)
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
        self.overrides["POLICYTRACK_NORMALIZER_KEEP"] = True  # one Node pool for all pages, not one per page
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
        logger.warning("worker %s: stopping (giving back %d page(s) in progress)", self.name, len(self.crawls))
        self.stopping = True
        for _, crawl in list(self.crawls.values()):
            asyncio.ensure_future(crawl.stop())

    async def _main(self) -> None:
        beat = asyncio.ensure_future(self._beat())
        try:
            await asyncio.gather(*(self._pull_loop() for _ in range(self.pages_at_once)))
        finally:
            beat.cancel()

    async def _beat(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self._beat_once)
            except Exception as exc:  # Redis away for a moment: the next beat tries again
                logger.warning("worker %s: heartbeat failed: %s", self.name, exc)
            await asyncio.sleep(self.beat_seconds)

    def _beat_once(self) -> None:
        crawling = [{"page_id": delivery.page_id, "site": delivery.site, "run_id": crawl.run_id}
                    for delivery, crawl in list(self.crawls.values())]
        self.queue.heartbeat(self.name, {"pages": len(crawling), "crawling": crawling,
                                         "done": self.done, "failed": self.failed})
        for message_id in list(self.crawls):
            self.queue.extend(message_id, self.name)

    async def _pull_loop(self) -> None:
        while not self.stopping:
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
                await self._tell(self.queue.give_back, delivery)
                return
            await self._crawl(delivery)

    async def _tell(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Report a page's outcome to the queue, waiting out a Redis restart: the page's run is already
        recorded, and a report lost for good would only mean the page is crawled again (idempotently)."""
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

    async def _crawl(self, delivery: Delivery) -> None:
        from crawler.runner import LoopCrawl

        crawl = LoopCrawl(self.runner, self.db, sites=[delivery.site], trigger="worker", page_ids=[delivery.page_id],
                          schedule=delivery.schedule)
        self.crawls[delivery.message_id] = (delivery, crawl)
        try:
            result = await crawl.run()
        except Exception as exc:  # the run could not be opened or closed: the store went away
            await self._crawl_not_recorded(delivery, crawl, exc)
            return
        finally:
            self.crawls.pop(delivery.message_id, None)
        if result.skipped_sites or result.status == "interrupted":
            # Another run holds the site, or this worker is stopping: not this page's fault.
            await self._tell(self.queue.give_back, delivery)
            if result.skipped_sites:
                await asyncio.sleep(BUSY_SITE_DELAY_SECONDS)
        elif result.status == "succeeded":
            self.done += 1
            await self._tell(self.queue.ack, delivery)
        else:
            error = result.errors[0] if result.errors else f"run {result.run_id} {result.status}"
            moved = await self._tell(self.queue.fail, delivery, f"run {result.run_id}: {error}",
                                     run_id=result.run_id, worker=self.name)
            if moved:
                self.failed += 1
            logger.warning("worker %s: page %d (%s) failed (run %d)%s", self.name, delivery.page_id,
                           delivery.url, result.run_id, ": moved to the failed set" if moved else "; queued again")

    async def _crawl_not_recorded(self, delivery: Delivery, crawl: Any, exc: Exception) -> None:
        """The page's run could not be opened, or not closed (a database error): once the database
        answers, record an opened run as interrupted, with what it counted and why, and queue the page
        again -- uncounted if the database was away (not the page's fault), as a failure otherwise."""
        from crawler import runstats
        from crawler.runner import finish_run

        why = runstats.describe(exc)
        logger.warning("worker %s: page %d (%s): run %s not recorded: %s", self.name, delivery.page_id,
                       delivery.url, crawl.run_id, why)
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
        if away or self.stopping:
            await self._tell(self.queue.give_back, delivery)
        else:
            await self._tell(self.queue.fail, delivery, f"not crawled: {why}", run_id=crawl.run_id, worker=self.name)


def _exit_code(task: asyncio.Future) -> int:
    if task.cancelled():
        return 1
    exc = task.exception()
    if exc is not None:
        logger.error("worker stopped by an error: %s", exc)
        return 1
    return 0
