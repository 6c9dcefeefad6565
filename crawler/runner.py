"""Run one crawl: open a CrawlRun, lease its sites, plan the pages, run the spider (and the live checks),
close the CrawlRun with its counts and give the leases back -- in one transaction.

Two entry points share everything but the reactor handling:

* :func:`run_crawl` blocks (``CrawlerProcess``) -- for the CLI and system cron;
* :class:`LoopCrawl` is awaited inside an already running asyncio reactor (``AsyncCrawlerRunner``) --
  for the scheduler, which runs many crawls in one process without ever restarting the reactor.

Sites are leased (:mod:`storage.leases`) for the length of the run: a site another process or job is
crawling right now is left out of this run (and said so in the run's notes) instead of being crawled
twice at once. The run's own ``run:ID`` lease is what lets the next process recognize it as abandoned
if this one is killed.

A run over sites tracked by discovery discovers first (:class:`~crawler.spiders.discovery.DiscoverySpider`,
incremental: only the homepage captures since the last discovery), then crawls the pages it knows -- the
ones just found included -- in the same run: both crawlers' errors are the run's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from scrapy.crawler import AsyncCrawlerRunner, Crawler, CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.python.failure import Failure

import storage
from core.errors import ConfigurationError
from crawler import runstats
from crawler.archive import Archive
from crawler.items import PagePlan
from crawler.spiders.captures import FAILED_REASON, CapturesSpider
from storage import leases
from storage.discovery import DiscoveryTarget, discovery_targets, policy_windows
from storage.leases import Holder, LeaseKeeper
from storage.live import live_page_ids
from storage.scheduling import link_scheduled_run

logger = logging.getLogger(__name__)

SKIPPED_PREFIX = "skipped "
# How often a stop requested while a crawl is starting checks whether its engine runs yet (stop_crawl).
STOP_POLL_SECONDS = 0.05


@dataclass
class CrawlResult:
    run_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    skipped_sites: dict[str, str] = field(default_factory=dict)  # hostname -> who is crawling it

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass
class RunPlan:
    """A started run: its id, the pages to crawl, the leases' holder, and what was left out.

    Only the pages' names are read up front; what the store knows about each page is read when the
    spider gets to it (:meth:`page_plans`), so a run over many pages does not hold all of it at once.
    """

    run_id: int
    pages: list[storage.PageRef]
    holder: Holder
    live_page_ids: set[int]
    skipped_sites: dict[str, str]
    ttl: float
    discovery: list[DiscoveryTarget] = field(default_factory=list)  # sites to discover before the crawl

    @property
    def live_plans(self) -> list[PagePlan]:
        return [PagePlan(p.page_id, p.site, p.url) for p in self.pages if p.page_id in self.live_page_ids]

    def page_plans(self, db: storage.Database) -> Iterator[PagePlan]:
        """Each page with what the store knows about it, read one page at a time (in the spider's thread)."""
        for page in self.pages:
            yield page_plan(db, page)


def page_plan(db: storage.Database, page: storage.PageRef) -> PagePlan:
    """What the store knows about ``page``: the spider's plan for it."""
    with db.session() as session:
        return read_page_plan(session, page)


def read_page_plan(session: Session, page: storage.PageRef) -> PagePlan:
    """:func:`page_plan` in an open session (a worker's run reads it with the page's lease)."""
    state = storage.fetch_state(session, page.page_id)
    windows = policy_windows(session, page.page_id)
    watermark = storage.listing_watermark(session, page.page_id)
    return PagePlan(page.page_id, page.site, page.url, set(state.done_timestamps),
                    set(state.done_digests), dict(state.contents), windows, watermark)


def crawl_settings(db_url: str, archive: str | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Scrapy settings of one crawl; a bad archive or setting value raises ConfigurationError now,
    before anything starts (see :func:`check_overrides` for unknown names)."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("POLICYTRACK_DB", db_url, priority="cmdline")
    if archive is not None:
        settings.set("POLICYTRACK_ARCHIVE", archive, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, _typed(settings, name, value), priority="cmdline")
    Archive.parse(settings.get("POLICYTRACK_ARCHIVE"))  # fail early on a bad archive spec
    for name in _POSITIVE:
        if not settings.getfloat(name) > 0:
            raise ConfigurationError(f"invalid setting {name}={settings.get(name)!r}: must be more than 0")
    workers = settings.get("POLICYTRACK_NORMALIZER_WORKERS")
    if workers is not None and not (str(workers).isdigit() and int(workers) >= 1):
        raise ConfigurationError(f"invalid number of normalizer workers {workers!r}: a whole number, at least 1")
    return settings


# Settings a crawl divides by or waits on: zero or negative would hang or crash it.
_POSITIVE = ("POLICYTRACK_CDX_RATE_PER_MINUTE", "POLICYTRACK_CAPTURE_RATE_PER_SECOND",
             "POLICYTRACK_NORMALIZER_TIMEOUT", "POLICYTRACK_PAGES_IN_FLIGHT", "CONCURRENT_REQUESTS")


def check_overrides(overrides: Mapping[str, Any]) -> list[str]:
    """Warnings for override names neither Scrapy nor policytrack knows (probably a typo)."""
    known = Settings()
    known.setmodule("crawler.settings", priority="project")
    return [f"unknown setting {name} (not a Scrapy or policytrack setting): it has no effect"
            for name in overrides if name not in known]


def _typed(settings: Settings, name: str, value: Any) -> Any:
    """``value`` (a string from the command line) as the type of the setting's default, or a clear error."""
    default = settings.get(name)
    if not isinstance(value, str) or default is None or isinstance(default, str):
        return value
    try:
        if isinstance(default, bool):
            return Settings({name: value}).getbool(name)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, (list, tuple, dict)):
            return value  # Scrapy parses these itself (comma lists, JSON)
    except ValueError:
        kind = "true or false" if isinstance(default, bool) else f"a number like {default!r}"
        raise ConfigurationError(f"invalid setting {name}={value!r}: expected {kind}") from None
    return value


def prepare_run(db: storage.Database, settings: Settings, sites: Sequence[str] | None, trigger: str,
                schedule: tuple[str, datetime | None] | None = None,
                page_ids: Collection[int] | None = None, discover_only: bool = False) -> RunPlan:
    """Open the CrawlRun row, lease its sites and list the pages to crawl (their plans are read later).

    ``page_ids``: only these pages of the sites; empty: none yet -- a streamed run, whose pages (and their
    sites' leases) are added while it runs (a distributed worker's batch). Without them, the sites
    tracked by discovery are leased too and planned for discovery first (``discovery``;
    :func:`run_crawl` and :class:`LoopCrawl` run it, then :func:`replan_pages`).

    ``discover_only``: only the sites tracked by discovery are leased and planned, and no page (the
    distributed mode discovers in one run, then queues the pages for the workers).

    One immediate transaction: abandoned runs are reaped, the run is created with its ``run:`` lease
    (and its schedule link), and the site leases are taken, all or nothing.
    """
    holder = Holder.new("run")
    ttl = settings.getfloat("POLICYTRACK_LEASE_TTL", leases.DEFAULT_TTL)
    with db.session(immediate=True) as session:
        leases.reap_abandoned_runs(session)
        streamed = page_ids is not None and not page_ids
        pages = [] if streamed or discover_only else storage.pages_for(session, sites or None)
        if page_ids is not None:
            pages = [page for page in pages if page.page_id in page_ids]
        targets = discovery_targets(session, sites or None) if page_ids is None else []
        run_id = storage.start_run(
            session, trigger=trigger, archive=settings.get("POLICYTRACK_ARCHIVE"), sites=list(sites) if sites else None,
            worker=settings.get("POLICYTRACK_WORKER"),
        )
        if schedule is not None:
            link_scheduled_run(session, run_id, *schedule)
        hosts = sorted({page.site for page in pages} | {target.site for target in targets})
        _, busy = leases.acquire(session, holder, [f"run:{run_id}", *(f"site:{h}" for h in hosts)],
                                 ttl=ttl, run_id=run_id)
        skipped = {name.removeprefix("site:"): info.describe() for name, info in busy.items() if name.startswith("site:")}
        pages = [page for page in pages if page.site not in skipped]
        live = live_page_ids(session, [page.page_id for page in pages])
    for host, holder_info in skipped.items():
        logger.warning("%s is being crawled by another run (%s): left out of run %d", host, holder_info, run_id)
    settings.set("POLICYTRACK_RUN_ID", run_id, priority="cmdline")
    return RunPlan(run_id, pages, holder, live, skipped, ttl, [t for t in targets if t.site not in skipped])


def replan_pages(db: storage.Database, plan: RunPlan, sites: Sequence[str] | None) -> None:
    """List the run's pages again after its discovery (which may have added pages to its leased sites)."""
    leased = {page.site for page in plan.pages} | {target.site for target in plan.discovery}
    with db.session() as session:
        pages = [page for page in storage.pages_for(session, sites or None) if page.site in leased]
        plan.pages = pages
        plan.live_page_ids = live_page_ids(session, [page.page_id for page in pages])


def finish_run(db: storage.Database, plan: RunPlan, crawler: Crawler | None, failure: str | None = None,
               interrupted: bool = False, live: Any = None, discovery: Crawler | None = None) -> CrawlResult:
    """Close the run with its counts and errors, and release its leases in the same transaction.

    ``live``: the outcome of the live checks (``crawler.live.LiveOutcome``), merged into the counts.
    ``discovery``: the run's discovery crawler, if it discovered first: its errors and notes come first.
    """
    counts = runstats.counts(crawler.stats) if crawler is not None and _has_stats(crawler) else {}
    errors = runstats.errors(crawler.stats) if crawler is not None and _has_stats(crawler) else []
    if discovery is not None and _has_stats(discovery):
        errors = runstats.errors(discovery.stats) + errors
        counts["errors_count"] = counts.get("errors_count", 0) + runstats.counts(discovery.stats)["errors_count"]
    if live is not None:
        for name, value in live.counts.items():
            counts[name] = counts.get(name, 0) + value
        errors.extend(live.errors)
        counts["errors_count"] = counts.get("errors_count", 0) + len(live.errors)
    if failure:
        errors.append(failure)
        counts["errors_count"] = counts.get("errors_count", 0) + 1
    status = run_status(counts, failure, interrupted)
    # Sites left out and blocked pages are notes, not errors: a rerun would not change them.
    notes = [f"{SKIPPED_PREFIX}{host}: being crawled by {who}" for host, who in plan.skipped_sites.items()]
    for ran in (discovery, crawler):
        if ran is not None and _has_stats(ran):
            notes.extend(runstats.notes(ran.stats))
    with db.session(immediate=True) as session:  # read-then-write: take SQLite's write lock up front
        storage.finish_run(session, plan.run_id, status=status, counts=counts, errors=errors + notes)
        leases.release(session, plan.holder)
    try:
        db.refresh_statistics()  # so that queries get the plans they were tuned with
    except Exception as exc:  # never worth failing a recorded run for: the next run tries again
        logger.warning("could not refresh the database's statistics: %s", runstats.describe(exc))
    return CrawlResult(plan.run_id, status, counts, errors, dict(plan.skipped_sites))


def run_status(counts: Mapping[str, int], failure: str | None, interrupted: bool) -> str:
    """``interrupted`` (stopped before the end), ``failed`` (any error at all: the pages whose history
    is not provisional are the complete ones), or ``succeeded`` (no error)."""
    if interrupted:
        return "interrupted"
    if failure or counts.get("errors_count") or counts.get("pages_failed") or counts.get("captures_failed"):
        return "failed"
    return "succeeded"


def _has_stats(crawler: Crawler) -> bool:
    try:
        return crawler.stats is not None
    except Exception:  # not created yet: the crawl failed before it started
        return False


def _close_reason(crawler: Crawler) -> str | None:
    return crawler.stats.get_value("finish_reason") if _has_stats(crawler) else None


def cut_short(crawler: Crawler) -> bool:
    """Did the crawl end before its spider finished? Stopped ("shutdown"), closed by a CLOSESPIDER_*
    limit, or never closed at all (a forced shutdown stops the reactor under it). A crawl the spider
    closed because it could not work at all (FAILED_REASON) ended: it failed, and says why."""
    return _close_reason(crawler) not in ("finished", FAILED_REASON)


async def stop_crawl(crawler: Crawler, finished: Callable[[], bool]) -> None:
    """Gracefully stop a crawl -- also one that is still starting.

    Scrapy's ``Crawler.stop_async()`` only stops an engine that already runs, yet it marks the crawler
    as no longer crawling either way. A stop that arrives while the engine is starting (spider opened,
    ``engine_started`` handlers running) therefore does nothing; when the spider later finishes, Scrapy
    sees the crawler "already stopped" and never stops the engine, so the crawl never ends. Waiting
    until the engine runs (or the crawl has ``finished()``) before asking closes that window.
    """
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    while not finished():
        engine = crawler._engine  # Scrapy's own way to read it before the crawl has started
        if engine is not None and engine.running:
            if crawler.crawling:
                await crawler.stop_async()
            return
        await maybe_deferred_to_future(deferLater(reactor, STOP_POLL_SECONDS, lambda: None))


class CrawlProcess(CrawlerProcess):
    """Scrapy's CrawlerProcess, with a graceful stop (first SIGINT/SIGTERM) that uses :func:`stop_crawl`.

    With Scrapy's own, a signal during start-up stopped the reactor under a crawl that had not stopped,
    and the run was recorded as if it had completed.
    """

    _graceful_stop: Deferred | None = None

    def stop(self) -> Deferred:
        if self._graceful_stop is not None:
            # Asked again: by the reactor's shutdown after the graceful stop, or after a second signal
            # (Scrapy's forced shutdown), which must not wait for the graceful stop a second time.
            return succeed(None)
        crawlers = list(self.crawlers)
        self._graceful_stop = DeferredList(
            [deferred_from_coro(stop_crawl(c, lambda c=c: c not in self.crawlers)) for c in crawlers])
        return self._graceful_stop


def _check_live(db: storage.Database, settings: Settings, plan: RunPlan) -> Any:
    from crawler.live import check_live  # imported only when a run has live checks

    return check_live(db, settings, plan.run_id, plan.live_plans)


def run_crawl(db_url: str, *, archive: str | None = None, sites: Sequence[str] | None = None,
              trigger: str = "manual", overrides: Mapping[str, Any] | None = None,
              watch: Callable[[Crawler, int], Any] | None = None, discover_only: bool = False) -> CrawlResult:
    """Crawl (blocking) and return the recorded run. Starts and stops Twisted's reactor.

    ``watch(crawler, pages)``, if given, is called once the crawler exists (e.g. to show progress).
    ``discover_only``: the run only discovers the sites tracked by discovery (see :func:`prepare_run`).
    """
    settings = crawl_settings(db_url, archive, overrides)
    db = storage.open_database(db_url)
    try:
        plan = prepare_run(db, settings, sites, trigger, discover_only=discover_only)
        crawler: Crawler | None = None
        discovery: Crawler | None = None
        failure: str | None = None
        live = None
        interrupted = False
        try:
            with LeaseKeeper(db, plan.holder, plan.ttl):
                process = CrawlProcess(settings)
                crashed: list[BaseException] = []

                def crawl_pages(discovered: Any = None) -> None:
                    nonlocal crawler
                    if isinstance(discovered, Failure):  # the discovery crawl itself crashed
                        crashed.append(discovered.value)
                        return
                    if discover_only:
                        return
                    try:
                        if discovery is not None:
                            if cut_short(discovery):
                                return
                            replan_pages(db, plan, sites)
                        crawler = process.create_crawler(CapturesSpider)
                        if watch is not None:
                            watch(crawler, len(plan.pages))
                        process.crawl(crawler, pages=plan.page_plans(db))
                    except Exception as exc:  # noqa: BLE001 -- raised again once the reactor stopped
                        crashed.append(exc)

                if plan.discovery:  # discover first, then crawl the pages found (one run, one reactor)
                    discovery = process.create_crawler(discovery_spider())
                    process.crawl(discovery, sites=plan.discovery).addBoth(crawl_pages)
                else:
                    crawl_pages()
                process.start()
                if crashed:
                    raise crashed[0]
                if process.bootstrap_failed:
                    raise RuntimeError("the crawler failed to start (see the log above)")
                ran = crawler if crawler is not None else discovery
                interrupted = ran is not None and cut_short(ran)
                if plan.live_page_ids and not interrupted:
                    live = _check_live(db, settings, plan)
        except Exception as exc:  # a crash of the crawl machinery itself: record it, keep stored data
            failure = f"crawl aborted: {exc}"
            logger.exception("crawl aborted")
        if discover_only:  # the discovery is the run: its counts are the run's
            return finish_run(db, plan, discovery, failure, interrupted)
        return finish_run(db, plan, crawler, failure, interrupted, live, discovery)
    finally:
        db.dispose()


def discovery_spider() -> type:
    """The discovery spider class (imported only by runs that discover: it loads the link scorer)."""
    from crawler.spiders.discovery import DiscoverySpider

    return DiscoverySpider


class LoopCrawl:
    """One crawl inside the running asyncio reactor; ``await run()`` gives the :class:`CrawlResult`.

    :meth:`stop` asks it to end early (graceful: in-flight captures are stored, versions rebuilt for
    what was processed, the run recorded as ``interrupted``). Blocking work -- the live checks --
    runs in a worker thread; the few short database transactions run on the loop.

    ``page_source(plan, crawler)``: a streamed run (a distributed worker's batch) -- the run opens with
    no page, and the spider crawls what the source yields (read lazily, in a thread), not the sites' pages.
    """

    def __init__(self, runner: AsyncCrawlerRunner, db: storage.Database, *, sites: Sequence[str] | None = None,
                 trigger: str = "schedule", schedule: tuple[str, datetime | None] | None = None,
                 page_ids: Collection[int] | None = None, discover_only: bool = False,
                 page_source: Callable[[RunPlan, Crawler], Iterable[PagePlan]] | None = None):
        self.runner = runner
        self.db = db
        self.sites = list(sites) if sites else None
        self.page_ids = set(page_ids) if page_ids is not None else set() if page_source is not None else None
        self.page_source = page_source
        self.discover_only = discover_only  # see prepare_run
        self.trigger = trigger
        self.schedule = schedule
        self.crawler: Crawler | None = None
        self.discovery: Crawler | None = None   # the run's discovery crawler, if it discovers first
        self._running: Crawler | None = None
        self.run_id: int | None = None
        self.plan: RunPlan | None = None
        self.live: Any = None  # the live checks' outcome (crawler.live.LiveOutcome), once they ran
        self.stopping = False
        self.closed = False
        self._crawl_task: asyncio.Future[Any] | None = None

    async def run(self) -> CrawlResult:
        settings = self.runner.settings.copy()
        plan = prepare_run(self.db, settings, self.sites, self.trigger, self.schedule, self.page_ids,
                           discover_only=self.discover_only)
        self.run_id, self.plan = plan.run_id, plan
        failure: str | None = None
        live = None
        cancelled = False
        keeper = LeaseKeeper(self.db, plan.holder, plan.ttl).start()
        try:
            if not self.stopping and plan.discovery:  # discover first, then crawl the pages found
                self.discovery = self._running = Crawler(discovery_spider(), settings)
                self._crawl_task = self.runner.crawl(self.discovery, sites=plan.discovery)
                await self._crawl_task
                if self.discovery.spider is None:
                    raise RuntimeError("the discovery crawler failed to start (see the log)")
                if not self._interrupted() and not self.discover_only:
                    replan_pages(self.db, plan, self.sites)
            if not self._interrupted() and not self.discover_only:
                self.crawler = self._running = Crawler(CapturesSpider, settings)
                pages = (self.page_source(plan, self.crawler) if self.page_source is not None
                         else plan.page_plans(self.db))
                self._crawl_task = self.runner.crawl(self.crawler, pages=pages)  # an asyncio Task
                await self._crawl_task
                if self.crawler.spider is None:
                    raise RuntimeError("the crawler failed to start (see the log)")
            if plan.live_page_ids and not self._interrupted():
                live = self.live = await asyncio.get_running_loop().run_in_executor(
                    None, _check_live, self.db, settings, plan)
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:  # recorded on the run; the scheduler goes on
            failure = f"crawl aborted: {exc}"
            logger.exception("crawl of run %d aborted", plan.run_id)
        finally:
            keeper.stop()
            if self.closed:  # abandoned meanwhile: already recorded
                return CrawlResult(plan.run_id, "interrupted")
            self.closed = True
            # A crawl that failed to start was not interrupted: it failed (and says why).
            interrupted = cancelled or self.stopping or (failure is None and self._interrupted())
            if self.discover_only:  # the discovery is the run: its counts are the run's
                result = finish_run(self.db, plan, self.discovery, failure, interrupted)
            else:
                result = finish_run(self.db, plan, self.crawler, failure, interrupted, live, self.discovery)
        return result

    def abandon(self, why: str) -> None:
        """Record the run as interrupted now, with what it counted so far, and give its leases back.

        For a crawl that would not stop in time: every write it made is its own transaction, so the
        next run simply completes the work.
        """
        if self.plan is None or self.closed:
            return
        self.closed = True
        finish_run(self.db, self.plan, self.crawler, failure=why, interrupted=True, discovery=self.discovery)

    def _interrupted(self) -> bool:
        return self.stopping or (self._running is not None and cut_short(self._running))

    async def stop(self) -> None:
        """Stop taking new captures; returns once the crawler is stopping (run() then finishes)."""
        self.stopping = True
        task = self._crawl_task
        if task is not None and self._running is not None:  # else no crawl started: run() checks `stopping`
            await stop_crawl(self._running, task.done)
