"""The corpus document form, and the timestamp-neutral form versions are compared and stored in.

A corpus document is::

    > *The following text is extracted and transformed from the {site} privacy policy that was archived
    on {YYYY-MM-DD}. Please check the [original snapshot on the Wayback Machine]({snapshot_url}) for the
    most accurate reproduction.*

    # {title}

    {body}

A version first seen by a live check (fetched straight from the site, not from an archive) has no
snapshot to point to. Until the archive has a capture of the same text, its document says so instead
(:func:`live_header_line`), and its links point to the site itself; once the archive has one, the
document is the corpus document of that archived capture.

Readability runs over a DOM whose URL is the raw snapshot URL, so path-relative links in the body come
out as ``https://web.archive.org/web/{timestamp}id_/...``: two byte-identical captures taken a day apart
give bodies that differ only in that timestamp. Versions are therefore compared and stored in a
*comparable* form where the capture's own timestamp inside snapshot URLs is replaced by a sentinel, and
rendered back for whichever capture a document is shown for. Pure functions, no state.

A capture from another Wayback-compatible archive (pywb, OpenWayback) is rendered with that archive's
address (``archive``, see :func:`archive_base_of`): its header and its snapshot links point where the
capture really is. The Internet Archive's form is the corpus's, byte for byte.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, urlsplit

SNAPSHOT_BASE = "https://web.archive.org/web/"
# A private-use character: never produced by html2text from real pages in practice, and
# survives storage unchanged.
TIMESTAMP_SENTINEL = "\ue000"


_WAYBACK_PATH = re.compile(r"^(.*/)\d{14}(?:[a-z]{2}_)?/")


def archive_base_of(fetch_url: str | None = None, archive_spec: str | None = None) -> str:
    """The Wayback base (up to the timestamp) of the archive a capture came from, e.g.
    ``http://127.0.0.1:8080/sample/``: from the crawl's ``--archive`` value (``pywb:http://HOST:PORT/COLL``
    or a Wayback host) if known, else from the URL its snapshot was fetched at; the Internet Archive's
    :data:`SNAPSHOT_BASE` when neither says."""
    spec = (archive_spec or "").strip().rstrip("/")
    if spec.startswith("pywb:"):
        return spec[len("pywb:"):] + "/"
    if spec.startswith(("http://", "https://")):
        return spec + "/web/"
    match = _WAYBACK_PATH.match(fetch_url or "")
    return match.group(1) if match else SNAPSHOT_BASE


def snapshot_url(timestamp: str, original_url: str, archive: str = SNAPSHOT_BASE) -> str:
    """The raw (``id_``) Wayback snapshot URL exactly as the corpus writes it (in ``archive``)."""
    return f"{archive}{timestamp}id_/{quote(original_url, safe='/')}"


def archived_date(timestamp: str) -> str:
    """``20141230054142`` -> ``2014-12-30``."""
    return f"{timestamp[0:4]}-{timestamp[4:6]}-{timestamp[6:8]}"


def header_line(site: str, original_url: str, timestamp: str, archive: str = SNAPSHOT_BASE) -> str:
    where = "on the Wayback Machine" if archive == SNAPSHOT_BASE else f"in the archive at {urlsplit(archive).netloc}"
    return (
        f"> *The following text is extracted and transformed from the {site} privacy policy that was "
        f"archived on {archived_date(timestamp)}. Please check the [original snapshot {where}]"
        f"({snapshot_url(timestamp, original_url, archive)}) for the most accurate reproduction.*"
    )


def live_header_line(site: str, url: str, timestamp: str) -> str:
    return (
        f"> *The following text is extracted and transformed from the {site} privacy policy that was "
        f"fetched live from <{url}> on {archived_date(timestamp)}. The archive has no snapshot of this "
        f"text yet.*"
    )


def render_document(site: str, original_url: str, timestamp: str, title: str, body: str, *,
                    live: bool = False, archive: str = SNAPSHOT_BASE) -> str:
    """The full corpus document for one capture. ``body`` may be exact or comparable form.

    ``live``: the capture was fetched from the site itself at ``timestamp`` (see the module docstring).
    ``archive``: the Wayback base of the archive the capture came from.
    """
    if live:
        header = live_header_line(site, original_url, timestamp)
        body, title = from_comparable(body, None), from_comparable(title, None)
    else:
        header = header_line(site, original_url, timestamp, archive)
        body, title = from_comparable(body, timestamp, archive), from_comparable(title, timestamp, archive)
    return f"{header}\n\n# {title}\n\n{body}"


def _prefix(timestamp: str) -> str:
    return f"{SNAPSHOT_BASE}{timestamp}id_/"


def to_comparable(text: str, timestamp: str) -> str:
    """Replace this capture's own timestamp inside snapshot URLs by the sentinel."""
    return text.replace(_prefix(timestamp), _prefix(TIMESTAMP_SENTINEL))


def from_comparable(text: str, timestamp: str | None, archive: str = SNAPSHOT_BASE) -> str:
    """Inverse of :func:`to_comparable` for the capture the text is shown for (from ``archive``).

    ``None``: a live capture, which has no snapshot: its links point to the original URLs instead.
    """
    shown = f"{archive}{timestamp}id_/" if timestamp is not None else ""
    return text.replace(_prefix(TIMESTAMP_SENTINEL), shown)


def content_sha256(title: str, comparable_body: str) -> str:
    """Identity of a version's content: title and comparable body, nothing capture-specific."""
    digest = hashlib.sha256()
    digest.update(title.encode("utf-8"))
    digest.update(b"\n\n")
    digest.update(comparable_body.encode("utf-8"))
    return digest.hexdigest()
