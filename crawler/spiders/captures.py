"""The one spider: list every capture of each tracked page (CDX), fetch the raw captures worth fetching.

Thin by design: it only decides which requests to make and turns responses into items. What is already
known comes in with each :class:`~crawler.items.PagePlan`; storing, normalizing and version-building
happen in :mod:`crawler.pipelines`.

Once a page's whole CDX listing is in, the spider decides what to fetch. In bisection mode (default) it
fetches the ends of the history and then only the middles of gaps whose ends normalize differently
(:mod:`crawler.bisect`), awaiting each result from the pipeline (:mod:`crawler.results`). In exhaustive
mode (``POLICYTRACK_EXHAUSTIVE``) it fetches every capture whose timestamp has not been processed and
whose payload digest has not been fetched for that page. Either way, captures with an already fetched
digest are resolved by the pipeline from the stored snapshot. Archived redirects are followed here
(Scrapy's redirect middleware is off) so that the redirect chain stays visible and bounded.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import CancelledError, DeferredList
from twisted.python.failure import Failure

from crawler import runstats
from crawler.archive import Archive
from crawler.cdx import CdxRecord, parse_cdx, unique_records
from crawler.bisect import Bisection
from crawler.items import (
    CaptureListing,
    CaptureOutcome,
    FetchedCapture,
    InferredCaptures,
    ListingOutcome,
    PagePlan,
)
from crawler.results import results_for


class CapturesSpider(scrapy.Spider):
    name = "captures"

    def __init__(self, pages: list[PagePlan] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.pages = list(pages or [])
        self._seen: dict[int, set[str]] = {plan.page_id: set() for plan in self.pages}
        self._digests: dict[int, set[str]] = {plan.page_id: set(plan.done_digests) for plan in self.pages}
        self._listed: dict[int, list[CdxRecord]] = {}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "CapturesSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.archive = Archive.parse(crawler.settings.get("POLICYTRACK_ARCHIVE"))
        spider.max_redirects = crawler.settings.getint("POLICYTRACK_MAX_REDIRECTS")
        spider.redirect_window = crawler.settings.getint("POLICYTRACK_REDIRECT_WINDOW")
        spider.exhaustive = crawler.settings.getbool("POLICYTRACK_EXHAUSTIVE")
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for plan in self.pages:
            yield self._cdx_request(plan)

    def start_requests(self) -> Iterator[scrapy.Request]:  # Scrapy < 2.13
        for plan in self.pages:
            yield self._cdx_request(plan)

    # --- CDX -------------------------------------------------------------------------------------
    def _cdx_request(self, plan: PagePlan, resume_key: str | None = None) -> scrapy.Request:
        return scrapy.Request(
            self.archive.cdx_url(plan.url, resume_key),
            callback=self.parse_cdx,
            errback=self.cdx_failed,
            cb_kwargs={"plan": plan},
            meta={"policytrack_endpoint": "cdx", "handle_httpstatus_all": True},
            dont_filter=True,
        )

    async def parse_cdx(self, response: Response, plan: PagePlan) -> AsyncIterator[Any]:
        if response.status != 200:
            yield self._cdx_refused(response, plan)
            return
        page = parse_cdx(response.body)
        for error in page.errors:
            runstats.note_error(self.crawler.stats, f"{plan.site}: {error}")
            self.logger.warning("%s: %s", plan.site, error)
        seen = self._seen[plan.page_id]
        records = [r for r in unique_records(page.records) if r.timestamp not in seen]
        seen.update(r.timestamp for r in records)
        self._listed.setdefault(plan.page_id, []).extend(records)
        runstats.inc(self.crawler.stats, "captures_seen", len(records))
        if records:
            yield CaptureListing(page_id=plan.page_id, records=records)
        if page.resume_key:
            yield self._cdx_request(plan, page.resume_key)
            return
        # The whole listing is known: decide what to fetch.
        yield ListingOutcome(plan.page_id, "listed")
        listing = unique_records(self._listed.pop(plan.page_id, []))
        if self.exhaustive:
            for record in listing:
                if record.timestamp not in plan.done_timestamps:
                    for output in self._capture_or_outcome(plan, record):
                        yield output
        else:
            async for output in self._bisect(plan, listing):
                yield output

    async def _bisect(self, plan: PagePlan, listing: list[CdxRecord]) -> AsyncIterator[Any]:
        """Fetch the ends, then only the middles of gaps whose ends differ (see crawler.bisect)."""
        candidates = []
        for record in listing:
            if record.is_error:
                if record.timestamp not in plan.done_timestamps:
                    yield CaptureOutcome(plan.page_id, record, "skipped", f"archived-http-{record.status}")
            else:
                candidates.append(record)
        by_timestamp = {r.timestamp: r for r in candidates}
        planner = Bisection(
            [r.timestamp for r in candidates],
            digests={r.timestamp: r.digest for r in candidates if not r.is_redirect},
            known={ts: content for ts, content in plan.known_contents.items() if ts in by_timestamp},
        )
        board = results_for(self.crawler)
        while batch := planner.next_batch():
            waits = []
            for timestamp in batch:
                waits.append(board.wait(plan.page_id, timestamp))
                record = by_timestamp[timestamp]
                yield self._capture_request(plan, record, record.original_url, record.timestamp, hops=[])
            outcomes = await maybe_deferred_to_future(DeferredList(waits))
            for timestamp, (_, content) in zip(batch, outcomes):
                planner.record(timestamp, content)
        if planner.inferred:
            runstats.inc(self.crawler.stats, "captures_inferred", len(planner.inferred))
            yield InferredCaptures(plan.page_id, [by_timestamp[ts] for ts in sorted(planner.inferred)],
                                   dict(planner.inferred))

    def _cdx_refused(self, response: Response, plan: PagePlan) -> ListingOutcome:
        text = response.text[:500] if hasattr(response, "text") else ""
        if response.status == 403 and _BLOCKED.search(text):
            # robots.txt or an administrative exclusion: an outcome to record, not a failure of the run.
            why = _BLOCKED.search(text).group(0)
            reason = f"{plan.site}: {plan.url} is blocked by the archive ({why})"
            runstats.inc(self.crawler.stats, "pages_blocked")
            self.logger.warning(reason)
            runstats.note_error(self.crawler.stats, reason)
            return ListingOutcome(plan.page_id, "blocked", f"HTTP 403 ({why})")
        reason = f"{plan.site}: CDX query failed with HTTP {response.status} ({response.url})"
        runstats.note_error(self.crawler.stats, reason)
        runstats.inc(self.crawler.stats, "pages_failed")
        self.logger.error(reason)
        return ListingOutcome(plan.page_id, "failed", f"HTTP {response.status}")

    def cdx_failed(self, failure: Failure) -> Iterator[ListingOutcome]:
        plan: PagePlan = failure.request.cb_kwargs["plan"]
        message = f"{plan.site}: archive unreachable for CDX query {failure.request.url}: {failure.getErrorMessage()}"
        runstats.note_error(self.crawler.stats, message)
        runstats.inc(self.crawler.stats, "pages_failed")
        self.logger.error(message)
        yield ListingOutcome(plan.page_id, "failed", f"unreachable: {failure.getErrorMessage()[:200]}")

    # --- captures --------------------------------------------------------------------------------
    def _capture_or_outcome(self, plan: PagePlan, record: CdxRecord) -> Iterator[Any]:
        if record.is_error:
            yield CaptureOutcome(plan.page_id, record, "skipped", f"archived-http-{record.status}")
            return
        digests = self._digests[plan.page_id]
        if record.is_redirect:
            # Redirect answers of one server are often byte-identical, but where they lead differs.
            yield self._capture_request(plan, record, record.original_url, record.timestamp, hops=[])
            return
        if record.digest and record.digest in digests:
            return  # same payload already fetched (or being fetched): resolved by the pipeline
        if record.digest:
            digests.add(record.digest)
        yield self._capture_request(plan, record, record.original_url, record.timestamp, hops=[])

    def _capture_request(self, plan: PagePlan, record: CdxRecord, url: str, timestamp: str,
                         hops: list[str]) -> scrapy.Request:
        return scrapy.Request(
            self.archive.capture_url(timestamp, url),
            callback=self.parse_capture,
            errback=self.capture_failed,
            cb_kwargs={"plan": plan, "record": record, "hops": hops},
            meta={"policytrack_endpoint": "capture", "handle_httpstatus_all": True, "dont_redirect": True},
            dont_filter=True,
        )

    def parse_capture(self, response: Response, plan: PagePlan, record: CdxRecord,
                      hops: list[str]) -> Iterator[Any]:
        memento = _memento_timestamp(response)
        location = response.headers.get("Location")
        if memento is None:
            if 300 <= response.status < 400 and location:
                # The archive's own redirect (no Memento-Datetime) to the capture nearest the asked time.
                yield from self._follow_archive_redirect(response, plan, record, hops, location.decode("latin-1"))
                return
            # Not an archived response: the archive itself answered (error, rate limit exhausted, ...).
            yield CaptureOutcome(plan.page_id, record, "failed", f"archive-http-{response.status}")
            return
        if 300 <= response.status < 400 and location:
            yield from self._follow_redirect(response, plan, record, hops, memento)
            return
        if response.status >= 400:
            yield CaptureOutcome(plan.page_id, record, "skipped", f"archived-http-{response.status}")
            return
        if hops and _seconds_apart(memento, record.timestamp) > self.redirect_window:
            # The archive replayed the nearest capture of the target, which may be years away.
            yield CaptureOutcome(plan.page_id, record, "skipped", "redirect-target-outside-window")
            return
        yield FetchedCapture(
            page_id=plan.page_id,
            site=plan.site,
            record=record,
            payload=response.body,
            http_status=response.status,
            headers=_header_list(response),
            fetched_url=response.url,
            final_url=hops[-1] if hops else None,
            final_timestamp=memento if hops else None,
        )

    def _follow_archive_redirect(self, response: Response, plan: PagePlan, record: CdxRecord,
                                 hops: list[str], location: str) -> Iterator[Any]:
        followed = response.meta.get("policytrack_archive_redirects", 0) + 1
        if followed > self.max_redirects:
            yield CaptureOutcome(plan.page_id, record, "failed", "archive-redirect-loop")
            return
        memento = _archive_url_parts(urljoin(response.url, location), self.archive)
        if memento is None:
            yield CaptureOutcome(plan.page_id, record, "failed", f"archive-redirect-outside-archive: {location[:200]}")
            return
        # Rebuilt on the configured archive: a recorded or mirrored answer may name another host.
        request = self._capture_request(plan, record, memento[1], memento[0], hops)
        request.meta["policytrack_archive_redirects"] = followed
        yield request

    def _follow_redirect(self, response: Response, plan: PagePlan, record: CdxRecord,
                         hops: list[str], memento: str) -> Iterator[Any]:
        current = hops[-1] if hops else record.original_url
        location = response.headers["Location"].decode("latin-1").strip()
        target = _original_from_location(location, current, response.url, self.archive)
        if target in hops or target == record.original_url:
            yield CaptureOutcome(plan.page_id, record, "skipped", "redirect-loop")
        elif len(hops) >= self.max_redirects:
            yield CaptureOutcome(plan.page_id, record, "skipped", "too-many-redirects")
        else:
            yield self._capture_request(plan, record, target, memento, hops + [target])

    def capture_failed(self, failure: Failure) -> Iterator[Any]:
        kwargs = failure.request.cb_kwargs
        if failure.check(*_SIZE_CANCELLED):
            # Scrapy cancels a download that exceeds DOWNLOAD_MAXSIZE: final, not worth retrying.
            yield CaptureOutcome(kwargs["plan"].page_id, kwargs["record"], "skipped", "too-large")
            return
        reason = f"fetch-error: {failure.getErrorMessage()[:200]}"
        runstats.note_error(self.crawler.stats, f"{kwargs['plan'].site}: capture {kwargs['record'].timestamp}: {reason}")
        yield CaptureOutcome(kwargs["plan"].page_id, kwargs["record"], "failed", reason)


try:  # Scrapy >= 2.14 names it; older versions cancel the Deferred
    from scrapy.exceptions import DownloadCancelledError

    _SIZE_CANCELLED: tuple[type[BaseException], ...] = (DownloadCancelledError, CancelledError)
except ImportError:  # pragma: no cover
    _SIZE_CANCELLED = (CancelledError,)

# The Internet Archive answers 403 with a Java exception name for excluded URLs.
_BLOCKED = re.compile(r"Blocked Site Error|RobotAccessControlException|AdministrativeAccessControlException|"
                      r"blocked|excluded", re.IGNORECASE)


def _memento_timestamp(response: Response) -> str | None:
    """The 14-digit time of the capture actually replayed, from ``Memento-Datetime`` (None if absent)."""
    value = response.headers.get("Memento-Datetime")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError):
        return None
    return when.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def _seconds_apart(a: str, b: str) -> float:
    parse = lambda ts: datetime.strptime(ts, "%Y%m%d%H%M%S")  # noqa: E731
    return abs((parse(a) - parse(b)).total_seconds())


def _archive_url_parts(url: str, archive: Archive) -> tuple[str, str] | None:
    """``(timestamp, original URL)`` if ``url`` is an archive URL (``/web/{timestamp}{mode}/{original}``,
    or ``/{collection}/...`` for pywb) on the archive's own host or web.archive.org; else None."""
    parts = urlsplit(url)
    if parts.netloc not in (archive.host, "web.archive.org"):
        return None
    prefix = urlsplit(archive.base).path if archive.kind == "pywb" else "/web"
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    match = re.match(re.escape(prefix) + r"/(\d{1,14})(?:[a-z]{2}_)?/(.+)$", target)
    if not match:
        return None
    # Some archives collapse "https://" to "https:/" inside paths.
    return match.group(1), re.sub(r"^(https?:)/(?!/)", r"\1//", match.group(2))


def _original_from_location(location: str, current: str, request_url: str, archive: Archive) -> str:
    """The original URL a replayed redirect points to.

    The Internet Archive rewrites an archived ``Location`` into an archive URL -- absolute, path-only
    (``/web/2020...id_/https://...``) or scheme-less (``//web.archive.org/web/...``) -- while pywb in
    ``id_`` mode returns it as captured (``/privacy``), relative to the original URL.
    """
    parts = _archive_url_parts(urljoin(request_url, location), archive)
    return parts[1] if parts else urljoin(current, location)


def _header_list(response: Response) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for name, values in response.headers.items():
        for value in values:
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
    return headers
