"""Downloader middlewares: archive politeness, and normalizing each capture as it is downloaded.

Politeness: per-endpoint-kind rate pools and 429 pauses (:class:`ArchivePolitenessMiddleware`).

The Internet Archive limits each endpoint kind separately (CDX/timemap ~30/min, mementos ~8/s) and
blocks IPs that keep hitting an endpoint after a 429. So every request is tagged with its endpoint
kind (``request.meta["policytrack_endpoint"]``: ``"cdx"`` or ``"capture"``) and waits for a slot in that
kind's pool; a 429 pauses the whole pool for ``Retry-After`` seconds (default 60) before the request is
retried. Pools are shared by every spider in the process (keyed by archive host and kind), because the
archive counts per IP, not per spider. With ``POLICYTRACK_REDIS_URL`` set, the budget and the pauses
are shared by every worker process instead (:mod:`crawler.distributed.budget`).

Normalizing (:class:`NormalizerMiddleware`): the spider bisects a page's history, so which capture it
fetches next depends on what the previous ones normalized to. Normalizing in the download path -- the
way Scrapy attaches parsed data to a response -- hands the spider that answer with the response itself:
nothing waits on the item pipeline, which only stores (an earlier design awaited pipeline results and
stalled once Scrapy's scraper back-pressure stopped the downloads those results waited for).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import ClassVar

from scrapy import Request, Spider, signals
from scrapy import exceptions as scrapy_exceptions
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefused, DNSLookupError
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from core.errors import NotNormalizable, PolicytrackError
from crawler import runstats
from crawler.normalizer import CaptureMeta, Normalized, Normalizer
from crawler.soft404 import looks_like_soft_404

logger = logging.getLogger(__name__)


@dataclass
class RatePool:
    """Evenly spaced slots at ``rate`` requests per second, plus an optional pause."""

    rate: float
    next_slot: float = 0.0
    paused_until: float = 0.0
    pauses: int = field(default=0)

    def reserve(self, now: float) -> float:
        """Reserve the next free slot and return how long to wait for it."""
        start = max(now, self.next_slot, self.paused_until)
        self.next_slot = start + 1.0 / self.rate
        return start - now

    def pause(self, now: float, seconds: float) -> None:
        self.paused_until = max(self.paused_until, now + seconds)
        self.next_slot = max(self.next_slot, self.paused_until)
        self.pauses += 1


def retry_after_seconds(value: bytes | str | None, default: float, now: float | None = None) -> float:
    """Parse a Retry-After header: delta-seconds or an HTTP date. Unparseable or missing -> default."""
    if not value:
        return default
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return default
    return max(0.0, when - (now if now is not None else time.time()))


class ArchivePolitenessMiddleware:
    # Shared by every crawler in the process: the archive rate-limits per IP.
    _pools: ClassVar[dict[tuple[str, str], RatePool]] = {}

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.rates = {
            "cdx": settings.getfloat("POLICYTRACK_CDX_RATE_PER_MINUTE") / 60.0,
            "capture": settings.getfloat("POLICYTRACK_CAPTURE_RATE_PER_SECOND"),
        }
        self.default_retry_after = settings.getfloat("POLICYTRACK_RETRY_AFTER_DEFAULT")
        self.max_rate_limit_retries = settings.getint("POLICYTRACK_MAX_RATE_LIMIT_RETRIES")
        self.backoff_base = settings.getfloat("POLICYTRACK_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("POLICYTRACK_BACKOFF_MAX")
        self.connect_retries = settings.getint("POLICYTRACK_CONNECT_RETRIES")
        redis_url = settings.get("POLICYTRACK_REDIS_URL")
        self.shared = None
        if redis_url:
            from crawler.distributed.budget import SharedBudget

            self.shared = SharedBudget(redis_url, self.rates)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchivePolitenessMiddleware":
        return cls(crawler)

    def _pool(self, request: Request) -> RatePool | None:
        kind = request.meta.get("policytrack_endpoint")
        if kind not in self.rates:
            return None
        key = (_host(request), kind)
        pool = self._pools.get(key)
        if pool is None or pool.rate != self.rates[kind]:
            pool = self._pools[key] = RatePool(self.rates[kind])
        return pool

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        from twisted.internet import reactor  # the one Scrapy installed (importing it earlier would install one)

        pool = self._pool(request)
        if pool is None:
            return None
        extra = request.meta.pop("policytrack_backoff", 0.0)
        if self.shared is not None:
            return await self._shared_slot(request, extra)
        while True:
            delay = pool.reserve(time.monotonic()) + extra
            extra = 0.0
            if delay > 0:
                await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
            # A 429 may have paused the pool while this request waited for its slot: wait again.
            if pool.paused_until <= time.monotonic():
                return None

    async def _shared_slot(self, request: Request, extra: float) -> None:
        """Wait for a slot in the budget every worker shares (a Redis round trip, in a thread)."""
        from twisted.internet import reactor

        kind, host = request.meta["policytrack_endpoint"], _host(request)
        if extra > 0:
            await maybe_deferred_to_future(deferLater(reactor, extra, lambda: None))
        while (delay := await maybe_deferred_to_future(deferToThread(self.shared.wait, kind, host))) > 0:
            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))

    def _pause(self, request: Request, pool: RatePool | None, seconds: float) -> None:
        if pool is None:
            return
        pool.pause(time.monotonic(), seconds)
        if self.shared is not None:  # a blocking Redis call: rare (429s), short, on loopback or LAN
            self.shared.pause(request.meta["policytrack_endpoint"], _host(request), seconds)

    def _backoff(self, request: Request) -> None:
        """Exponential backoff before RetryMiddleware's retry of this request (it copies meta)."""
        attempt = request.meta.get("retry_times", 0)
        request.meta["policytrack_backoff"] = min(self.backoff_max, self.backoff_base * 2 ** attempt)

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        """Timeouts, refused and reset connections: RetryMiddleware retries, after a backoff.

        An archive that refuses connections (down, wrong port) is not going to answer the next minute:
        those are retried only ``POLICYTRACK_CONNECT_RETRIES`` times, each one said in the log.
        """
        self._backoff(request)
        if isinstance(exception, _CONNECT_ERRORS):
            request.meta["max_retry_times"] = min(request.meta.get("max_retry_times", self.connect_retries),
                                                  self.connect_retries)
            attempt = request.meta.get("retry_times", 0) + 1
            if attempt <= self.connect_retries:
                logger.warning("the archive did not accept the connection for %s (%s): retry %d of %d in %.0f s",
                               request.url, type(exception).__name__, attempt, self.connect_retries,
                               request.meta["policytrack_backoff"])
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        if "Memento-Datetime" in response.headers:
            # An archived response -- even an archived 429 or 503 -- is data, not the archive talking:
            # retrying it would only fetch the same bytes again.
            request.meta["dont_retry"] = True
            return response
        if response.status >= 500:
            self._backoff(request)
            retry_after = response.headers.get("Retry-After")
            pool = self._pool(request)
            if retry_after:
                self._pause(request, pool, retry_after_seconds(retry_after, 0.0))
            return response
        if response.status != 429:
            return response
        pool = self._pool(request)
        wait = retry_after_seconds(response.headers.get("Retry-After"), self.default_retry_after)
        self._pause(request, pool, wait)
        retries = request.meta.get("policytrack_rate_limited", 0) + 1
        runstats.inc(self.crawler.stats, "rate_limited")
        logger.warning(
            "429 from the archive for %s: pausing %s requests for %.0f s (attempt %d)",
            request.url, request.meta.get("policytrack_endpoint", "all"), wait, retries,
        )
        if retries > self.max_rate_limit_retries:
            return response  # the spider records it as a failure; the next run retries
        retry = request.replace(dont_filter=True)
        retry.meta["policytrack_rate_limited"] = retries
        return retry


