"""What the spider hands to the pipelines. Plain dataclasses: Scrapy supports them as items."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.bisect import NO_TEXT
from crawler.cdx import CdxRecord
from crawler.normalizer import Normalized
from storage.watermark import ListingWatermark


@dataclass
class PagePlan:
    """One tracked page and what the store already knows about it, read once before the crawl.

    The spider uses it to decide what to request without touching the database itself.
    """

    page_id: int
    site: str
    url: str
    done_timestamps: set[str] = field(default_factory=set)
    done_digests: set[str] = field(default_factory=set)
    known_contents: dict[str, str] = field(default_factory=dict)   # timestamp -> content hash ("" = no text)
    # A discovered page: the periods in which it was its site's policy page (valid_from, valid_until or
    # None), in time order; only captures in them are listed and fetched. Empty: the page's whole history.
    windows: list[tuple[str, str | None]] = field(default_factory=list)
    # Where its last complete crawl's listing ended (storage.watermark): this crawl may list only the
    # captures from there on. None: never completed, or listed nothing -- list the whole history.
    watermark: ListingWatermark | None = None


@dataclass
class CaptureListing:
    """CDX rows of one page (one CDX response page), to be recorded as captures."""

    page_id: int
    records: list[CdxRecord]


@dataclass
class ListingOutcome:
    """How the listing of one page's captures ended: ``listed`` (the whole CDX listing is in),
    ``blocked`` (the archive refuses: robots.txt, an exclusion) or ``failed`` (it could not answer)."""

    page_id: int
    state: str
    reason: str | None = None


@dataclass
class FetchedCapture:
    """The raw bytes of one capture, as replayed in ``id_`` mode (after following archived redirects),
    with what they normalized to (:class:`~crawler.middlewares.NormalizerMiddleware`): ``normalized``,
    or ``no_document`` -- the reason the capture holds no policy text (``empty``, ``soft-404``, ...)."""

    page_id: int
    site: str
    record: CdxRecord
    payload: bytes
    http_status: int
    headers: list[tuple[str, str]]
    fetched_url: str
    normalized: Normalized | None = None
    no_document: str | None = None
    final_url: str | None = None        # set when an archived redirect was followed
    final_timestamp: str | None = None

    @property
    def content(self) -> str:
        """What bisection compares: the text's hash, or ``NO_TEXT`` for a capture without a document."""
        return self.normalized.content_sha256 if self.normalized is not None else NO_TEXT


@dataclass
class CaptureOutcome:
    """A capture that yields no snapshot this run: recorded with its reason.

    ``state`` is ``"skipped"`` (final: archived 404, redirect loop, ...) or ``"failed"`` (transient: retried
    on the next run).
    """

    page_id: int
    record: CdxRecord
    state: str
    reason: str


@dataclass
class InferredCaptures:
    """Captures bisection did not fetch because both neighbours normalized to the same text."""

    page_id: int
    records: list[CdxRecord]
    contents: dict[str, str]        # timestamp -> content hash


@dataclass
class PageFinished:
    """Every capture of one page this run will resolve is resolved: its versions can be rebuilt now.

    ``items``: how many items the spider yielded for the page before this one (the pipeline stores items
    concurrently, so it rebuilds once it has stored that many). ``complete``: the spider met no error on
    the page -- its whole listing was read and every capture it decided to fetch was resolved.
    ``error``: the first error met on the page (None: none; an incomplete page without one was refused
    by the archive), which a distributed worker reports for that page alone.
    """

    page_id: int
    items: int
    complete: bool
    inferred: InferredCaptures | None = None   # stored once the fetched captures they copy are stored
    # The newest capture this crawl's listing read, and the periods it was cut to: recorded as the page's
    # watermark if the page is complete (None then: the listing found no capture).
    watermark: ListingWatermark | None = None
    error: str | None = None


@dataclass
class DiscoveredPeriod:
    """One period of a site's homepage history with the same discovered privacy link (or none).

    ``valid_from``: the first homepage capture of the period; ``valid_until``: the first one of the next
    period (None: the last period). ``url`` is None when no link was found or the policy check rejected
    the page behind it (``rejected``: why). ``explanation``: ``crawler.discovery.format_explanation``.
    """

    valid_from: str
    valid_until: str | None
    found_on: str
    url: str | None
    cross_site: bool
    explanation: str
    rejected: str | None = None


@dataclass
class DiscoveredSite:
    """What the discovery crawl found for one site: its periods in time order, and what it cost.

    ``complete``: the whole listing was read and every fetch it planned succeeded; an incomplete discovery
    is not stored (it would replace good periods with partial ones).
    """

    site: str
    periods: list[DiscoveredPeriod]
    complete: bool
    cdx_requests: int = 0
    homepage_fetches: int = 0
    homepage_captures: int = 0
    policy_fetches: int = 0
    since: str | None = None        # only the homepage captures from then on were read (a crawl's increment)
    seen_until: str | None = None   # the newest homepage capture read
    unchanged: bool = False         # no new homepage payload since ``since``: the stored periods stand
