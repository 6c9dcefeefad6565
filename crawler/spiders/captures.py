"""The one spider: list every capture of each tracked page (CDX), fetch the raw captures worth fetching.

Thin by design: it only decides which requests to make and turns responses into items; storing and
version-building happen in :mod:`crawler.pipelines`, normalizing in the download path
(:class:`crawler.middlewares.NormalizerMiddleware`), so every capture response arrives with what it
normalized to and the spider decides from the response alone -- it never waits on the pipeline.

Pages stream in: the spider reads the next page's plan (what the store already knows about it) only
when fewer than ``POLICYTRACK_PAGES_IN_FLIGHT`` pages are being crawled, and drops a page's state as soon
as the page is finished, so memory does not grow with the number of pages.

A page whose last crawl completed is listed incrementally: only the captures from its watermark on
(CDX ``from``; :func:`listing_start` says when that is safe), so a daily refresh costs one CDX request per
page. ``POLICYTRACK_INCREMENTAL = False`` (``crawl --full``) lists every page's whole history.

A page's path: CDX listing (``CaptureListing`` items, then ``ListingOutcome``) → the captures worth
fetching → one ``FetchedCapture`` or ``CaptureOutcome`` per capture → ``PageFinished``, on which the
pipeline rebuilds that page's versions. In bisection mode (default) the spider fetches the ends of the
history and then only the middles of gaps whose ends normalize differently (:mod:`crawler.bisect`),
one batch at a time. In exhaustive mode (``POLICYTRACK_EXHAUSTIVE``) it fetches every capture whose
timestamp has not been processed and whose payload digest has not been fetched for that page; captures
with an already fetched digest are resolved by the pipeline from the stored snapshot. Archived
redirects are followed here (Scrapy's redirect middleware is off) so that the chain stays visible and
bounded.

Every error met on a page is noted on the run and makes the page incomplete; an exception in the
spider's own code ends that page (recorded) instead of leaving it waiting forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Iterable, Iterator

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from crawler import runstats
from crawler.archive import Archive
from crawler.bisect import NO_TEXT, Bisection
from crawler.cdx import CdxRecord, parse_cdx, unique_records
from crawler.items import (
    CaptureListing,
    CaptureOutcome,
    FetchedCapture,
    InferredCaptures,
    ListingOutcome,
    PageFinished,
    PagePlan,
)
from crawler.middlewares import NORMALIZE, NORMALIZED, NoDocument, NormalizerFailed, header_list
from crawler.normalizer import CaptureMeta
from crawler.replay import Redirect, memento_timestamp, redirect_of, seconds_apart
from storage.watermark import ListingWatermark

# Close reason of a crawl that could not work at all (the runner records it as failed, not interrupted).
FAILED_REASON = "failed"


@dataclass
class _PageCrawl:
    """One page being crawled: dropped as soon as the page is finished."""

    plan: PagePlan
    listed: list[CdxRecord] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)      # captures requested, not yet resolved
    planner: Bisection | None = None
    by_timestamp: dict[str, CdxRecord] = field(default_factory=dict)
    newest: str | None = None                            # the newest capture listed (the next watermark)
    items: int = 0
    complete: bool = True
    error: str | None = None                            # the first error met on the page


class CapturesSpider(scrapy.Spider):
    name = "captures"

    def __init__(self, pages: Iterable[PagePlan] | None = None, **kwargs: Any):
        """``pages``: the pages to crawl, read lazily (in a thread: it may query the database)."""
        super().__init__(**kwargs)
        self.pages = iter(pages or [])
        self._crawling: dict[int, _PageCrawl] = {}
        self._room: Deferred | None = None

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "CapturesSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.archive = Archive.parse(crawler.settings.get("POLICYTRACK_ARCHIVE"))
        spider.max_redirects = crawler.settings.getint("POLICYTRACK_MAX_REDIRECTS")
        spider.redirect_window = crawler.settings.getint("POLICYTRACK_REDIRECT_WINDOW")
        spider.exhaustive = crawler.settings.getbool("POLICYTRACK_EXHAUSTIVE")
        spider.incremental = crawler.settings.getbool("POLICYTRACK_INCREMENTAL")
        spider.pages_in_flight = max(1, crawler.settings.getint("POLICYTRACK_PAGES_IN_FLIGHT"))
        spider.period_margin = timedelta(days=crawler.settings.getfloat("POLICYTRACK_PERIOD_MARGIN_DAYS"))
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        while True:
            while len(self._crawling) >= self.pages_in_flight:
                self._room = Deferred()
                await maybe_deferred_to_future(self._room)
            try:
                plan = await maybe_deferred_to_future(deferToThread(next, self.pages, None))
            except Exception as exc:  # the store could not be read: no page after this one can be planned
                self.logger.debug("could not read the next page's plan", exc_info=True)
                runstats.note_error(self.crawler.stats, f"could not read the next page to crawl: "
                                                        f"{runstats.describe(exc)}")
                raise CloseSpider(FAILED_REASON) from None
            if plan is None:
                return
            self._crawling[plan.page_id] = _PageCrawl(plan, digests=set(plan.done_digests))
            yield self._cdx_request(plan)

    # --- page bookkeeping --------------------------------------------------------------------------
    def _listing_ended(self, page: _PageCrawl, outcome: ListingOutcome) -> ListingOutcome:
        runstats.inc(self.crawler.stats, "pages_listed")  # for progress: the CDX queries left
        return self._emit(page, outcome)

    def _emit(self, page: _PageCrawl, item: Any) -> Any:
        page.items += 1
        return item

    def _error(self, page: _PageCrawl, message: str) -> None:
        page.complete = False
        page.error = page.error or message
        runstats.note_error(self.crawler.stats, f"{page.plan.site}: {message}")
        self.logger.error("%s: %s", page.plan.site, message)

    def _finish(self, page: _PageCrawl) -> Iterator[Any]:
        self._crawling.pop(page.plan.page_id, None)
        inferred = None
        if page.planner is not None and page.planner.inferred:
            found = page.planner.inferred
            runstats.inc(self.crawler.stats, "captures_inferred", len(found))
            inferred = InferredCaptures(page.plan.page_id, [page.by_timestamp[ts] for ts in sorted(found)], dict(found))
        runstats.inc(self.crawler.stats, "pages_finished")
        room, self._room = self._room, None
        if room is not None:
            room.callback(None)  # start() may read the next page
        watermark = ListingWatermark(page.newest, tuple(page.plan.windows)) if page.newest else None
        yield PageFinished(page.plan.page_id, page.items, page.complete, inferred, watermark=watermark,
                           error=page.error)

    def _guarded(self, page: _PageCrawl, outputs: Iterator[Any]) -> Iterator[Any]:
        """Run a callback's outputs; a defect in them is recorded and ends the page instead of hanging it."""
        try:
            yield from outputs
        except CloseSpider:
            raise
        except Exception as exc:
            self.logger.debug("spider error on %s", page.plan.url, exc_info=True)
            self._error(page, f"crawler error on {page.plan.url}: {runstats.describe(exc)}")
            if page.plan.page_id in self._crawling:
                yield from self._finish(page)

    def _page(self, plan: PagePlan) -> _PageCrawl | None:
        return self._crawling.get(plan.page_id)

    # --- CDX -------------------------------------------------------------------------------------
    def _cdx_request(self, plan: PagePlan, resume_key: str | None = None) -> scrapy.Request:
        since, until = listing_span(plan.windows, self.period_margin)
        start = listing_start(plan, exhaustive=self.exhaustive) if self.incremental else None
        if start is not None and (since is None or start > since):
            since = start  # only what is new since the page's last complete crawl
        return scrapy.Request(
            self.archive.cdx_url(plan.url, resume_key, since, until),
            callback=self.parse_cdx,
            errback=self.cdx_failed,
            cb_kwargs={"plan": plan},
            meta={"policytrack_endpoint": "cdx", "handle_httpstatus_all": True},
            dont_filter=True,
        )

    def parse_cdx(self, response: Response, plan: PagePlan) -> Iterator[Any]:
        page = self._page(plan)
        if page is not None:
            yield from self._guarded(page, self._parse_cdx(response, page))

    def _parse_cdx(self, response: Response, page: _PageCrawl) -> Iterator[Any]:
        plan = page.plan
        if response.status != 200:
            yield from self._cdx_refused(response, page)
            return
        listing = parse_cdx(response.body)
        for error in listing.errors:
            self._error(page, str(error))
        if listing.records:
            newest = max(r.timestamp for r in listing.records)
            page.newest = max(newest, page.newest or newest)
        if listing.errors and not listing.records:
            # Nothing on this answer could be read: the page's listing is unknown, not empty.
            runstats.inc(self.crawler.stats, "pages_failed")
            yield self._listing_ended(page, ListingOutcome(plan.page_id, "failed", "unreadable CDX answer"))
            yield from self._finish(page)
            return
        records = [r for r in unique_records(listing.records) if r.timestamp not in page.seen]
        page.seen.update(r.timestamp for r in records)
        page.listed.extend(records)
        if records and not plan.windows:
            runstats.inc(self.crawler.stats, "captures_seen", len(records))
            yield self._emit(page, CaptureListing(page_id=plan.page_id, records=records))
        if listing.resume_key:
            yield self._cdx_request(plan, listing.resume_key)
            return
        # The whole listing is known: decide what to fetch.
        records, page.listed, page.seen = unique_records(page.listed), [], set()
        if plan.windows:
            records = in_windows(records, plan.windows)
            runstats.inc(self.crawler.stats, "captures_seen", len(records))
            if records:
                yield self._emit(page, CaptureListing(page_id=plan.page_id, records=records))
        yield self._listing_ended(page, ListingOutcome(plan.page_id, "listed"))
        if self.exhaustive:
            for record in records:
                if record.timestamp not in plan.done_timestamps:
                    yield from self._capture_or_outcome(page, record)
        else:
            yield from self._start_bisection(page, records)
        if not page.pending:
            yield from self._finish(page)

    def _start_bisection(self, page: _PageCrawl, listing: list[CdxRecord]) -> Iterator[Any]:
        """Fetch the ends, then only the middles of gaps whose ends differ (see crawler.bisect)."""
        plan = page.plan
        candidates = []
        for record in listing:
            if record.is_error:
                if record.timestamp not in plan.done_timestamps:
                    yield self._emit(page, CaptureOutcome(plan.page_id, record, "skipped",
                                                          f"archived-http-{record.status}"))
            else:
                candidates.append(record)
        page.by_timestamp = {r.timestamp: r for r in candidates}
        page.planner = Bisection(
            [r.timestamp for r in candidates],
            digests={r.timestamp: r.digest for r in candidates if not r.is_redirect},
            known={ts: content for ts, content in plan.known_contents.items() if ts in page.by_timestamp},
        )
        yield from self._next_batch(page)

    def _next_batch(self, page: _PageCrawl) -> Iterator[Any]:
        assert page.planner is not None
        for timestamp in page.planner.next_batch():
            record = page.by_timestamp[timestamp]
            page.pending.add(timestamp)
            yield self._capture_request(page.plan, record, record.original_url, record.timestamp, hops=[])

    def _resolved(self, page: _PageCrawl, item: FetchedCapture | CaptureOutcome) -> Iterator[Any]:
        """One capture came to its end (fetched, skipped or failed): store it, and go on with the page."""
        yield self._emit(page, item)
        timestamp = item.record.timestamp
        page.pending.discard(timestamp)
        if page.planner is not None:
            if isinstance(item, FetchedCapture):
                content: str | None = item.content
            else:
                content = NO_TEXT if item.state == "skipped" else None
            page.planner.record(timestamp, content)
            if not page.pending:
                yield from self._next_batch(page)
        if not page.pending:
            yield from self._finish(page)

    def _cdx_refused(self, response: Response, page: _PageCrawl) -> Iterator[Any]:
        plan = page.plan
        text = response.text[:500] if hasattr(response, "text") else ""
        blocked = _BLOCKED.search(text) if response.status == 403 else None
        if blocked:
            # robots.txt or an administrative exclusion: an outcome to record, not a failure of the run.
            reason = f"{plan.site}: {plan.url} is blocked by the archive ({blocked.group(0)})"
            runstats.inc(self.crawler.stats, "pages_blocked")
            runstats.note(self.crawler.stats, reason)
            self.logger.warning(reason)
            page.complete = False
            yield self._listing_ended(page, ListingOutcome(plan.page_id, "blocked", f"HTTP 403 ({blocked.group(0)})"))
        else:
            runstats.inc(self.crawler.stats, "pages_failed")
            self._error(page, f"CDX query failed with HTTP {response.status} ({response.url})")
            yield self._listing_ended(page, ListingOutcome(plan.page_id, "failed", f"HTTP {response.status}"))
        yield from self._finish(page)

    def cdx_failed(self, failure: Failure) -> Iterator[Any]:
        page = self._page(failure.request.cb_kwargs["plan"])
        if page is None:
            return
        runstats.inc(self.crawler.stats, "pages_failed")
        self._error(page, f"archive unreachable for CDX query {failure.request.url}: {failure.getErrorMessage()}")
        yield self._listing_ended(page, ListingOutcome(page.plan.page_id, "failed",
                                              f"unreachable: {failure.getErrorMessage()[:200]}"))
        yield from self._finish(page)

    # --- captures --------------------------------------------------------------------------------
    def _capture_or_outcome(self, page: _PageCrawl, record: CdxRecord) -> Iterator[Any]:
        plan = page.plan
        if record.is_error:
            yield self._emit(page, CaptureOutcome(plan.page_id, record, "skipped", f"archived-http-{record.status}"))
            return
        if not record.is_redirect:
            # Redirect answers of one server are often byte-identical, but where they lead differs.
            if record.digest and record.digest in page.digests:
                return  # same payload already fetched (or being fetched): resolved by the pipeline
            if record.digest:
                page.digests.add(record.digest)
        page.pending.add(record.timestamp)
        yield self._capture_request(plan, record, record.original_url, record.timestamp, hops=[])

    def _capture_request(self, plan: PagePlan, record: CdxRecord, url: str, timestamp: str,
                         hops: list[str]) -> scrapy.Request:
        return scrapy.Request(
            self.archive.capture_url(timestamp, url),
            callback=self.parse_capture,
            errback=self.capture_failed,
            cb_kwargs={"plan": plan, "record": record, "hops": hops},
            meta={"policytrack_endpoint": "capture", "handle_httpstatus_all": True, "dont_redirect": True,
                  NORMALIZE: CaptureMeta(site=plan.site, original_url=record.original_url,
                                         timestamp=record.timestamp, mimetype=record.mimetype)},
            dont_filter=True,
        )

    def parse_capture(self, response: Response, plan: PagePlan, record: CdxRecord,
                      hops: list[str]) -> Iterator[Any]:
        page = self._page(plan)
        if page is not None:
            yield from self._guarded(page, self._parse_capture(response, page, record, hops))

    def _parse_capture(self, response: Response, page: _PageCrawl, record: CdxRecord,
                       hops: list[str]) -> Iterator[Any]:
        plan = page.plan
        memento = memento_timestamp(response)
        redirect = redirect_of(response, hops[-1] if hops else record.original_url, self.archive)
        if redirect is not None and not redirect.archived:
            # The archive's own redirect (no Memento-Datetime) to the capture nearest the asked time.
            yield from self._follow_archive_redirect(response, page, record, hops, redirect)
            return
        if memento is None:
            # Not an archived response: the archive itself answered (error, rate limit exhausted, ...).
            yield from self._failed(page, record, f"archive-http-{response.status}")
            return
        if redirect is not None:
            yield from self._follow_redirect(page, record, hops, redirect)
            return
        if response.status >= 400:
            yield from self._resolved(page, CaptureOutcome(plan.page_id, record, "skipped",
                                                           f"archived-http-{response.status}"))
            return
        if hops and seconds_apart(memento, record.timestamp) > self.redirect_window:
            # The archive replayed the nearest capture of the target, which may be years away.
            yield from self._resolved(page, CaptureOutcome(plan.page_id, record, "skipped",
                                                           "redirect-target-outside-window"))
            return
        normalized = response.meta.get(NORMALIZED)
        if isinstance(normalized, NormalizerFailed):
            if normalized.fatal:
                runstats.note_error(self.crawler.stats, normalized.message)
                raise CloseSpider(FAILED_REASON)
            yield from self._failed(page, record, normalized.message)
            return
        if normalized is None:
            yield from self._failed(page, record, "capture was not normalized (NormalizerMiddleware is not enabled)")
            return
        yield from self._resolved(page, FetchedCapture(
            page_id=plan.page_id,
            site=plan.site,
            record=record,
            payload=response.body,
            http_status=response.status,
            headers=header_list(response),
            fetched_url=response.url,
            normalized=None if isinstance(normalized, NoDocument) else normalized,
            no_document=normalized.reason if isinstance(normalized, NoDocument) else None,
            final_url=hops[-1] if hops else None,
            final_timestamp=memento if hops else None,
        ))

    def _failed(self, page: _PageCrawl, record: CdxRecord, reason: str) -> Iterator[Any]:
        """A capture that could not be resolved this run: an error of the run; the next run retries it."""
        self._error(page, f"capture {record.timestamp}: {reason}")
        yield from self._resolved(page, CaptureOutcome(page.plan.page_id, record, "failed", reason))

    def _follow_archive_redirect(self, response: Response, page: _PageCrawl, record: CdxRecord,
                                 hops: list[str], redirect: Redirect) -> Iterator[Any]:
        followed = response.meta.get("policytrack_archive_redirects", 0) + 1
        if followed > self.max_redirects:
            yield from self._failed(page, record, "archive-redirect-loop")
            return
        if redirect.url is None:
            yield from self._failed(page, record, f"archive-redirect-outside-archive: {redirect.location[:200]}")
            return
        # Rebuilt on the configured archive: a recorded or mirrored answer may name another host.
        request = self._capture_request(page.plan, record, redirect.url, redirect.timestamp, hops)
        request.meta["policytrack_archive_redirects"] = followed
        yield request

    def _follow_redirect(self, page: _PageCrawl, record: CdxRecord, hops: list[str],
                         redirect: Redirect) -> Iterator[Any]:
        target = redirect.url
        if target in hops or target == record.original_url:
            yield from self._resolved(page, CaptureOutcome(page.plan.page_id, record, "skipped", "redirect-loop"))
        elif len(hops) >= self.max_redirects:
            yield from self._resolved(page, CaptureOutcome(page.plan.page_id, record, "skipped", "too-many-redirects"))
        else:
            yield self._capture_request(page.plan, record, target, redirect.timestamp, hops + [target])

    def capture_failed(self, failure: Failure) -> Iterator[Any]:
        kwargs = failure.request.cb_kwargs
        page = self._page(kwargs["plan"])
        if page is None:
            return
        if failure.check(*_SIZE_CANCELLED):
            # Scrapy cancels a download that exceeds DOWNLOAD_MAXSIZE: final, not worth retrying.
            yield from self._resolved(page, CaptureOutcome(page.plan.page_id, kwargs["record"], "skipped", "too-large"))
            return
        yield from self._failed(page, kwargs["record"], f"fetch-error: {failure.getErrorMessage()[:200]}")


