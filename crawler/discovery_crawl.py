"""The discovery crawl: run :class:`~crawler.spiders.discovery.DiscoverySpider` as a recorded run and
store what it found as policy periods (:class:`DiscoveryPipeline`).

A discovery is a crawl run like any other (``policytrack runs`` lists it, its errors are on it, a run with
errors is ``failed``); it leases the sites it discovers so that it never races a crawl of the same site.
The pages it finds are ordinary pages: the next ``policytrack crawl`` tracks each of them, and
``history`` stitches their versions by period (:mod:`storage.discovery`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

import storage
from crawler import runstats
from crawler.items import DiscoveredSite
from crawler.runner import CrawlProcess, CrawlResult, RunPlan, crawl_settings, cut_short, finish_run
from crawler.spiders.discovery import DiscoverySpider
from storage import leases
from storage.discovery import (
    DiscoveryTarget, PeriodFound, discovery_sites, mark_homepage_seen, record_policy_periods,
)
from storage.leases import Holder, LeaseKeeper

logger = logging.getLogger(__name__)


class DiscoveryPipeline:
    """Stores each complete :class:`DiscoveredSite` as the site's policy periods (replacing earlier ones)."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats
        self.db_url = crawler.settings.get("POLICYTRACK_DB")
        self.run_id = crawler.settings.getint("POLICYTRACK_RUN_ID") or None
        # An exception in the spider is an error of the run (the site it hit is left undiscovered).
        crawler.signals.connect(self._spider_error, signal=signals.spider_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "DiscoveryPipeline":
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.db = storage.open_database(self.db_url)

    def close_spider(self, spider: Spider | None = None) -> None:
        self.db.dispose()

    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, DiscoveredSite) and item.complete:
            await maybe_deferred_to_future(deferToThread(self._store, item))
        return item

    def _spider_error(self, failure: Failure, response: Any, spider: Spider) -> None:
        runstats.note_error(self.stats, f"discovery error on {getattr(response, 'url', '?')}: "
                                        f"{failure.type.__name__}: {failure.getErrorMessage()}")

    def _store(self, item: DiscoveredSite) -> None:
        found = [PeriodFound(p.url, p.valid_from, p.valid_until, p.found_on, p.cross_site)
                 for p in item.periods if p.url is not None and p.rejected is None]
        try:
            with self.db.session(immediate=True) as session:
                if item.unchanged:
                    mark_homepage_seen(session, item.site, item.seen_until)
                else:
                    record_policy_periods(session, item.site, found, self.run_id, since=item.since,
                                          seen_until=item.seen_until)
        except Exception as exc:
            runstats.note_error(self.stats, f"{item.site}: could not store its policy periods: {runstats.describe(exc)}")


@dataclass
class DiscoveryResult:
    run: CrawlResult
    sites: list[DiscoveredSite] = field(default_factory=list)


def run_discovery(db_url: str, *, archive: str | None = None, sites: Sequence[str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> DiscoveryResult:
    """Discover the policy periods of the named sites (all sites tracked by discovery if none), blocking."""
    settings = crawl_settings(db_url, archive, overrides)
    db = storage.open_database(db_url)
    try:
        holder = Holder.new("run")
        ttl = settings.getfloat("POLICYTRACK_LEASE_TTL", leases.DEFAULT_TTL)
        with db.session(immediate=True) as session:
            leases.reap_abandoned_runs(session)
            hosts = discovery_sites(session, sites or None)
            run_id = storage.start_run(session, archive=settings.get("POLICYTRACK_ARCHIVE"),
                                       sites=list(sites) if sites else None)
            _, busy = leases.acquire(session, holder, [f"run:{run_id}", *(f"site:{h}" for h in hosts)],
                                     ttl=ttl, run_id=run_id)
        skipped = {name.removeprefix("site:"): info.describe() for name, info in busy.items() if name.startswith("site:")}
        settings.set("POLICYTRACK_RUN_ID", run_id, priority="cmdline")
        plan = RunPlan(run_id, [], holder, set(), skipped, ttl)
        found: list[DiscoveredSite] = []
        crawler = None
        failure = None
        interrupted = False
        try:
            with LeaseKeeper(db, holder, ttl):
                process = CrawlProcess(settings)
                crawler = process.create_crawler(DiscoverySpider)
                crawler.signals.connect(lambda item, **_: found.append(item), signal=signals.item_scraped, weak=False)
                process.crawl(crawler, sites=[DiscoveryTarget(h, None) for h in hosts if h not in skipped])
                process.start()
                interrupted = cut_short(crawler)
        except Exception as exc:  # the crawl machinery itself failed: record it
            failure = f"discovery aborted: {exc}"
            logger.exception("discovery aborted")
        return DiscoveryResult(finish_run(db, plan, crawler, failure, interrupted), found)
    finally:
        db.dispose()
