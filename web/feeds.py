"""Atom feeds (RFC 4287) of detected changes, for all sites and per site, linking to the web view's diffs.

The scheduler writes a feed file whose entries point at the archive; these entries point at this server's
diff pages, so they are built here (standard library ``xml.etree``: it escapes and encodes correctly).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from storage.announcements import ChangeAnnouncement

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}"


def changes_feed(changes: Sequence[ChangeAnnouncement], *, feed_id: str, title: str, self_url: str,
                 page_url: str, diff_url: Callable[[ChangeAnnouncement], str], now: datetime | None = None) -> bytes:
    """An Atom document, one entry per change in the order given (newest first)."""
    feed = ET.Element(f"{{{ATOM}}}feed")
    _el(feed, "id", feed_id)
    _el(feed, "title", title)
    _el(feed, "updated", _iso(max((c.detected_at for c in changes), default=now or datetime.now(timezone.utc))))
    _el(_el(feed, "author"), "name", "policytrack")
    _el(feed, "link", rel="self", href=self_url)
    _el(feed, "link", rel="alternate", href=page_url, type="text/html")
    for change in changes:
        entry = _el(feed, "entry")
        _el(entry, "id", f"urn:policytrack:change:{change.change_id}")
        kind = "technical change" if change.technical else "privacy policy changed"
        _el(entry, "title", f"{change.site}: {kind}")
        _el(entry, "updated", _iso(change.detected_at))
        _el(entry, "link", rel="alternate", href=diff_url(change), type="text/html")
        _el(entry, "summary",
            f"{change.page_url} changed between {_day(change.before_timestamp)} and {_day(change.after_timestamp)}: "
            f"{change.summary.describe()}.")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
