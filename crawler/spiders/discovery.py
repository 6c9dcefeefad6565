"""The discovery spider: from a domain to its privacy page per period, with as few archive requests as possible.

Per site: one CDX listing of the homepage (one row per distinct payload), then homepage captures fetched
bisection-like (:mod:`crawler.bisect`): the first and the last, then the middle of a gap only where the
link discovered at its two ends differs -- so a 20-year history with k moves costs about
(k + 1) * ceil(log2(captures)) homepage fetches, not one per half-year. Each homepage is judged with
:func:`crawler.discovery.discover`; each period's winner is fetched once (the capture nearest the homepage
capture it was found on) and kept only if :func:`crawler.discovery.policycheck.check_page` accepts it.
Redirects are followed as the captures spider follows them (:func:`crawler.replay.redirect_of`): the
archive's own (to the nearest capture) and the site's (``example.com`` → ``www.example.com/``), bounded by
``POLICYTRACK_MAX_REDIRECTS``.

Incremental (a crawl's discovery, :class:`~storage.discovery.DiscoveryTarget` with ``seen_until``): the
listing starts at the newest homepage capture the last discovery read (CDX ``from``, one request). No new
payload since then: nothing is fetched and the stored periods stand. Otherwise only that tail is bisected
(its first capture -- the last one read before -- included, so a link unchanged costs two homepage
fetches), and the pipeline appends the tail's periods to the stored ones
(:func:`storage.discovery.record_policy_periods` with ``since``).

Thin by design: it decides what to request and yields one :class:`~crawler.items.DiscoveredSite` per
site; :class:`crawler.discovery_crawl.DiscoveryPipeline` stores it as policy periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable, Iterator

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import runstats
from crawler.archive import Archive
from crawler.bisect import NO_TEXT, Bisection
from crawler.cdx import CdxRecord, parse_cdx, unique_records
from crawler.discovery import Discovery, discover, format_explanation, link_key
from crawler.discovery.policycheck import check_page
from crawler.items import DiscoveredPeriod, DiscoveredSite
from crawler.replay import memento_timestamp, redirect_of, replayed_original, seconds_apart
from storage.discovery import DiscoveryTarget

NO_LINK = "no privacy link"   # what bisection compares for a homepage without one (NO_TEXT: no homepage)


@dataclass
class _Site:
    """One site being discovered."""

    site: str
    since: str | None = None       # list only the homepage captures from here on (None: the whole history)
    seen_until: str | None = None  # the newest homepage capture listed
    records: dict[str, CdxRecord] = field(default_factory=dict)
    planner: Bisection | None = None
    found: dict[str, Discovery] = field(default_factory=dict)   # homepage timestamp -> its discovery
    pending: int = 0
    periods: list[DiscoveredPeriod] = field(default_factory=list)
    complete: bool = True
    cdx_requests: int = 0
    homepage_fetches: int = 0
    policy_fetches: int = 0


class DiscoverySpider(scrapy.Spider):
    name = "discovery"
    # Its items are policy periods, stored by their own pipeline -- also inside a crawl run (crawler.runner).
    custom_settings = {"ITEM_PIPELINES": {"crawler.discovery_crawl.DiscoveryPipeline": 300}}

    def __init__(self, sites: Iterable[str | DiscoveryTarget] | None = None, **kwargs: Any):
        """``sites``: hostnames (their whole homepage history is read) or :class:`DiscoveryTarget` objects
        (from where their history was last read: a crawl's incremental discovery)."""
        super().__init__(**kwargs)
        self.sites = [s if isinstance(s, DiscoveryTarget) else DiscoveryTarget(s, None) for s in sites or []]

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "DiscoverySpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.archive = Archive.parse(crawler.settings.get("POLICYTRACK_ARCHIVE"))
        spider.max_redirects = crawler.settings.getint("POLICYTRACK_MAX_REDIRECTS")
        spider.redirect_window = crawler.settings.getint("POLICYTRACK_REDIRECT_WINDOW")
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for target in self.sites:
            yield self._cdx_request(_Site(target.site, target.seen_until))

    # --- bookkeeping -------------------------------------------------------------------------------
    def _error(self, site: _Site, message: str) -> None:
        site.complete = False
        runstats.note_error(self.crawler.stats, f"{site.site}: {message}")
        self.logger.error("%s: %s", site.site, message)

    def _request(self, site: _Site, url: str, callback, kind: str, **cb_kwargs: Any) -> scrapy.Request:
        runstats.inc(self.crawler.stats, f"discovery_{kind}")
        setattr(site, kind, getattr(site, kind) + 1)
        return scrapy.Request(url, callback=callback, errback=self.failed, cb_kwargs={"site": site, **cb_kwargs},
                              meta={"policytrack_endpoint": "cdx" if kind == "cdx_requests" else "capture",
                                    "handle_httpstatus_all": True, "dont_redirect": True},
                              dont_filter=True)

    def failed(self, failure: Failure) -> Iterator[Any]:
        site: _Site = failure.request.cb_kwargs["site"]
        self._error(site, f"archive unreachable for {failure.request.url}: {failure.getErrorMessage()[:200]}")
        if "timestamp" in failure.request.cb_kwargs and site.planner is not None:
            site.pending -= 1
            site.planner.record(failure.request.cb_kwargs["timestamp"], None)
            yield from self._next(site)
        elif "period" in failure.request.cb_kwargs:
            site.pending -= 1
            yield from self._next(site)
        else:
            yield self._result(site)

    # --- the homepage's listing --------------------------------------------------------------------
    def _cdx_request(self, site: _Site, resume_key: str | None = None) -> scrapy.Request:
        return self._request(site, self.archive.homepage_cdx_url(f"{site.site}/", resume_key, site.since),
                             self.parse_cdx, "cdx_requests")

    def parse_cdx(self, response: Response, site: _Site) -> Iterator[Any]:
        if response.status != 200:
            self._error(site, f"CDX query failed with HTTP {response.status} ({response.url})")
            yield self._result(site)
            return
        listing = parse_cdx(response.body)
        for error in listing.errors:
            self._error(site, str(error))
        site.records.update((r.timestamp, r) for r in listing.records if r.status is None or r.status < 400)
        if listing.resume_key:
            yield self._cdx_request(site, listing.resume_key)
            return
        records = _distinct_payloads(unique_records(site.records.values()))
        site.seen_until = max(site.records, default=site.since)
        site.records = {r.timestamp: r for r in records}
        if site.since is not None and all(ts <= site.since for ts in site.records):
            # No new payload since the last discovery: its periods stand (one CDX request spent).
            yield self._result(site, unchanged=True)
            return
        if not records:
            runstats.note(self.crawler.stats, f"{site.site}: the archive has no capture of its homepage")
            yield self._result(site)
            return
        site.planner = Bisection(list(site.records),
                                 digests={r.timestamp: r.digest for r in records if not r.is_redirect})
        yield from self._next(site)

    # --- homepages, bisected -----------------------------------------------------------------------
    def _next(self, site: _Site) -> Iterator[Any]:
        assert site.planner is not None
        if site.pending:
            return
        if not site.planner.done:
            for timestamp in site.planner.next_batch():
                record = site.records[timestamp]
                site.pending += 1
                yield self._homepage_request(site, timestamp, record.original_url, timestamp, hops=0)
            if site.pending:
                return
        if not site.periods:
            site.periods = self._periods(site)
            for period in site.periods:
                if period.url is not None:
                    site.pending += 1
                    yield self._request(site, self.archive.capture_url(period.found_on, period.url),
                                        self.parse_policy, "policy_fetches", period=period, hops=0)
            if site.pending:
                return
        yield self._result(site)

    def _homepage_request(self, site: _Site, timestamp: str, url: str, at: str, hops: int) -> scrapy.Request:
        return self._request(site, self.archive.capture_url(at, url), self.parse_homepage, "homepage_fetches",
                             timestamp=timestamp, current=url, hops=hops)

    def parse_homepage(self, response: Response, site: _Site, timestamp: str, current: str, hops: int) -> Iterator[Any]:
        target = self._redirect(response, current)
        if target is not None:
            if hops >= self.max_redirects:
                site.pending -= 1
                site.planner.record(timestamp, NO_TEXT)
                runstats.note(self.crawler.stats, f"{site.site}: homepage {timestamp}: too many redirects")
            else:
                yield self._homepage_request(site, timestamp, target[1], target[0], hops + 1)
                return
        elif response.status >= 400 or memento_timestamp(response) is None:
            site.pending -= 1
            if memento_timestamp(response) is None:
                self._error(site, f"homepage {timestamp}: the archive answered HTTP {response.status}")
                site.planner.record(timestamp, None)
            else:
                site.planner.record(timestamp, NO_TEXT)    # an archived error page: no homepage that day
        elif hops and seconds_apart(memento_timestamp(response), timestamp) > self.redirect_window:
            # The site's redirect led to a capture of its target that may be years away: not that day's homepage.
            site.pending -= 1
            site.planner.record(timestamp, NO_TEXT)
        else:
            site.pending -= 1
            page_url = replayed_original(response) or current
            found = discover(response.body, page_url, response.headers.get("Content-Type", b"").decode("latin-1"))
            site.found[timestamp] = found
            site.planner.record(timestamp, _content(found))
        yield from self._next(site)

    def _redirect(self, response: Response, url: str) -> tuple[str, str] | None:
        """(timestamp, URL) to fetch next when ``response`` is the archive's or an archived redirect."""
        redirect = redirect_of(response, url, self.archive)
        return (redirect.timestamp, redirect.url) if redirect is not None and redirect.url is not None else None

    def _periods(self, site: _Site) -> list[DiscoveredPeriod]:
        """Runs of homepage captures with the same discovered link, from fetched and inferred results."""
        planner = site.planner
        runs: list[tuple[str, str, str]] = []   # (first timestamp, content, fetched timestamp)
        for timestamp in planner.timestamps:
            content = planner.content.get(timestamp) or planner.inferred.get(timestamp) or NO_TEXT
            if content == NO_TEXT:
                continue   # no homepage (error page, failed): transparent
            if runs and runs[-1][1] == content:
                if runs[-1][2] not in site.found and timestamp in site.found:
                    runs[-1] = (runs[-1][0], content, timestamp)
                continue
            runs.append((timestamp, content, timestamp))
        periods = []
        for i, (start, content, fetched) in enumerate(runs):
            # A run may hold no fetched capture when it repeats an earlier payload (A, B, A): use that one's.
            found = site.found.get(fetched) or next(d for d in site.found.values() if _content(d) == content)
            until = runs[i + 1][0] if i + 1 < len(runs) else None
            periods.append(DiscoveredPeriod(start, until, fetched, found.url, found.cross_site,
                                            format_explanation(found)))
        return periods

    # --- the policy check --------------------------------------------------------------------------
    def parse_policy(self, response: Response, site: _Site, period: DiscoveredPeriod, hops: int) -> Iterator[Any]:
        target = self._redirect(response, period.url)
        if target is not None and hops < self.max_redirects:
            yield self._request(site, self.archive.capture_url(*target), self.parse_policy, "policy_fetches",
                                period=period, hops=hops + 1)
            return
        site.pending -= 1
        if target is not None:
            period.rejected = "too many redirects"
        elif memento_timestamp(response) is None and response.status == 404:
            period.rejected = "the archive holds no capture of it"
        elif memento_timestamp(response) is None:
            self._error(site, f"policy page {period.url}: the archive answered HTTP {response.status}")
        elif response.status >= 400:
            period.rejected = f"the archive holds it as HTTP {response.status}"
        else:
            verdict = check_page(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
            if not verdict.is_policy:
                period.rejected = verdict.reason
        if period.rejected:
            runstats.note(self.crawler.stats, f"{site.site}: {period.url} rejected: {period.rejected}")
        yield from self._next(site)

    def _result(self, site: _Site, unchanged: bool = False) -> DiscoveredSite:
        return DiscoveredSite(site.site, site.periods, site.complete, site.cdx_requests, site.homepage_fetches,
                              len(site.records), site.policy_fetches, since=site.since,
                              seen_until=site.seen_until, unchanged=unchanged)


def _content(found: Discovery) -> str:
    """What bisection compares for one homepage: its privacy link's key, or NO_LINK."""
    return link_key(found.url) if found.url else NO_LINK


def _distinct_payloads(records: list[CdxRecord]) -> list[CdxRecord]:
    """Drop captures whose payload digest repeats the previous one's (what ``collapse=digest`` does)."""
    kept: list[CdxRecord] = []
    for record in records:
        if kept and record.digest and record.digest == kept[-1].digest:
            continue
        kept.append(record)
    return kept