def _host(request: Request) -> str:
    return request.url.split("/", 3)[2] if "://" in request.url else ""


# Connections the archive did not accept at all (as opposed to timeouts and resets mid-answer). Scrapy
# >= 2.14 hands download handler errors over as its own DownloadConnectionRefusedError.
_CONNECT_ERRORS: tuple[type[BaseException], ...] = (TxConnectionRefused, DNSLookupError, ConnectionRefusedError) + tuple(
    getattr(scrapy_exceptions, name) for name in ("DownloadConnectionRefusedError",) if hasattr(scrapy_exceptions, name))


# --- normalizing ---------------------------------------------------------------------------------------
NORMALIZE = "policytrack_normalize"        # request.meta: the capture's CaptureMeta (headers come later)
NORMALIZED = "policytrack_normalized"      # response.meta: a Normalized, a NoDocument or a NormalizerFailed


@dataclass(frozen=True)
class NoDocument:
    """The capture holds no policy text (``reason``: empty, unsupported-type, soft-404, ...): final."""

    reason: str
    message: str


@dataclass(frozen=True)
class NormalizerFailed:
    """The normalizer itself failed. ``fatal``: it cannot work at all (Node missing or not starting)."""

    message: str
    fatal: bool


def header_list(response: Response) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for name, values in response.headers.items():
        for value in values:
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
    return headers


