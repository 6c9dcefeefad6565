"""Atom feeds (RFC 4287) of detected changes, for all sites and per site, linking to the web view's diffs.

The scheduler writes a feed file whose entries point at the archive; these entries point at this server's
diff pages. Both share core.atom's elements and entry ids (a reader following both sees one entry per change).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from core.atom import ATOM, element, entry_id, iso
from storage.announcements import ChangeAnnouncement


def _day(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}"


def changes_feed(changes: Sequence[ChangeAnnouncement], *, feed_id: str, title: str, self_url: str,
                 page_url: str, diff_url: Callable[[ChangeAnnouncement], str], now: datetime | None = None) -> bytes:
    """An Atom document, one entry per change in the order given (newest first)."""
    feed = ET.Element(f"{{{ATOM}}}feed")
    element(feed, "id", feed_id)
    element(feed, "title", title)
    element(feed, "updated", iso(max((c.detected_at for c in changes), default=now or datetime.now(timezone.utc))))
    element(element(feed, "author"), "name", "policytrack")
    element(feed, "link", rel="self", href=self_url)
    element(feed, "link", rel="alternate", href=page_url, type="text/html")
    for change in changes:
        entry = element(feed, "entry")
        element(entry, "id", entry_id(change.change_id))
        kind = "technical change" if change.technical else "privacy policy changed"
        element(entry, "title", f"{change.site}: {kind}")
        element(entry, "updated", iso(change.detected_at))
        element(entry, "link", rel="alternate", href=diff_url(change), type="text/html")
        element(entry, "summary",
            f"{change.page_url} changed between {_day(change.before_timestamp)} and {_day(change.after_timestamp)}: "
            f"{change.summary.describe()}.")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