try:  # Scrapy >= 2.14 names it; older versions cancel the Deferred
    from scrapy.exceptions import DownloadCancelledError

    _SIZE_CANCELLED: tuple[type[BaseException], ...] = (DownloadCancelledError, CancelledError)
except ImportError:  # pragma: no cover
    _SIZE_CANCELLED = (CancelledError,)

# The Internet Archive answers 403 with a Java exception name for excluded URLs.
_BLOCKED = re.compile(r"Blocked Site Error|RobotAccessControlException|AdministrativeAccessControlException|"
                      r"blocked|excluded", re.IGNORECASE)


def listing_start(plan: PagePlan, *, exhaustive: bool) -> str | None:
    """Where the page's listing starts: the watermark of its last complete crawl (storage.watermark), or
    None for its whole history (within its periods).

    The CDX ``from`` is inclusive, so the watermark capture comes back: bisection gets its left end with
    its content known, and nothing in between is fetched unless the new captures' text differs. Every
    capture up to the watermark is settled (it is recorded only when a crawl completes; one that does not
    leaves the previous watermark, whose tail holds the gaps it left). The whole history is listed instead
    when the page's policy periods changed since the watermark was recorded (discovery extended or cut
    them, so captures before it may now count), and in exhaustive mode when bisection left captures before
    it unfetched (inferred), which an exhaustive crawl fetches.
    """
    watermark = plan.watermark
    if watermark is None or watermark.windows != tuple(plan.windows):
        return None
    if exhaustive and any(ts <= watermark.listed_until and ts not in plan.done_timestamps
                          for ts in plan.known_contents):
        return None
    return watermark.listed_until


def listing_span(windows: list[tuple[str, str | None]], margin: timedelta) -> tuple[str | None, str | None]:
    """The CDX ``from``/``to`` of a page with policy periods (:attr:`PagePlan.windows`): from ``margin``
    before its first period (to find the version in force when it began) to the end of its last (None:
    still the policy page; no period at all: the page's whole history)."""
    if not windows:
        return None, None
    start = datetime.strptime(windows[0][0], "%Y%m%d%H%M%S") - margin
    ends = [until for _, until in windows]
    return start.strftime("%Y%m%d%H%M%S"), None if None in ends else max(ends)


def in_windows(records: list[CdxRecord], windows: list[tuple[str, str | None]]) -> list[CdxRecord]:
    """The captures of a page within its policy periods, plus, for each period, the last capture before it
    (the version in force when the period began, captured earlier). ``records``: in time order."""
    kept: dict[str, CdxRecord] = {}
    for start, until in windows:
        before = [r for r in records if r.timestamp < start and not r.is_error]
        if before:
            kept[before[-1].timestamp] = before[-1]
        kept.update((r.timestamp, r) for r in records if start <= r.timestamp and (until is None or r.timestamp < until))
    return [kept[ts] for ts in sorted(kept)]
