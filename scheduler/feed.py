"""The Atom feed of detected changes (RFC 4287), written with the standard library.

Why not ``feedgen``: an Atom feed is a dozen elements, and ``xml.etree`` escapes and encodes them
correctly; feedgen would bring lxml and dateutil for no gain. :func:`atom_feed` is pure (the API can
serve its bytes); :func:`write_feed` writes a file atomically so a feed reader never sees half of one.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import storage
from core.errors import ConfigurationError
from scheduler.announce import message
from core.atom import ATOM, element, iso
from core.atom import entry_id as atom_entry_id
from storage.announcements import ChangeAnnouncement, recent_changes

DEFAULT_FEED_ID = "urn:policytrack:changes"
DEFAULT_LIMIT = 50


def entry_id(change: ChangeAnnouncement) -> str:
    return atom_entry_id(change.change_id)


def atom_feed(changes: Sequence[ChangeAnnouncement], *, feed_id: str = DEFAULT_FEED_ID,
              title: str = "policytrack: privacy policy changes", self_link: str | None = None,
              now: datetime | None = None) -> bytes:
    """An Atom document with one entry per change, in the order given (newest first, by convention)."""
    feed = ET.Element(f"{{{ATOM}}}feed")
    element(feed, "id", feed_id)
    element(feed, "title", title)
    updated = max((c.detected_at for c in changes), default=now or datetime.now(timezone.utc))
    element(feed, "updated", iso(updated))
    author = element(feed, "author")
    element(author, "name", "policytrack")
    element(feed, "generator", "policytrack")
    if self_link:
        element(feed, "link", rel="self", href=self_link)
    for change in changes:
        heading, body = message(change)
        entry = element(feed, "entry")
        element(entry, "id", entry_id(change))
        element(entry, "title", f"{heading} ({change.summary.lines_added:+d}/-{change.summary.lines_removed} lines)")
        element(entry, "updated", iso(change.detected_at))
        element(entry, "published", iso(change.detected_at))
        element(entry, "link", rel="alternate", href=change.after.link)
        element(entry, "link", rel="related", href=change.before.link,
            title="the version before")
        element(entry, "category", term=change.site)
        for section in change.summary.sections:
            element(entry, "category", term=section, scheme="urn:policytrack:section")
        element(entry, "summary", change.summary.describe(), type="text")
        element(entry, "content", body, type="text")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def feed_bytes(db: storage.Database, *, limit: int = DEFAULT_LIMIT, site: str | None = None,
               include_technical: bool = False) -> bytes:
    with db.session() as session:
        changes = recent_changes(session, limit=limit, site=site, include_technical=include_technical)
    title = f"policytrack: {site} privacy policy changes" if site else "policytrack: privacy policy changes"
    feed_id = f"{DEFAULT_FEED_ID}:{site}" if site else DEFAULT_FEED_ID
    return atom_feed(changes, feed_id=feed_id, title=title)


def write_feed(db: storage.Database, path: str | Path, *, limit: int = DEFAULT_LIMIT, site: str | None = None,
               include_technical: bool = False) -> int:
    """Write the feed to ``path`` atomically; returns its size in bytes."""
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise ConfigurationError(f"cannot write feed {str(target)!r}: directory {str(target.parent)!r} does not exist")
    data = feed_bytes(db, limit=limit, site=site, include_technical=include_technical)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)
