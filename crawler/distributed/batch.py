"""One worker crawl: a run whose pages are pulled from the queue while it runs, each acknowledged alone.

Starting a Scrapy crawl and opening and closing its run cost more worker CPU than crawling a small page,
so a worker no longer runs one crawl per page: it runs one streamed :class:`crawler.runner.LoopCrawl` (one
``crawl_runs`` row) whose spider reads its pages from :meth:`Batch.pages` -- a generator the spider
advances in a thread when it has room, which pulls the next page from the queue, leases the page's site
for the run and reads the page's plan. The unit of work is still the page:

* a page is acknowledged as soon as the storage pipeline says it is stored (``page_stored``: its
  versions rebuilt), not when the crawl ends; a page with an error is failed alone (queued again, or
  moved to the failed set after ``max_attempts``) and the others of the run go on; the run itself, as
  every run, says ``failed`` if any page had an error;
* the worker never holds more pages than ``POLICYTRACK_PAGES_IN_FLIGHT`` (held: pulled and not yet
  reported): the generator waits for a page to be reported before pulling the next one, so the rest
  stay in the queue for other workers; every held page is renewed by the worker's heartbeat;
* the run ends when it has taken ``pages_per_run`` pages, when the queue is empty and it holds nothing,
  when the worker stops, or when the next page was queued by another schedule (a run links to one
  schedule fire): that page is carried over to the next run. Pages the run did not finish are then
  given back (stopped, or the database away) or failed with the run's error;
* a page tracked live is acknowledged after the run's live checks (they run when the crawl ends).

A page's site is leased when the page is taken and released when the run holds no other page of it; a
site another run holds sends the page back to the queue, uncounted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Iterator

import redis

import storage
from core.errors import UnknownSite
from crawler.distributed.queue import Delivery
from crawler.items import PagePlan
from crawler.pipelines import page_stored
from crawler.runner import CrawlResult, LoopCrawl, RunPlan, read_page_plan
from storage import leases
from storage.live import live_page_ids
from storage.sites import add_run_site

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.distributed.worker import Worker

logger = logging.getLogger(__name__)

CLAIM_WAIT_SECONDS = 1.0   # how long one pull waits for a page (the generator then checks for a stop)
STORE_RETRY_SECONDS = 2.0  # the database does not answer: no page is pulled; ask again this often
SOURCE_EXIT_SECONDS = 30.0  # the most a run's end waits for its page source to stop pulling
DEFAULT_PAGES_PER_RUN = 100


class Batch:
    """One streamed run of ``worker``, starting with the page ``first`` (pulled before the run opens,
    so an idle worker opens no run). ``await run()``; then ``carry`` is the page for the next run, if any."""

    def __init__(self, worker: "Worker", first: Delivery):
        self.worker = worker
        self.first: Delivery | None = first
        self.schedule = first.schedule
        self.carry: Delivery | None = None
        self.crawl = LoopCrawl(worker.runner, worker.db, trigger="worker", schedule=first.schedule,
                               page_source=self.pages)
        self.plan: RunPlan | None = None
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.room = threading.Condition()              # guards held, live, site_pages, taken
        self.lease_lock = threading.Lock()             # a site's lease is taken and released in turn
        self.held: dict[int, Delivery] = {}          # page id -> its delivery, until reported to the queue
        self.live: dict[int, Delivery] = {}          # stored live pages, acknowledged after the live checks
        self.site_pages: Counter[str] = Counter()    # held pages per leased site
        self.taken = 0
        self.reports: set[asyncio.Task] = set()
        # The spider's thread may still be pulling when the crawl ends: it is told (ended), and the run
        # settles only once it is out (idle), so that no page it pulled goes unreported.
        self.ended = False
        self.idle = threading.Event()
        self.idle.set()

    def deliveries(self) -> list[tuple[Delivery, int | None]]:
        """Every page this run holds until the queue has its report, with the run id (for the heartbeat,
        which must renew them all -- also while the run waits for the database to record it)."""
        with self.room:
            held = list(self.held.values())
            held += [d for d in (self.first, self.carry) if d is not None]
        return [(d, self.crawl.run_id) for d in held]

    def wake(self) -> None:
        """The worker is stopping: a generator waiting for room or for a page looks up now."""
        with self.room:
            self.room.notify_all()

    # --- the run ---------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            result = await self.crawl.run()
        except Exception as exc:  # the run could not be opened or closed: the store went away
            await self._end()
            await self._settle_reports()
            await self.worker.crawl_not_recorded(self.crawl, self._unreported(), exc)
            self._forget(self._unreported())
            return
        await self._end()
        await self._settle_reports()
        await self._settle(result)

    async def _end(self) -> None:
        self.ended = True
        self.wake()
        await asyncio.to_thread(self.idle.wait, SOURCE_EXIT_SECONDS)

    async def _settle_reports(self) -> None:
        while self.reports:
            await asyncio.gather(*list(self.reports), return_exceptions=True)

    def _unreported(self) -> list[Delivery]:
        """The pages the run still holds (they stay held, so renewed, until :meth:`_forget`)."""
        with self.room:
            return list(self.held.values()) + ([self.first] if self.first is not None else [])

    def _forget(self, deliveries: list[Delivery]) -> None:
        with self.room:
            for delivery in deliveries:
                if self.held.get(delivery.page_id) is delivery:
                    del self.held[delivery.page_id]
            if self.first in deliveries:
                self.first = None

    async def _settle(self, result: CrawlResult) -> None:
        """The crawl ended: its stored live pages are done once the live checks are; pages it never
        finished go back (stopped, database away) or fail with the run's error."""
        live_error = self.crawl.live.errors[0] if self.crawl.live is not None and self.crawl.live.errors else None
        for delivery in list(self.live.values()):
            if live_error is None and result.status != "interrupted":
                await self.worker.report_done(delivery)
            elif result.status == "interrupted":
                await self.worker.tell(self.worker.queue.give_back, delivery)
            else:
                await self.worker.report_failure(delivery, f"run {result.run_id}: {live_error}", result.run_id)
            self._forget([delivery])
        unfinished = self._unreported()
        if not unfinished:
            return
        away = await asyncio.to_thread(self.worker.db.unreachable) is not None
        for delivery in unfinished:
            if result.status == "interrupted" or away:
                await self.worker.tell(self.worker.queue.give_back, delivery)
            else:
                error = result.errors[0] if result.errors else f"run {result.run_id} {result.status}"
                await self.worker.report_failure(delivery, f"run {result.run_id}: {error}", result.run_id)
            self._forget([delivery])

    # --- the spider's pages (a generator advanced in a thread) -----------------------------------
    def pages(self, plan: RunPlan, crawler: "Crawler") -> Iterator[PagePlan]:
        """LoopCrawl's page source: the pages of this run, pulled from the queue as room frees."""
        self.plan = plan
        crawler.signals.connect(self._page_stored, signal=page_stored)
        while True:
            self.idle.clear()
            try:
                delivery = self._next_delivery()
                page = storage.PageRef(delivery.page_id, delivery.site, delivery.url) if delivery else None
                taken = self._take(plan, page, delivery) if page is not None and delivery is not None else None
            finally:
                self.idle.set()
            if delivery is None:
                return
            if taken is not None:
                yield taken

    def _next_delivery(self) -> Delivery | None:
        with self.room:
            first, self.first = self.first, None
            if first is not None:
                self.held[first.page_id] = first  # renewed all along
                return first
        worker = self.worker
        while not (worker.stopping or self.ended) and self.taken < worker.pages_per_run:
            with self.room:
                if len(self.held) >= worker.pages_in_flight:
                    self.room.wait(CLAIM_WAIT_SECONDS)
                    continue
                holding = bool(self.held)
            if worker.db.unreachable() is not None:  # a page taken now could not even be recorded
                time.sleep(STORE_RETRY_SECONDS)
                continue
            try:
                delivery = worker.queue.claim(worker.name, CLAIM_WAIT_SECONDS)
            except redis.RedisError as exc:  # Redis restarting: ask again
                logger.warning("worker %s: cannot read the queue: %s", worker.name, exc)
                time.sleep(CLAIM_WAIT_SECONDS)
                continue
            if delivery is None:
                if holding:
                    continue  # the queue is empty for now: keep the run open while it has pages
                return None
            if delivery.schedule != self.schedule or worker.stopping or self.ended:
                self.carry = delivery  # the next run's (another schedule's fire; given back on a stop)
                return None
            return delivery
        return None

    def _take(self, plan: RunPlan, page: storage.PageRef, delivery: Delivery) -> PagePlan | None:
        """Lease the page's site for the run and read its plan; None when it is not crawled in this run."""
        worker = self.worker
        with self.room:
            already = self.held.get(page.page_id)
            if already is None or already is delivery:
                self.held[page.page_id] = delivery
                self.taken += 1
        if already is not None and already is not delivery:
            # Handed out again while this run crawls it (its renewal came late): the same entry is ours
            # already; another entry of the same page goes back (it must not be crawled twice at once).
            logger.warning("worker %s: page %d delivered again while this run crawls it", worker.name, page.page_id)
            if already.message_id != delivery.message_id:
                self._report(delivery, worker.tell, worker.queue.give_back, delivery)
            return None
        lease = f"site:{page.site}"
        with self.lease_lock:
            with worker.db.session(immediate=True) as session:
                try:
                    tracked = page in storage.pages_for(session, [page.site])
                except UnknownSite:
                    tracked = False
                busy: dict[str, Any] = {}
                with self.room:
                    leased = bool(self.site_pages[page.site])
                if tracked and not leased:
                    _, busy = leases.acquire(session, plan.holder, [lease], ttl=plan.ttl, run_id=plan.run_id)
                    if not busy:
                        add_run_site(session, plan.run_id, page.site)
                crawled = tracked and not busy
                live = crawled and bool(live_page_ids(session, [page.page_id]))
                page_plan = read_page_plan(session, page) if crawled else None
            if tracked and not busy:
                with self.room:
                    self.site_pages[page.site] += 1
        if not tracked:  # removed since it was queued: nothing to crawl
            self._report(delivery, worker.report_done, delivery)
            return None
        if busy:
            logger.warning("worker %s: %s is being crawled by another run (%s): page %d goes back to the queue",
                           worker.name, page.site, busy[lease].describe(), page.page_id)
            self._report(delivery, worker.tell, worker.queue.give_back, delivery)
            time.sleep(worker.busy_site_delay)
            return None
        plan.pages.append(page)
        if live:
            plan.live_page_ids.add(page.page_id)
        return page_plan

    # --- reports (on the reactor's loop) ---------------------------------------------------------
    def _page_stored(self, page_id: int, error: str | None) -> None:
        """The pipeline stored page ``page_id`` (its versions are rebuilt): report it to the queue."""
        with self.room:
            delivery = self.held.get(page_id)
        if delivery is None:
            return
        with self.room:
            self.site_pages[delivery.site] -= 1
            last = self.site_pages[delivery.site] <= 0
        if last:
            self._track(asyncio.ensure_future(asyncio.to_thread(self._release_if_unused, delivery.site)))
        if error is None:
            if self.plan is not None and page_id in self.plan.live_page_ids:
                self.live[page_id] = delivery  # done once the live checks are
                return
            self._report(delivery, self.worker.report_done, delivery)
        else:
            self._report(delivery, self.worker.report_page_error, delivery,
                         f"run {self.crawl.run_id}: {error}", self.crawl.run_id)

    def _release_if_unused(self, site: str) -> None:
        """Give the site's lease back unless the run took another page of it meanwhile (in a thread)."""
        with self.lease_lock:
            with self.room:
                if self.site_pages[site] > 0 or self.plan is None:
                    return
                del self.site_pages[site]
            self.worker.release_lease(self.plan.holder, f"site:{site}")

    def _report(self, delivery: Delivery, call: Any, *args: Any) -> None:
        """Report ``delivery`` by ``await call(*args)`` (from any thread); it stops being held (and
        leaves room for the next page) once the queue has the report."""
        def start() -> None:
            async def report() -> None:
                try:
                    await call(*args)
                finally:
                    with self.room:
                        if self.held.get(delivery.page_id) is delivery:
                            del self.held[delivery.page_id]
                        self.room.notify_all()
            self._track(asyncio.ensure_future(report()))

        if threading.get_ident() == self.loop_thread:
            start()
        else:
            self.loop.call_soon_threadsafe(start)

    def _track(self, task: asyncio.Task) -> None:
        self.reports.add(task)
        task.add_done_callback(self.reports.discard)
