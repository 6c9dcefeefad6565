"""The listing watermark: how far a page's captures are known to be listed and settled.

A daily refresh should cost one CDX request per page, but a page's whole listing is one Internet Archive
request per 5,000 captures. So when a page's crawl completes, the newest capture its listing read is
recorded here, with the policy periods the listing was cut to; the next crawl asks the archive only for
the captures from that timestamp on (CDX ``from``, inclusive). It is recorded only for a crawl that
completed -- the whole listing read and every capture it listed settled -- so every capture up to it is
in the store, and a crawl that did not complete leaves the previous watermark, whose tail covers the
gaps it left. It holds only while that stays true: a capture up to it that is open again (pending or
failed: re-normalizing reopened an inferred capture, or a ``--full`` listing found an older one and could
not fetch it) makes the page listed whole until a crawl settles it. The crawler decides when else the
watermark may be used (``crawler.spiders.captures.listing_start``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage.models import Capture, PageListing

Window = tuple[str, Optional[str]]  # a policy period: (valid_from, valid_until or None)
_TIMESTAMP = re.compile(r"\d{14}")


@dataclass(frozen=True)
class ListingWatermark:
    """``listed_until``: the newest capture the page's last complete crawl listed; ``windows``: the policy
    periods that listing was cut to, () for a page tracked by URL (its whole history)."""

    listed_until: str
    windows: tuple[Window, ...] = ()


def record_listing_watermark(session: Session, page_id: int, watermark: ListingWatermark | None) -> None:
    """Record the watermark of a page whose crawl just completed, after its listing outcome
    (``storage.record_listing``); None: that listing found no capture. Idempotent. A crawl that did not
    complete must not call this: the previous watermark stays, so the next listing covers its gaps."""
    if watermark is not None and not _TIMESTAMP.fullmatch(watermark.listed_until):
        raise ValueError(f"listed_until must be a 14-digit archive timestamp, got {watermark.listed_until!r}")
    listing = session.get(PageListing, page_id)
    if listing is None:
        raise ValueError(f"page {page_id} has no listing outcome to put a watermark on")
    listing.listed_until = watermark.listed_until if watermark is not None else None
    listing.listed_windows = [list(w) for w in watermark.windows] if watermark is not None else None


def listing_watermark(session: Session, page_id: int) -> ListingWatermark | None:
    """The page's watermark; None (list the page whole) when no completed crawl has recorded one, or when a
    capture at or before it is open again (pending or failed): a tail listing would never settle it."""
    row = session.execute(
        select(PageListing.listed_until, PageListing.listed_windows).where(PageListing.page_id == page_id)
    ).one_or_none()
    if row is None or row.listed_until is None:
        return None
    reopened = session.scalar(select(exists().where(
        Capture.page_id == page_id, Capture.timestamp <= row.listed_until, Capture.state.in_(("pending", "failed")))))
    if reopened:
        return None
    return ListingWatermark(row.listed_until, tuple((start, until) for start, until in row.listed_windows or ()))
