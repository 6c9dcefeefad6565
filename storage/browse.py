"""Reads for browsing (the web view and its JSON API): pages of sites, a version's neighbours, pages of changes.

The CLI's ``sites`` reads every site at once; a browser pages through 10,000 of them. Paging is by
*keyset* (the sort key of the last row shown), never by offset, so a page deep in the list costs what the
first one does. A site's version count and last change are stored on it (kept by the writers) and indexed
for the sorts; its capture span is a correlated subquery that the ``(page_id, timestamp)`` index answers,
evaluated only for the rows of the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from core.errors import NoVersion
from storage.models import LiveCapture, Version
from storage.diffs import WordHunk, WordOp, line_counts, unified_diff, word_counts, word_diff
from storage.queries import ChangeEntry, SiteSummary, VersionDocument, comparable_text, list_changes, site_named
from storage.renormalize import merged_boundaries, merged_change
from storage.sites import page_listings

SITE_SORTS = ("hostname", "last_change", "versions")
MAX_PAGE = 500


@dataclass(frozen=True)
class SiteRow(SiteSummary):
    """A site in the sites list: the CLI's ``sites --json`` fields plus the time of its last change."""

    last_change: str | None = None  # first capture of the site's newest changed version


@dataclass(frozen=True)
class SitesPage:
    sites: list[SiteRow]
    # The sort key of the last row, to pass back as ``after`` for the next page; None on the last page.
    next_after: tuple[str, ...] | None


def _escape_like(fragment: str) -> str:
    return fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The column of each order (most first; a site without changes has last_change '': last).
_SORT_KEYS = {"versions": "version_count", "last_change": "last_change"}


