"""Tracked sites and pages, and crawl runs: what is tracked and when it was looked at.

Hostnames are validated strictly because they end up in file names, URLs and messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.errors import InvalidSite, UnknownSite
from storage.inserts import insert_ignoring_conflicts
from storage.models import (
    LISTING_STATES,
    MAX_URL_LENGTH,
    RUN_COUNTS,
    RUN_STATUSES,
    RUN_TRIGGERS,
    CrawlRun,
    Page,
    PageListing,
    Site,
)
from storage.types import utcnow

MAX_RUN_ERRORS = 100
MAX_ERROR_CHARS = 2000
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class PageRef:
    page_id: int
    site: str
    url: str
    added: bool = field(default=False, compare=False)  # add_site: this call started tracking the page


def lookup_hostname(hostname: str) -> str:
    """The stored spelling of a hostname a user typed: any case, a trailing dot, and an internationalized
    name in either spelling (``bücher.de`` is stored as ``xn--bcher-kva.de``)."""
    host = hostname.strip().lower().rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # not a valid name: it will not be found, and the message shows it as typed
    return host


def normalize_hostname(hostname: str) -> str:
    """The canonical form of a user-given hostname, or :class:`InvalidSite`.

    Hostnames end up in file names and URLs, so only plain DNS names pass: this is what keeps
    ``../x`` or ``a/b`` out. Internationalized names are converted to their ASCII (punycode) form.
    """
    if not isinstance(hostname, str) or not hostname.strip():
        raise InvalidSite("empty hostname: give the site's DNS name, e.g. example.com")
    host = hostname.strip().lower()
    if "://" in host:
        raise InvalidSite(f"invalid hostname {hostname!r}: give the host name (example.com), not a URL")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidSite(f"invalid hostname {hostname!r}: not a valid internationalized domain name") from None
    if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in host.split(".")):
        raise InvalidSite(
            f"invalid hostname {hostname!r}: expected a plain DNS name such as example.com "
            "(labels of letters, digits and inner hyphens, separated by single dots)"
        )
    return host


def validate_page_url(url: str) -> str:
    """The page URL as stored, or :class:`InvalidSite` saying what an acceptable one looks like."""
    example = "an absolute http(s) URL such as https://example.com/privacy"
    if not isinstance(url, str) or not url.strip():
        raise InvalidSite(f"empty page URL: give {example}")
    url = url.strip()
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise InvalidSite(f"invalid page URL {url!r}: expected {example}") from None
    if parts.scheme.lower() not in ("http", "https") or not hostname or any(c.isspace() for c in url):
        raise InvalidSite(f"invalid page URL {url!r}: expected {example}")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidSite(f"page URL too long ({len(url)} characters, at most {MAX_URL_LENGTH})")
    return url


# --- sites and pages --------------------------------------------------------------------------------


def add_site(session: Session, hostname: str, url: str) -> PageRef:
    """Track page ``url`` of site ``hostname``; adding the same pair again returns the same page
    (``added`` False). Adding a removed site (see :func:`remove_site`) tracks it again."""
    return add_sites(session, [(hostname, url)])[0]


def add_sites(session: Session, pairs: Sequence[tuple[str, str]]) -> list[PageRef]:
    """:func:`add_site` for many (hostname, URL) pairs in a few statements: bulk adds of thousands of rows.

    Every pair is validated first (:class:`InvalidSite` names the bad one), so nothing is written unless
    all are valid. Returns one PageRef per pair, in order.
    """
    wanted = [(normalize_hostname(host), validate_page_url(url)) for host, url in pairs]
    hosts = sorted({host for host, _ in wanted})
    site_ids: dict[str, int] = {}
    for chunk in _chunks(hosts):
        insert_ignoring_conflicts(session, Site, [{"hostname": h} for h in chunk], ["hostname"])
        site_ids.update(session.execute(select(Site.hostname, Site.id).where(Site.hostname.in_(chunk))).all())
    session.execute(update(Site).where(Site.hostname.in_(hosts), Site.removed_at.is_not(None))
                    .values(removed_at=None).execution_options(synchronize_session=False))
    keys = sorted({(site_ids[host], url) for host, url in wanted})
    existing = _page_ids(session, keys)
    new_rows = [{"site_id": sid, "url": url} for sid, url in keys if (sid, url) not in existing]
    for chunk in _chunks(new_rows):
        insert_ignoring_conflicts(session, Page, chunk, ["site_id", "url"])
    page_ids = _page_ids(session, keys)
    return [PageRef(page_id=page_ids[(site_ids[host], url)], site=host, url=url,
                    added=(site_ids[host], url) not in existing) for host, url in wanted]


def _page_ids(session: Session, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], int]:
    site_ids = sorted({sid for sid, _ in keys})
    found: dict[tuple[int, str], int] = {}
    for chunk in _chunks(site_ids):
        for pid, sid, url in session.execute(select(Page.id, Page.site_id, Page.url).where(Page.site_id.in_(chunk))):
            found[(sid, url)] = pid
    wanted = set(keys)
    return {key: pid for key, pid in found.items() if key in wanted}


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Slices small enough for any backend's bound-parameter limit."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(frozen=True)
class RemovedSite:
    site: str
    urls: list[str]
    purged: bool  # True: deleted with its whole history; False: no longer crawled, history kept


def remove_site(session: Session, hostname: str, *, purge: bool) -> RemovedSite:
    """Stop tracking a site. ``purge`` deletes it with every capture, version and change (cascades);
    otherwise it is only marked removed: crawls and schedules leave it out, its history stays queryable,
    and adding it again resumes tracking."""
    host = lookup_hostname(hostname)
    site = session.scalars(select(Site).where(Site.hostname == host)).one_or_none()
    if site is None:
        raise UnknownSite(host)
    urls = [page.url for page in site.pages]
    if purge:
        session.execute(delete(Site).where(Site.id == site.id).execution_options(synchronize_session=False))
        session.expunge(site)
    elif site.removed_at is None:
        site.removed_at = utcnow()
    return RemovedSite(site=host, urls=urls, purged=purge)


def pages_for(session: Session, hostnames: Sequence[str] | None = None) -> list[PageRef]:
    """Pages of the named sites (all tracked sites if none are named), by hostname then in order added.

    Sites removed with their history kept are left out, and naming one is an error."""
    statement = select(Page.id, Site.hostname, Page.url).join(Site).order_by(Site.hostname, Page.id)
    if hostnames:
        wanted = [lookup_hostname(h) for h in hostnames]
        known = dict(session.execute(select(Site.hostname, Site.removed_at).where(Site.hostname.in_(wanted))).all())
        for host in wanted:
            if host not in known:
                raise UnknownSite(host)
            if known[host] is not None:
                error = UnknownSite(host)
                error.args = (f"site {host!r} was removed on {known[host]:%Y-%m-%d} (its history is kept): "
                              f"'policytrack add {host} URL' tracks it again",)
                raise error
        statement = statement.where(Site.hostname.in_(wanted))
    else:
        statement = statement.where(Site.removed_at.is_(None))
    return [PageRef(page_id=pid, site=host, url=url) for pid, host, url in session.execute(statement)]


@dataclass(frozen=True)
class ListingInfo:
    """What the archive answered the last time a page's captures were listed (see PageListing)."""

    state: str  # listed | blocked | failed
    reason: str | None
    since: datetime
    checked_at: datetime

    def describe(self) -> str:
        """``blocked by the archive since 2026-11-30: <reason>``; empty for a page listed normally."""
        what = {"blocked": "blocked by the archive", "failed": "the archive could not list it"}.get(self.state)
        if what is None:
            return ""
        return f"{what} since {self.since:%Y-%m-%d}" + (f": {self.reason}" if self.reason else "")


