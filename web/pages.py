"""The HTML pages: sites, a site's timeline, a version, a diff, search, changes, and the Atom feeds.

Server-rendered with Jinja2 (autoescaped); every page works without JavaScript. ``static/enhance.js``
only adds a caption that follows the timeline markers under the pointer or keyboard focus, and arrow-key
paging between versions.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import storage
from core.document import snapshot_url
from storage.announcements import recent_changes
from storage.queries import comparable_text
from storage.renormalize import merged_boundaries
from storage.versions import change_summaries
from storage.browse import (
    changes_page,
    live_first_versions,
    site_row,
    sites_page,
    version_neighbours,
)
from web.api import MAX_ID, search_page
from web.app import clean, decode_cursor, encode_cursor, reading
from web.feeds import changes_feed
from web.render import compare, markdown_html, merged_label, timeline_chart

router = APIRouter(include_in_schema=False)
FEED_LIMIT = 50  # entries per feed; each entry's summary is stored with its change (no texts are read)
PAGE_SIZE = 50


def fmt_ts(ts: str | None, length: int = 10) -> str:
    """A 14-digit timestamp as ``YYYY-MM-DD`` (or ``YYYY-MM-DD hh:mm:ss`` with length 19)."""
    if not ts:
        return ""
    full = f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}:{ts[12:14]}"
    return full[:length]


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    # Per-row links are built from ``base`` in the templates: url_for costs ~0.1 ms a call, which is most of
    # a 100-version timeline's time.
    context.setdefault("base", request.scope.get("root_path", "").rstrip("/"))
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return _render(request, "error.html", status=status, status_code=status, message=message)


# --- sites ------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def sites(request: Request, q: str | None = Query(None, max_length=253),
          sort: Literal["hostname", "last_change", "versions"] = "hostname",
          cursor: str | None = Query(None, max_length=1000)) -> Response:
    after = decode_cursor(cursor, (str,) if sort == "hostname" else (str, str))
    with reading(request) as session:
        found = sites_page(session, contains=clean(q), sort=sort, after=after, limit=PAGE_SIZE)
    return _render(request, "sites.html", sites=found.sites, q=q or "", sort=sort,
                   next_cursor=encode_cursor(found.next_after), first_page=cursor is None)


@router.get("/sites/{site}", response_class=HTMLResponse)
def timeline(request: Request, site: str) -> Response:
    with reading(request) as session:
        row = site_row(session, clean(site) or "")
        versions = storage.site_history(session, row.hostname)
        live = live_first_versions(session, [v.id for v in versions])
        summaries = change_summaries(session, [v.change_id for v in versions if v.change_id is not None])
        merged = merged_boundaries(session, sites=[row.hostname])
    chart = timeline_chart(versions, live, summaries, merged)
    previous, last = {}, {}  # version id -> the version before it on the same page
    for v in versions:
        previous[v.id] = last.get(v.page_url)
        last[v.page_url] = v.id
    return _render(request, "site.html", site=row, versions=list(reversed(versions)), live=live, chart=chart,
                   pages=len(row.urls), previous=previous,
                   merged=[(b, merged_label(b)) for b in reversed(merged)],
                   site_path=request.scope.get("root_path", "").rstrip("/") + "/sites/" + quote(row.hostname))


# --- versions ---------------------------------------------------------------------------------------


def _version_page(request: Request, document: Any, at: date | None = None) -> Response:
    with reading(request) as session:
        around = version_neighbours(session, document.id)
    return _render(
        request, "version.html", doc=document, at=at, around=around, body_html=markdown_html(document.body),
        snapshot=snapshot_url(document.timestamp, document.original_url),
    )


@router.get("/sites/{site}/versions/{version_id}", response_class=HTMLResponse)
def version(request: Request, site: str, version_id: int = Path(ge=1, le=MAX_ID)) -> Response:
    with reading(request) as session:
        document = storage.site_version(session, clean(site) or "", version_id)
    return _version_page(request, document)


@router.get("/sites/{site}/version", response_class=HTMLResponse)
def version_at(request: Request, site: str, at: date | None = None,
               url: str | None = Query(None, max_length=2048)) -> Response:
    with reading(request) as session:
        document = storage.version_at(session, clean(site) or "", at, url=clean(url))
    return _version_page(request, document, at)


# --- diff -------------------------------------------------------------------------------------------


@router.get("/sites/{site}/diff", response_class=HTMLResponse)
def diff(request: Request, site: str, from_: int | None = Query(None, alias="from", ge=1, le=MAX_ID),
         to: int | None = Query(None, ge=1, le=MAX_ID), view: Literal["side", "inline"] = "side",
         by: Literal["word", "line"] = "word") -> Response:
    host = clean(site) or ""
    with reading(request) as session:
        if to is None:
            new = storage.version_at(session, host, None)
        else:
            new = storage.site_version(session, host, to)
        if from_ is None:
            previous = version_neighbours(session, new.id).previous
            if previous is None:
                return RedirectResponse(request.url_for("version", site=new.site, version_id=new.id), status_code=303)
            old = storage.site_version(session, host, previous)
        else:
            old = storage.site_version(session, host, from_)
        old_side, new_side = comparable_text(session, old.id), comparable_text(session, new.id)
    comparison = compare(old_side.text, new_side.text, by_word=by == "word", render=(old_side.render, new_side.render))
    return _render(request, "diff.html", old=old, new=new, comparison=comparison, view=view, by=by)


# --- search and changes -----------------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str | None = Query(None, max_length=1000),
           cursor: str | None = Query(None, max_length=1000)) -> Response:
    hits, next_key = ([], None)
    if q:
        hits, next_key = search_page(request, q, None, None, decode_cursor(cursor, (str, str)), PAGE_SIZE)
    return _render(request, "search.html", q=q or "", hits=hits, next_cursor=encode_cursor(next_key))


@router.get("/changes", response_class=HTMLResponse)
def changes(request: Request, since: date | None = None, until: date | None = None,
            cursor: str | None = Query(None, max_length=1000)) -> Response:
    with reading(request) as session:
        found = changes_page(session, since=since, until=until, before=decode_cursor(cursor, (str, int)),
                             limit=PAGE_SIZE)
    period = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
    next_url = (request.url_for("changes").include_query_params(**period, cursor=encode_cursor(found.next_before))
                if found.next_before else None)
    return _render(request, "changes.html", changes=found.changes, since=since, until=until, next_url=next_url)


# --- feeds ------------------------------------------------------------------------------------------


def _feed(request: Request, site: str | None) -> Response:
    with reading(request) as session:
        host = site_row(session, site).hostname if site is not None else None
        found = recent_changes(session, limit=FEED_LIMIT, site=host)
    body = changes_feed(
        found,
        feed_id=f"urn:policytrack:web:{host or 'all'}",
        title=f"policytrack: {host or 'all sites'}, privacy policy changes",
        self_url=str(request.url),
        page_url=str(request.url_for("timeline", site=host) if host else request.url_for("changes")),
        diff_url=lambda c: str(request.url_for("diff", site=c.site).include_query_params(
            **{"from": c.before.id, "to": c.after.id})),
    )
    return Response(body, media_type="application/atom+xml")


@router.get("/feed.atom")
def feed_all(request: Request) -> Response:
    return _feed(request, None)


@router.get("/sites/{site}/feed.atom")
def feed_site(request: Request, site: str) -> Response:
    return _feed(request, clean(site) or "")
