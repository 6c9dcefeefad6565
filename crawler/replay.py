"""Reading an archive's replay of a capture: when it was captured, what it was, and where a redirect leads.

Shared by the captures spider and the discovery spider, which both follow redirects themselves (Scrapy's
redirect middleware is off for captures, so every hop stays visible and bounded). Two kinds of redirect
come back from a replay:

* the archive's own (no ``Memento-Datetime``): "the capture you asked for is at this other time" -- an
  archive URL to rebuild on the configured archive;
* an archived one (``Memento-Datetime`` and ``Location``): the site itself redirected that day
  (``example.com`` -> ``www.example.com/``); the next hop is the original URL it names, at that time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from scrapy.http import Response

from crawler.archive import Archive


@dataclass(frozen=True)
class Redirect:
    """The next hop of a replayed redirect: ask the archive for ``url`` at ``timestamp``.

    ``archived``: the site's own redirect (else the archive's, to the nearest capture). ``url`` is None when
    the archive's redirect leads outside the archive (nothing to follow)."""

    timestamp: str
    url: str | None
    archived: bool
    location: str


def redirect_of(response: Response, current: str, archive: Archive) -> Redirect | None:
    """The redirect ``response`` is (``current``: the original URL asked for), or None if it is none."""
    location = response.headers.get("Location")
    if not (300 <= response.status < 400 and location):
        return None
    text = location.decode("latin-1").strip()
    memento = memento_timestamp(response)
    if memento is None:
        parts = archive_url_parts(urljoin(response.url, text), archive)
        return Redirect(parts[0], parts[1], False, text) if parts else Redirect("", None, False, text)
    return Redirect(memento, original_from_location(text, current, response.url, archive), True, text)


def memento_timestamp(response: Response) -> str | None:
    """The 14-digit time of the capture actually replayed, from ``Memento-Datetime`` (None if absent)."""
    value = response.headers.get("Memento-Datetime")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.decode("latin-1"))
    except (TypeError, ValueError):
        return None
    return when.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def seconds_apart(a: str, b: str) -> float:
    parse = lambda ts: datetime.strptime(ts, "%Y%m%d%H%M%S")  # noqa: E731
    return abs((parse(a) - parse(b)).total_seconds())


def archive_url_parts(url: str, archive: Archive) -> tuple[str, str] | None:
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


def original_from_location(location: str, current: str, request_url: str, archive: Archive) -> str:
    """The original URL a replayed redirect points to.

    The Internet Archive rewrites an archived ``Location`` into an archive URL -- absolute, path-only
    (``/web/2020...id_/https://...``) or scheme-less (``//web.archive.org/web/...``) -- while pywb in
    ``id_`` mode returns it as captured (``/privacy``), relative to the original URL.
    """
    parts = archive_url_parts(urljoin(request_url, location), archive)
    return parts[1] if parts else urljoin(current, location)


_ORIGINAL_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?original"?')


def replayed_original(response: Response) -> str | None:
    """The URL of the capture the archive replayed (Memento ``Link: <...>; rel="original"``).

    Archives match URLs without ``www.`` and replay ``www.example.com/`` for ``example.com/`` (a redirect
    between the two is a "self-redirect" they skip): relative links must resolve against what was captured.
    """
    link = response.headers.get("Link")
    match = _ORIGINAL_LINK.search(link.decode("latin-1")) if link else None
    return match.group(1) if match else None
