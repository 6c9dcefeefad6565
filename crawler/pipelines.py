"""The storage pipeline: record captures, keep raw snapshots, normalize, build versions.

Scrapy-style ownership: the database and the normalizer's worker pool are opened in ``open_spider`` and
released in ``close_spider``. Work on an item runs in Twisted's thread pool so that neither Readability
nor a database write ever blocks the reactor; writes are serialized by one lock (SQLite has one writer)
and each item is committed on its own, so a crash loses at most the items in flight and a rerun resumes.
Write sessions take SQLite's write lock at BEGIN (``immediate``) so that another process writing at the
same time (a cron crawl of other sites beside the scheduler) makes this one wait instead of failing.

Versions are (re)built per page when the spider closes, from all normalized captures in time order:
this is what makes out-of-order discovery and reruns come out right.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

import storage
from crawler import runstats
from crawler.results import results_for
from crawler.soft404 import looks_like_soft_404
from crawler.bisect import NO_TEXT
from crawler.items import CaptureListing, CaptureOutcome, FetchedCapture, InferredCaptures, ListingOutcome
from crawler.normalizer import CaptureMeta, Normalizer
from core.errors import NotNormalizable

logger = logging.getLogger(__name__)


class StoragePipeline:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.results = results_for(crawler)
        self.db_url = settings.get("POLICYTRACK_DB")
        self.run_id = settings.getint("POLICYTRACK_RUN_ID") or None
        workers = settings.get("POLICYTRACK_NORMALIZER_WORKERS")
        self.workers = int(workers) if workers else None
        self.timeout = settings.getfloat("POLICYTRACK_NORMALIZER_TIMEOUT")
        self.write_lock = threading.Lock()
        self.pages_touched: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.db = storage.open_database(self.db_url)
        self.normalizer = Normalizer(workers=self.workers, timeout=self.timeout)
        # Scrapy >= 2.13 may call this without the spider argument.
        spider = spider or self.crawler.spider
        self.pages_touched = {plan.page_id for plan in getattr(spider, "pages", [])}

    def close_spider(self, spider: Spider | None = None) -> None:
        try:
            for page_id in sorted(self.pages_touched):
                self._finish_page(page_id)
        finally:
            self.normalizer.close()
            self.db.dispose()

    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        content: str | None = None
        try:
            content = await maybe_deferred_to_future(deferToThread(self._process, item))
        finally:
            if isinstance(item, (FetchedCapture, CaptureOutcome)):
                # Whatever happened, tell a bisecting spider what this capture came to (reactor thread).
                self.results.publish(item.page_id, item.record.timestamp, content)
        return item

    # --- in a worker thread ----------------------------------------------------------------------
    def _process(self, item: Any) -> Any:
        """Store one item; for a capture, return what it normalized to (hash, NO_TEXT, or None)."""
        if isinstance(item, CaptureListing):
            with self.write_lock, self.db.session(immediate=True) as session:
                new = storage.record_captures(session, item.page_id, item.records, self.run_id)
            runstats.inc(self.stats, "captures_new", new)
        elif isinstance(item, FetchedCapture):
            return self._store_fetched(item)
        elif isinstance(item, CaptureOutcome):
            return self._store_outcome(item)
        elif isinstance(item, ListingOutcome):
            with self.write_lock, self.db.session(immediate=True) as session:
                storage.record_listing(session, item.page_id, item.state, item.reason, self.run_id)
        elif isinstance(item, InferredCaptures):
            with self.write_lock, self.db.session(immediate=True) as session:
                storage.record_captures(session, item.page_id, item.records, self.run_id)
                storage.record_inferred(session, item.page_id, item.contents)
        return None

    def _capture_id(self, session, page_id: int, record) -> int:
        """The capture row of ``record``, created if its listing item has not been stored yet."""
        storage.record_captures(session, page_id, [record], self.run_id)
        return storage.capture_id(session, page_id, record.timestamp)

    def _store_outcome(self, item: CaptureOutcome) -> str | None:
        with self.write_lock, self.db.session(immediate=True) as session:
            capture_id = self._capture_id(session, item.page_id, item.record)
            storage.record_capture_outcome(session, capture_id, state=item.state, reason=item.reason)
        runstats.inc(self.stats, "captures_skipped" if item.state == "skipped" else "captures_failed")
        return NO_TEXT if item.state == "skipped" else None

    def _store_fetched(self, item: FetchedCapture) -> str:
        record = item.record
        with self.write_lock, self.db.session(immediate=True) as session:
            capture_id = self._capture_id(session, item.page_id, record)
            snapshot_id, created = storage.store_snapshot(
                session, item.payload, http_status=item.http_status, headers=item.headers, url=item.fetched_url
            )
        runstats.inc(self.stats, "captures_fetched")
        runstats.inc(self.stats, "snapshots_new", int(created))
        meta = CaptureMeta(
            site=item.site,
            original_url=record.original_url,
            timestamp=record.timestamp,
            headers=tuple(item.headers),
            mimetype=record.mimetype,
        )
        try:
            result = self.normalizer.normalize(item.payload, meta)
            if looks_like_soft_404(result.title, result.body):
                raise NotNormalizable("the page says it was not found", reason="soft-404")
        except NotNormalizable as exc:
            with self.write_lock, self.db.session(immediate=True) as session:
                storage.record_capture_outcome(
                    session, capture_id, state="skipped", reason=exc.reason, snapshot_id=snapshot_id,
                    final_url=item.final_url, final_timestamp=item.final_timestamp,
                )
            runstats.inc(self.stats, "captures_skipped")
            logger.info("%s %s: no document (%s)", item.site, record.timestamp, exc)
            return NO_TEXT
        with self.write_lock, self.db.session(immediate=True) as session:
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
        return result.content_sha256

    def _finish_page(self, page_id: int) -> None:
        """Resolve captures that share an already-fetched payload, then rebuild the page's versions."""
        with self.write_lock, self.db.session(immediate=True) as session:
            reused = storage.reuse_fetched_digests(session, page_id)
            result = storage.rebuild_versions(session, page_id, self.run_id)
        runstats.inc(self.stats, "captures_reused", reused)
        runstats.inc(self.stats, "versions_new", result.versions_new)
        runstats.inc(self.stats, "changes_new", result.changes_new)
