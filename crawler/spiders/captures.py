"""The one spider: list every capture of each tracked page (CDX), fetch the raw captures worth fetching.

Thin by design: it only decides which requests to make and turns responses into items. What is already
known comes in with each :class:`~crawler.items.PagePlan`; storing, normalizing and version-building
happen in :mod:`crawler.pipelines`.

A capture is fetched when its timestamp has not been processed before and its payload digest has not
been fetched before for that page (nor is already being fetched in this run): captures with a known
digest are resolved by the pipeline from the stored snapshot. Archived redirects are followed here
(Scrapy's redirect middleware is off) so that the redirect chain stays visible and bounded.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import runstats
from crawler.archive import Archive
from crawler.cdx import CdxRecord, parse_cdx, unique_records
from crawler.items import CaptureListing, CaptureOutcome, FetchedCapture, PagePlan


class CapturesSpider(scrapy.Spider):
    name = "captures"

    def __init__(self, pages: list[PagePlan] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.pages = list(pages or [])
        self._seen: dict[int, set[str]] = {plan.page_id: set() for plan in self.pages}
        self._digests: dict[int, set[str]] = {plan.page_id: set(plan.done_digests) for plan in self.pages}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "CapturesSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.archive = Archive.parse(crawler.settings.get("POLICYTRACK_ARCHIVE"))
        spider.max_redirects = crawler.settings.getint("POLICYTRACK_MAX_REDIRECTS")
        spider.redirect_window = crawler.settings.getint("POLICYTRACK_REDIRECT_WINDOW")
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

    def parse_cdx(self, response: Response, plan: PagePlan) -> Iterator[Any]:
        if response.status != 200:
            yield from self._cdx_refused(response, plan)
            return
        page = parse_cdx(response.body)
        for error in page.errors:
            runstats.note_error(self.crawler.stats, f"{plan.site}: {error}")
            self.logger.warning("%s: %s", plan.site, error)
        seen = self._seen[plan.page_id]
        records = [r for r in unique_records(page.records) if r.timestamp not in seen]
        seen.update(r.timestamp for r in records)
        runstats.inc(self.crawler.stats, "captures_seen", len(records))
        if records:
            yield CaptureListing(page_id=plan.page_id, records=records)
        for record in records:
            if record.timestamp in plan.done_timestamps:
                continue
            yield from self._capture_or_outcome(plan, record)
        if page.resume_key:
            yield self._cdx_request(plan, page.resume_key)

    def _cdx_refused(self, response: Response, plan: PagePlan) -> Iterator[Any]:
        text = response.text[:300] if hasattr(response, "text") else ""
        if response.status == 403 and ("Blocked" in text or "robots" in text.lower() or "exclu" in text.lower()):
            reason = f"{plan.site}: {plan.url} is blocked by the archive (robots.txt or exclusion)"
        else:
            reason = f"{plan.site}: CDX query failed with HTTP {response.status} ({response.url})"
        runstats.note_error(self.crawler.stats, reason)
        runstats.inc(self.crawler.stats, "pages_failed")
        self.logger.error(reason)
        return iter(())

    def cdx_failed(self, failure: Failure) -> None:
        plan: PagePlan = failure.request.cb_kwargs["plan"]
        message = f"{plan.site}: archive unreachable for CDX query {failure.request.url}: {failure.getErrorMessage()}"
        runstats.note_error(self.crawler.stats, message)
        runstats.inc(self.crawler.stats, "pages_failed")
        self.logger.error(message)

    # --- captures --------------------------------------------------------------------------------
    def _capture_or_outcome(self, plan: PagePlan, record: CdxRecord) -> Iterator[Any]:
        if record.is_error:
            yield CaptureOutcome(plan.page_id, record, "skipped", f"archived-http-{record.status}")
            return
        digests = self._digests[plan.page_id]
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
        if memento is None:
            # Not an archived response: the archive itself answered (error, rate limit exhausted, ...).
            yield CaptureOutcome(plan.page_id, record, "failed", f"archive-http-{response.status}")
            return
        if 300 <= response.status < 400 and response.headers.get("Location"):
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

    def _follow_redirect(self, response: Response, plan: PagePlan, record: CdxRecord,
                         hops: list[str], memento: str) -> Iterator[Any]:
        current = hops[-1] if hops else record.original_url
        location = response.headers["Location"].decode("latin-1").strip()
        target = _original_from_location(location, current, self.archive)
        if target in hops or target == record.original_url:
            yield CaptureOutcome(plan.page_id, record, "skipped", "redirect-loop")
        elif len(hops) >= self.max_redirects:
            yield CaptureOutcome(plan.page_id, record, "skipped", "too-many-redirects")
        else:
            yield self._capture_request(plan, record, target, memento, hops + [target])

    def capture_failed(self, failure: Failure) -> Iterator[Any]:
        kwargs = failure.request.cb_kwargs
        reason = f"fetch-error: {failure.getErrorMessage()[:200]}"
        runstats.note_error(self.crawler.stats, f"{kwargs['plan'].site}: capture {kwargs['record'].timestamp}: {reason}")
        yield CaptureOutcome(kwargs["plan"].page_id, kwargs["record"], "failed", reason)


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


def _original_from_location(location: str, current: str, archive: Archive) -> str:
    """The original URL a replayed redirect points to.

    In ``id_`` mode the archive returns the ``Location`` as captured: absolute, path-only (``/privacy``) or
    scheme-less (``//example.com/privacy``), all relative to the original URL. Some archives rewrite it
    into an archive URL (``/web/2014...id_/http://...``); then the original is the part after the
    timestamp.
    """
    absolute = urljoin(current, location)
    for prefix in (archive.base + "/", archive.base + "/web/"):
        if absolute.startswith(prefix):
            rest = absolute[len(prefix):]
            stamp, _, original = rest.partition("/")
            if stamp[:1].isdigit() and original:
                return original
    return absolute


def _header_list(response: Response) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for name, values in response.headers.items():
        for value in values:
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
    return headers