def sites_page(session: Session, *, contains: str | None = None, sort: str = "hostname",
               after: Sequence[str] | None = None, limit: int = 50) -> SitesPage:
    """A page of sites whose hostname contains ``contains``, sorted by ``sort`` (see :data:`SITE_SORTS`;
    ``last_change`` and ``versions`` newest/most first), starting after the row whose key is ``after``.

    The per-site totals are stored on the site (``Site.version_count``, ``Site.last_change``, kept by the
    writers) with descending indexes: every order is an index scan from the cursor on, whatever the number
    of sites. A key shared by many sites (10,000 sites with 100 versions each) is continued in two parts --
    the rest of the sites with the cursor's key, then those below it -- each a range of the index."""
    if sort not in SITE_SORTS:
        raise ValueError(f"unknown sort {sort!r} (expected one of {', '.join(SITE_SORTS)})")
    limit = max(1, min(limit, MAX_PAGE))
    params: dict[str, object] = {"n": limit + 1}
    where = []
    if contains:
        where.append("hostname LIKE :pattern ESCAPE '\\'")
        params["pattern"] = f"%{_escape_like(contains.strip().lower())}%"

    def select_sites(*conditions: str, order: str) -> str:
        condition = " AND ".join([*where, *conditions])
        return (f"SELECT id, hostname, version_count, last_change FROM sites "
                f"{'WHERE ' + condition if condition else ''} ORDER BY {order} LIMIT :n")

    if sort == "hostname":
        if after:
            params["host"] = after[-1]
        statement = select_sites(*(["hostname > :host"] if after else []), order="hostname")
    else:
        key = _SORT_KEYS[sort]
        order = f"{key} DESC, hostname"
        if after and len(after) == 2:
            params["key"] = int(after[0]) if sort == "versions" and after[0].isdigit() else after[0]
            params["host"] = after[1]
            statement = (f"SELECT * FROM (SELECT * FROM ({select_sites(f'{key} = :key', 'hostname > :host', order='hostname')}) tied "
                         f"UNION ALL SELECT * FROM ({select_sites(f'{key} < :key', order=order)}) below) both_parts "
                         f"ORDER BY {order} LIMIT :n")
        else:
            statement = select_sites(order=order)
    rows = session.execute(text(statement), params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    sites = _site_rows(session, rows)
    next_after: tuple[str, ...] | None = None
    if more and sites:
        last = sites[-1]
        next_after = ((last.hostname,) if sort == "hostname"
                      else (str(last.versions) if sort == "versions" else last.last_change or "", last.hostname))
    return SitesPage(sites=sites, next_after=next_after)


def _site_rows(session: Session, rows: Sequence[object]) -> list[SiteRow]:
    """Pages, capture spans and listing notes of the sites of one page of results."""
    site_ids = [r.id for r in rows]
    if not site_ids:
        return []
    pages = session.execute(
        text("SELECT id, site_id, url FROM pages WHERE site_id IN :ids ORDER BY id").bindparams(
            bindparam("ids", expanding=True)), {"ids": site_ids}
    ).all()
    # Per page, min/max/count of captures each come from the (page_id, timestamp) index.
    spans = {
        pid: (n, first, last)
        for pid, n, first, last in session.execute(
            text("""SELECT p.id,
                        (SELECT count(*) FROM captures c WHERE c.page_id = p.id),
                        (SELECT min(c.timestamp) FROM captures c WHERE c.page_id = p.id),
                        (SELECT max(c.timestamp) FROM captures c WHERE c.page_id = p.id)
                    FROM pages p WHERE p.site_id IN :ids""").bindparams(bindparam("ids", expanding=True)),
            {"ids": site_ids},
        )
    }
    listings = page_listings(session, [p.id for p in pages])
    by_site: dict[int, list[tuple[int, str]]] = {}
    for pid, sid, url in pages:
        by_site.setdefault(sid, []).append((pid, url))
    result = []
    for row in rows:
        own = by_site.get(row.id, [])
        counts = [spans[pid] for pid, _ in own if pid in spans]
        firsts = [first for _, first, _ in counts if first]
        lasts = [last for _, _, last in counts if last]
        listing, notes = {}, []
        for pid, url in own:
            info = listings.get(pid)
            listing[url] = info.state if info else "never"
            if info is not None and info.describe():
                notes.append(f"{url}: {info.describe()}")
        result.append(SiteRow(
            hostname=row.hostname, urls=[url for _, url in own], captures=sum(n for n, _, _ in counts),
            versions=int(row.version_count), first_capture=min(firsts, default=None),
            last_capture=max(lasts, default=None), last_change=row.last_change or None, listing=listing, notes=notes,
        ))
    return result


# --- versions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbours:
    previous: int | None
    next: int | None


def version_neighbours(session: Session, version_id: int) -> Neighbours:
    """The versions of the same page just before and just after this one (by first capture)."""
    version = session.get(Version, version_id)
    if version is None:
        raise NoVersion(f"no version with id {version_id}")
    same_page = select(Version.id).where(Version.page_id == version.page_id)
    previous = session.scalars(
        same_page.where(Version.first_seen < version.first_seen).order_by(Version.first_seen.desc()).limit(1)
    ).first()
    following = session.scalars(
        same_page.where(Version.first_seen > version.first_seen).order_by(Version.first_seen).limit(1)
    ).first()
    return Neighbours(previous=previous, next=following)


def live_first_versions(session: Session, version_ids: Sequence[int]) -> set[int]:
    """Which of these versions were first seen on the live site (their first capture is a live fetch)."""
    if not version_ids:
        return set()
    return set(session.scalars(
        select(Version.id).join(LiveCapture, LiveCapture.capture_id == Version.first_capture_id)
        .where(Version.id.in_(list(version_ids)))
    ))


# --- changes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangesPage:
    changes: list[ChangeEntry]
    next_before: tuple[str, int] | None  # the sort key of the last row (see changes_page); None on the last page


def changes_page(session: Session, *, since: date | datetime | None = None, until: date | datetime | None = None,
                 sites: Sequence[str] | None = None, include_technical: bool = True,
                 before: tuple[str, int] | None = None, limit: int = 50) -> ChangesPage:
    """A page of the changes in a period, newest first, continuing below ``before``: what ``changes`` lists,
    the stored changes (:func:`storage.queries.list_changes`) and, with the technical ones, the changes the
    current normalizer no longer sees (merged entries, :func:`storage.renormalize.merged_boundaries`).

    Rows are ordered as ``changes`` orders them: by ``after_timestamp``, then stored changes by id (newest
    first) before merged entries by page. The key is ``(after_timestamp, id)``, a merged entry's id being
    minus its page's id (so it sorts below every stored change of the same moment). Merged entries are few
    (one per boundary a re-normalization undid): all of the period's are read and the page's kept."""
    limit = max(1, min(limit, MAX_PAGE))
    rows = list_changes(session, since=since, until=until, sites=sites, include_technical=include_technical,
                        limit=limit + 1, before=before)
    keyed: list[tuple[tuple[str, int], ChangeEntry]] = [((c.after_timestamp, c.id or 0), c) for c in rows]
    if include_technical:
        for boundary in merged_boundaries(session, sites=sites or (), since=since, until=until):
            key = (boundary.after_timestamp, -boundary.page_id)
            if before is None or key < tuple(before):
                keyed.append((key, merged_change(boundary)))
    keyed.sort(key=lambda row: row[0], reverse=True)
    return ChangesPage([row for _, row in keyed[:limit]], keyed[limit - 1][0] if len(keyed) > limit else None)


# --- diffs ------------------------------------------------------------------------------------------


def _stamp(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}:{ts[12:14]}"


def version_diff(session: Session, old: VersionDocument, new: VersionDocument, *, word: bool = False) -> dict[str, Any]:
    """Two versions compared as ``diff --json`` reports it (the CLI and the HTTP API share this form):
    the versions' metadata, the unified line diff with its line counts, and in word mode the word hunks.

    The versions' *comparable* texts are compared -- the form versions are stored and counted in -- so a
    link that differs only in its snapshot's timestamp is no change and the counts are ``history``'s;
    each shown line is turned back into the form its own version's document shows."""
    old_side, new_side = comparable_text(session, old.id), comparable_text(session, new.id)
    old_text, new_text = old_side.text, new_side.text

    def label(d: VersionDocument) -> str:
        return f"{d.site} {_stamp(d.first_seen)} (version {d.id}, {d.sha256[:12]})"

    def meta(d: VersionDocument) -> dict[str, Any]:
        return {k: v for k, v in asdict(d).items() if k not in ("body", "document")}

    added, removed = line_counts(old_text, new_text)
    result: dict[str, Any] = {
        "site": old.site, "from": meta(old), "to": meta(new), "mode": "word" if word else "line",
        "lines_added": added, "lines_removed": removed,
        "unified": unified_diff(old_text, new_text, label(old), label(new), render=(old_side.render, new_side.render)),
    }
    if word:
        hunks = [
            WordHunk(h.from_line, h.to_line,
                     [WordOp(o.op, (old_side if o.op == "delete" else new_side).render(o.text)) for o in h.ops])
            for h in word_diff(old_text, new_text)
        ]
        words_added, words_removed = word_counts(hunks)
        result.update(hunks=[asdict(h) for h in hunks], words_added=words_added, words_removed=words_removed)
    return result


def site_row(session: Session, hostname: str) -> SiteRow:
    """One site as the sites list shows it; :class:`UnknownSite` if it is not tracked."""
    site = site_named(session, hostname)
    row = session.execute(text("SELECT id, hostname, version_count, last_change FROM sites WHERE id = :id"),
                          {"id": site.id}).one()
    return _site_rows(session, [row])[0]
