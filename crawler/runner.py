"""Run one crawl: open a CrawlRun, plan the pages, run the spider, close the CrawlRun with its counts.

Two entry points share everything but the reactor handling:

* :func:`run_crawl` blocks (``CrawlerProcess``) -- for the CLI and system cron;
* :func:`crawl_in_reactor` returns a Deferred (``CrawlerRunner``) -- for a process that already runs a
  reactor, such as the scheduler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from scrapy.crawler import Crawler, CrawlerProcess, CrawlerRunner
from scrapy.settings import Settings
from twisted.internet.defer import Deferred

import storage
from crawler import runstats
from crawler.archive import Archive
from crawler.items import PagePlan
from crawler.spiders.captures import CapturesSpider

logger = logging.getLogger(__name__)


@dataclass
class CrawlResult:
    run_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def crawl_settings(db_url: str, archive: str | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("POLICYTRACK_DB", db_url, priority="cmdline")
    if archive:
        settings.set("POLICYTRACK_ARCHIVE", archive, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    Archive.parse(settings.get("POLICYTRACK_ARCHIVE"))  # fail early on a bad archive spec
    return settings


def prepare_run(db: storage.Database, settings: Settings, sites: Sequence[str] | None, trigger: str) -> tuple[int, list[PagePlan]]:
    """Open the CrawlRun row and read what is already known about each page."""
    with db.session() as session:
        pages = storage.pages_for(session, sites or None)
        run_id = storage.start_run(
            session, trigger=trigger, archive=settings.get("POLICYTRACK_ARCHIVE"), sites=list(sites) if sites else None
        )
        plans = []
        for page in pages:
            state = storage.fetch_state(session, page.page_id)
            plans.append(PagePlan(page.page_id, page.site, page.url, set(state.done_timestamps),
                                  set(state.done_digests), dict(state.contents)))
    settings.set("POLICYTRACK_RUN_ID", run_id, priority="cmdline")
    return run_id, plans


def finish_run(db: storage.Database, run_id: int, crawler: Crawler | None, failure: str | None = None,
               interrupted: bool = False) -> CrawlResult:
    counts = runstats.counts(crawler.stats) if crawler and crawler.stats else {}
    errors = runstats.errors(crawler.stats) if crawler and crawler.stats else []
    if failure:
        errors.append(failure)
    if interrupted:
        status = "interrupted"
    elif failure or counts.get("pages_failed") or counts.get("captures_failed"):
        # Malformed CDX rows and blocked pages are recorded in `errors` but do not fail the run:
        # they are outcomes to report, and a rerun would not change them.
        status = "failed"
    else:
        status = "succeeded"
    with db.session() as session:
        storage.finish_run(session, run_id, status=status, counts=counts, errors=errors)
    return CrawlResult(run_id, status, counts, errors)


def _close_reason(crawler: Crawler) -> str | None:
    return crawler.stats.get_value("finish_reason") if crawler.stats else None


def run_crawl(db_url: str, *, archive: str | None = None, sites: Sequence[str] | None = None,
              trigger: str = "manual", overrides: Mapping[str, Any] | None = None) -> CrawlResult:
    """Crawl (blocking) and return the recorded run. Starts and stops Twisted's reactor."""
    settings = crawl_settings(db_url, archive, overrides)
    db = storage.open_database(db_url)
    try:
        run_id, plans = prepare_run(db, settings, sites, trigger)
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(CapturesSpider)
        failure: str | None = None
        try:
            process.crawl(crawler, pages=plans)
            process.start()
        except Exception as exc:  # a crash of the crawl machinery itself: record it, keep stored data
            failure = f"crawl aborted: {exc}"
            logger.exception("crawl aborted")
        interrupted = _close_reason(crawler) == "shutdown"
        return finish_run(db, run_id, crawler, failure, interrupted)
    finally:
        db.dispose()


def crawl_in_reactor(runner: CrawlerRunner, db: storage.Database, *, sites: Sequence[str] | None = None,
                     trigger: str = "schedule") -> Deferred:
    """Crawl inside an already running reactor; the Deferred fires with the :class:`CrawlResult`."""
    settings = runner.settings.copy()
    run_id, plans = prepare_run(db, settings, sites, trigger)
    crawler = Crawler(CapturesSpider, settings)
    deferred = runner.crawl(crawler, pages=plans)

    def done(_: Any) -> CrawlResult:
        return finish_run(db, run_id, crawler, interrupted=_close_reason(crawler) == "shutdown")

    def failed(failure: Any) -> CrawlResult:
        return finish_run(db, run_id, crawler, failure=f"crawl aborted: {failure.getErrorMessage()}")

    deferred.addCallbacks(done, failed)
    return deferred