class NormalizerMiddleware:
    """Normalize every archived capture response (2xx with ``Memento-Datetime``) whose request carries
    ``meta[NORMALIZE]``, in Twisted's thread pool, and attach the outcome as ``meta[NORMALIZED]``.

    Owns the Readability worker pool: started on first use (a crawl with nothing to fetch starts no Node
    process) and stopped when the spider closes -- unless ``POLICYTRACK_NORMALIZER_KEEP`` is set (a
    distributed worker, one crawl per page): then one pool serves every crawl of the process, until
    :meth:`close_kept`.
    """

    _kept: ClassVar[Normalizer | None] = None
    _kept_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        workers = settings.get("POLICYTRACK_NORMALIZER_WORKERS")
        self.workers = int(workers) if workers else None
        self.timeout = settings.getfloat("POLICYTRACK_NORMALIZER_TIMEOUT")
        self.keep = settings.getbool("POLICYTRACK_NORMALIZER_KEEP")
        self._normalizer: Normalizer | None = None
        self._lock = threading.Lock()
        self._closed = False
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "NormalizerMiddleware":
        return cls(crawler)

    async def process_response(self, request: Request, response: Response, spider: Spider | None = None):
        meta = request.meta.get(NORMALIZE)
        if meta is None or "Memento-Datetime" not in response.headers or not 200 <= response.status < 300:
            return response
        meta = replace(meta, headers=tuple(header_list(response)))
        request.meta[NORMALIZED] = await maybe_deferred_to_future(deferToThread(self.normalize, response.body, meta))
        return response

    def normalize(self, payload: bytes, meta: CaptureMeta) -> Normalized | NoDocument | NormalizerFailed:
        """In a worker thread: one capture's outcome, never an exception."""
        try:
            result = self._get().normalize(payload, meta)
        except NotNormalizable as exc:
            return NoDocument(exc.reason, str(exc))
        except PolicytrackError as exc:  # ConfigurationError and a closed pool: no capture can be normalized
            return NormalizerFailed(f"normalizer failed: {exc}", fatal=True)
        except Exception as exc:  # a defect on one document: recorded on the run, the crawl goes on
            logger.debug("normalizing %s %s failed", meta.original_url, meta.timestamp, exc_info=True)
            return NormalizerFailed(f"normalizer failed on this capture: {runstats.describe(exc)}", fatal=False)
        if looks_like_soft_404(result.title, result.body):
            return NoDocument("soft-404", "the page says it was not found")
        return result

    def _get(self) -> Normalizer:
        with self._lock:
            if self._closed:
                raise PolicytrackError("the normalizer is closed (the crawl is ending)")
            if self._normalizer is None:
                self._normalizer = self._kept_one() if self.keep else Normalizer(workers=self.workers, timeout=self.timeout)
            return self._normalizer

    def _kept_one(self) -> Normalizer:
        cls = type(self)
        with cls._kept_lock:
            if cls._kept is None:
                cls._kept = Normalizer(workers=self.workers, timeout=self.timeout)
            return cls._kept

    @classmethod
    def close_kept(cls) -> None:
        """Stop the pool kept across crawls (a worker process leaving)."""
        with cls._kept_lock:
            normalizer, cls._kept = cls._kept, None
        if normalizer is not None:
            normalizer.close()

    def close(self, spider: Spider | None = None) -> None:
        with self._lock:
            self._closed = True
            normalizer, self._normalizer = self._normalizer, None
        if normalizer is not None and not self.keep:
            normalizer.close()