def record_listing(session: Session, page_id: int, state: str, reason: str | None = None,
                   run_id: int | None = None) -> None:
    """Record what the archive answered to the listing of a page's captures; idempotent.

    ``since`` moves only when the state changes: a page blocked for months says so.
    """
    if state not in LISTING_STATES:
        raise ValueError(f"unknown listing state {state!r} (expected one of {', '.join(LISTING_STATES)})")
    now = utcnow()
    insert_ignoring_conflicts(session, PageListing, [{"page_id": page_id, "state": state, "reason": reason,
                                                      "since": now, "checked_at": now, "run_id": run_id}],
                              ["page_id"])
    row = session.scalars(
        select(PageListing).where(PageListing.page_id == page_id).execution_options(populate_existing=True)
    ).one()
    if row.state != state:
        row.since = now
    row.state, row.reason, row.checked_at, row.run_id = state, reason, now, run_id


def page_listings(session: Session, page_ids: Sequence[int] | None = None) -> dict[int, ListingInfo]:
    """The last listing outcome of each of these pages, or of every page (pages never listed are absent)."""
    statement = select(PageListing.page_id, PageListing.state, PageListing.reason, PageListing.since,
                       PageListing.checked_at)
    if page_ids is not None:
        statement = statement.where(PageListing.page_id.in_(list(page_ids)))
    rows = session.execute(statement)
    return {pid: ListingInfo(state, reason, since, checked) for pid, state, reason, since, checked in rows}


# --- runs -------------------------------------------------------------------------------------------


def start_run(session: Session, *, trigger: str = "manual", archive: str, sites: Sequence[str] | None,
              worker: str | None = None) -> int:
    """Open a run; ``worker``: the name of the `policytrack worker` running it (trigger ``worker``)."""
    if trigger not in RUN_TRIGGERS:
        raise ValueError(f"unknown run trigger {trigger!r} (expected one of {', '.join(RUN_TRIGGERS)})")
    run = CrawlRun(
        trigger=trigger,
        worker=worker,
        archive=archive,
        sites=[lookup_hostname(h) for h in sites] if sites else None,
        status="running",
        errors=[],
    )
    session.add(run)
    session.flush()
    return run.id


def add_run_site(session: Session, run_id: int, hostname: str) -> None:
    """Name one more site in a running run's sites: a worker's run takes its pages while it runs, and
    says which sites it has taken so far (also if its process dies before it ends)."""
    run = session.get(CrawlRun, run_id)
    if run is not None and hostname not in (run.sites or []):
        run.sites = [*(run.sites or []), hostname]


def finish_run(
    session: Session, run_id: int, *, status: str, counts: Mapping[str, int], errors: Sequence[str] = ()
) -> None:
    """Close a run with its outcome. Only the first errors are kept (the count says how many there were)."""
    if status not in RUN_STATUSES or status == "running":
        raise ValueError(f"a run cannot finish with status {status!r}")
    unknown = set(counts) - set(RUN_COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts {sorted(unknown)} (known: {', '.join(RUN_COUNTS)})")
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise ValueError(f"no crawl run with id {run_id}")
    for name in RUN_COUNTS:
        if name in counts:
            setattr(run, name, int(counts[name]))
    errors = list(errors)
    kept = [str(e)[:MAX_ERROR_CHARS] for e in errors[:MAX_RUN_ERRORS]]
    if len(errors) > MAX_RUN_ERRORS:
        kept[-1] = f"... and {len(errors) - MAX_RUN_ERRORS + 1} more errors"
    run.errors = kept
    run.errors_count = int(counts.get("errors_count", len(errors)))
    run.status = status
    run.finished_at = utcnow()
