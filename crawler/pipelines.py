"""The storage pipeline: record captures and raw snapshots, and rebuild each page's versions when the
spider says the page is finished. It only stores: normalizing happened in the download path
(:class:`crawler.middlewares.NormalizerMiddleware`) and the spider never waits on this pipeline.

Scrapy-style ownership: the database is opened in ``open_spider`` and released in ``close_spider``. Work
on an item runs in Twisted's thread pool so that no database write and no version rebuild ever blocks
the reactor; writes are serialized by one lock (SQLite has one writer) and each item is committed on its
own, so a crash loses at most the items in flight and a rerun resumes. Write sessions take SQLite's
write lock at BEGIN (``immediate``) so that another process writing at the same time (a cron crawl of
other sites beside the scheduler) makes this one wait instead of failing.

Items are stored concurrently, so a page's :class:`~crawler.items.PageFinished` can arrive before the
page's last captures are stored; it says how many items came before it, and the page's versions are
rebuilt (from all its normalized captures in time order, which is what makes out-of-order discovery and
reruns come out right) by whichever thread stores the last of them. A page finished without any error
is marked complete and gets its listing watermark (``storage.watermark``: its next crawl lists only the
captures from the newest one listed on); history of a page whose last crawl did not complete is shown as
provisional, and its watermark stays where the last complete crawl left it.

No exception escapes: an item that cannot be stored is an error recorded on the run (and its page is
not complete), and the other items go on.

Once a finished page's versions are rebuilt the pipeline sends :data:`page_stored` (page id, and the page's
first error or None): everything the crawl learned about that page is stored, which is when a distributed
worker acknowledges it (:mod:`crawler.distributed.batch`) without waiting for the rest of the crawl.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

import storage
from crawler import runstats
from crawler.items import (
    CaptureListing,
    CaptureOutcome,
    FetchedCapture,
    ListingOutcome,
    PageFinished,
)

logger = logging.getLogger(__name__)

# Scrapy signal, sent on the reactor thread: ``page_id`` is stored; ``error``: its first error (None: none).
page_stored = object()


class StoragePipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = settings.get("POLICYTRACK_DB")
        self.run_id = settings.getint("POLICYTRACK_RUN_ID") or None
        self.write_lock = threading.Lock()
        # Per page: items stored so far, the PageFinished waiting for the rest, pages with a storage error.
        self._pages_lock = threading.Lock()
        self._stored: Counter[int] = Counter()
        self._finished: dict[int, PageFinished] = {}
        self._failed_pages: dict[int, str] = {}  # page id -> its first storage error
        # Errors Scrapy catches itself (a spider callback or another pipeline raising) are errors of the run.
        crawler.signals.connect(self._spider_error, signal=signals.spider_error)
        crawler.signals.connect(self._item_error, signal=signals.item_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.db = storage.open_database(self.db_url)

    async def close_spider(self, spider: Spider | None = None) -> None:
        """Pages the crawl did not finish (stopped, or a defect): rebuild what was stored, not complete."""
        try:
            with self._pages_lock:
                unfinished = sorted(self._stored)
                self._stored.clear()
            if unfinished:
                await maybe_deferred_to_future(deferToThread(self._rebuild_pages, unfinished))
        finally:
            self.db.dispose()

    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        stored = await maybe_deferred_to_future(deferToThread(self._process, item))
        if stored is not None:
            page_id, error = stored
            self.crawler.signals.send_catch_log(page_stored, page_id=page_id, error=error)
        return item

    # --- in a worker thread ----------------------------------------------------------------------
    def _process(self, item: Any) -> tuple[int, str | None] | None:
        """Store ``item``; returns (page id, its first error or None) when it completed a finished page."""
        page_id = getattr(item, "page_id", None)
        if isinstance(item, PageFinished):
            with self._pages_lock:
                self._finished[page_id] = item
                ready = self._stored[page_id] >= item.items
            return self._finish_page(item) if ready else None
        try:
            self._store(item)
        except Exception as exc:
            self._note_failure(page_id, f"could not store {type(item).__name__}: {runstats.describe(exc)}")
        if page_id is None:
            return None
        with self._pages_lock:
            self._stored[page_id] += 1
            finished = self._finished.get(page_id)
            ready = finished is not None and self._stored[page_id] >= finished.items
        return self._finish_page(finished) if ready else None

    def _note_failure(self, page_id: int | None, message: str) -> None:
        logger.error("page %s: %s", page_id, message)
        logger.debug("page %s: the error in full", page_id, exc_info=True)
        runstats.note_error(self.stats, f"page {page_id}: {message}" if page_id is not None else message)
        if page_id is not None:
            with self._pages_lock:
                self._failed_pages.setdefault(page_id, message)

    def _store(self, item: Any) -> None:
        if isinstance(item, CaptureListing):
            with self.write_lock, self.db.session(immediate=True) as session:
                new = storage.record_captures(session, item.page_id, item.records, self.run_id)
            runstats.inc(self.stats, "captures_new", new)
        elif isinstance(item, FetchedCapture):
            self._store_fetched(item)
        elif isinstance(item, CaptureOutcome):
            with self.write_lock, self.db.session(immediate=True) as session:
                capture_id = self._capture_id(session, item.page_id, item.record)
                storage.record_capture_outcome(session, capture_id, state=item.state, reason=item.reason)
            runstats.inc(self.stats, "captures_skipped" if item.state == "skipped" else "captures_failed")
        elif isinstance(item, ListingOutcome):
            with self.write_lock, self.db.session(immediate=True) as session:
                storage.record_listing(session, item.page_id, item.state, item.reason, self.run_id)
        else:
            raise TypeError(f"unknown item {item!r}")

    def _capture_id(self, session, page_id: int, record) -> int:
        """The capture row of ``record``, created if its listing item has not been stored yet."""
        storage.record_captures(session, page_id, [record], self.run_id)
        return storage.capture_id(session, page_id, record.timestamp)

    def _store_fetched(self, item: FetchedCapture) -> None:
        record, result = item.record, item.normalized
        with self.write_lock, self.db.session(immediate=True) as session:
            capture_id = self._capture_id(session, item.page_id, record)
            snapshot_id, created = storage.store_snapshot(
                session, item.payload, http_status=item.http_status, headers=item.headers, url=item.fetched_url
            )
            if result is None:
                storage.record_capture_outcome(
                    session, capture_id, state="skipped", reason=item.no_document, snapshot_id=snapshot_id,
                    final_url=item.final_url, final_timestamp=item.final_timestamp,
                )
            else:
                storage.record_normalized(
                    session, capture_id,
                    snapshot_id=snapshot_id,
                    content_sha256=result.content_sha256,
                    title=result.comparable_title,
                    comparable_body=result.comparable_body,
                    extraction=result.extraction,
                    normalizer_version=result.normalizer_version,
                    final_url=item.final_url,
                    final_timestamp=item.final_timestamp,
                )
        runstats.inc(self.stats, "captures_fetched")
        runstats.inc(self.stats, "snapshots_new", int(created))
        if result is None:
            runstats.inc(self.stats, "captures_skipped")
            logger.info("%s %s: no document (%s)", item.site, record.timestamp, item.no_document)

    def _finish_page(self, finished: PageFinished) -> tuple[int, str | None]:
        page_id = finished.page_id
        with self._pages_lock:
            self._finished.pop(page_id, None)
            self._stored.pop(page_id, None)  # close_spider leaves it alone
            failed = page_id in self._failed_pages
        complete = finished.complete and not failed
        if self._rebuild(page_id, complete, finished) and complete:
            runstats.inc(self.stats, "pages_complete")
        with self._pages_lock:
            failure = self._failed_pages.pop(page_id, None)
        return page_id, finished.error or failure

    def _rebuild_pages(self, page_ids: list[int]) -> None:
        for page_id in page_ids:
            self._rebuild(page_id, complete=False)

    def _rebuild(self, page_id: int, complete: bool, finished: PageFinished | None = None) -> bool:
        """Record what bisection inferred, resolve captures that share an already-fetched payload, then
        rebuild the page's versions -- one transaction, after every other item of the page is stored.
        A complete page also gets its listing watermark: its next crawl lists only from there.

        One page's failure is recorded and does not keep the other pages from being rebuilt.
        """
        try:
            inferred = finished.inferred if finished is not None else None
            with self.write_lock, self.db.session(immediate=True) as session:
                if inferred is not None:
                    storage.record_captures(session, page_id, inferred.records, self.run_id)
                    storage.record_inferred(session, page_id, inferred.contents)
                reused = storage.reuse_fetched_digests(session, page_id)
                result = storage.rebuild_versions(session, page_id, self.run_id)
                storage.record_page_crawled(session, page_id, self.run_id, complete=complete)
                if complete and finished is not None:
                    storage.record_listing_watermark(session, page_id, finished.watermark)
        except Exception as exc:
            self._note_failure(page_id, f"could not rebuild its versions: {runstats.describe(exc)}")
            return False
        runstats.inc(self.stats, "captures_reused", reused)
        runstats.inc(self.stats, "versions_new", result.versions_new)
        runstats.inc(self.stats, "changes_new", result.changes_new)
        return True

    # --- errors Scrapy caught ----------------------------------------------------------------------
    def _spider_error(self, failure: Failure, response: Any, spider: Spider) -> None:
        runstats.note_error(self.stats, f"crawler error on {getattr(response, 'url', '?')}: "
                                        f"{failure.type.__name__}: {failure.getErrorMessage()}")

    def _item_error(self, item: Any, response: Any, spider: Spider, failure: Failure) -> None:
        runstats.note_error(self.stats, f"could not process {type(item).__name__}: "
                                        f"{failure.type.__name__}: {failure.getErrorMessage()}")
