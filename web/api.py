"""The JSON API under ``/api/``: the CLI's queries over HTTP, with the field names of its ``--json``.

Lists come in pages: ``{"items": [...], "next_cursor": "..."}``; pass ``cursor=<next_cursor>`` for the
next page (``null`` on the last). Cursors are keyset positions, so a deep page costs what the first does.
Errors: 400 (a bad cursor or search term), 404 (no such site or version), 422 (a malformed parameter),
each as ``{"detail": ...}``. The schema is served at ``/api/openapi.json``.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, create_model

import storage
from storage.browse import SiteRow, changes_page, sites_page, version_diff
from storage.discovery import PolicyMove, history_rows, stitched_history
from storage.queries import ChangeEntry, VersionDocument, VersionInfo
from storage.renormalize import merged_changes
from storage.search import SearchHit
from web.app import catch_up_search, clean, decode_cursor, encode_cursor, reading

MAX_ID = 2**63 - 1
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad request (cursor, search term)"},
    404: {"description": "no such site or version"},
}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)

Limit = Query(50, ge=1, le=500, description="items per page")
Cursor = Query(None, max_length=1000, description="next_cursor of the previous page")
Since = Query(None, description="YYYY-MM-DD, from the start of that day (UTC)")
Until = Query(None, description="YYYY-MM-DD, to the end of that day (UTC)")
VersionId = Path(ge=1, le=MAX_ID, description="a version id, as history lists them")


class SitesResponse(BaseModel):
    items: list[SiteRow]
    next_cursor: str | None


# A row of a site's versions: a version and the moves of a discovered site's privacy page shown before it
# (storage.discovery.history_rows), field for field as `history --json`.
HistoryRow = create_model(
    "HistoryRow",
    **{f.name: (f.type, ...) for f in dataclasses.fields(VersionInfo)},
    moves=(list[PolicyMove], ...),
)


class VersionsResponse(BaseModel):
    items: list[HistoryRow]
    next_cursor: str | None
    # Changes the current normalizer no longer sees in the period (merged entries, as `changes --json` lists
    # them; `history` prints them after its table): the same on every page.
    merged: list[ChangeEntry]


class ChangesResponse(BaseModel):
    items: list[ChangeEntry]
    next_cursor: str | None


class SearchResponse(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None


class WordOpModel(BaseModel):
    op: Literal["equal", "delete", "insert"]
    text: str


class HunkModel(BaseModel):
    from_line: int
    to_line: int
    ops: list[WordOpModel]


# A version as `diff --json` shows each side: the document's fields without its text.
VersionMeta = create_model(
    "VersionMeta",
    **{f.name: (f.type, ...) for f in dataclasses.fields(VersionDocument) if f.name not in ("body", "document")},
)


class DiffResponse(BaseModel):
    site: str
    from_: VersionMeta = Field(alias="from")  # "from" is a Python keyword
    to: VersionMeta
    mode: Literal["line", "word"]
    lines_added: int
    lines_removed: int
    unified: str
    hunks: list[HunkModel] | None = None
    words_added: int | None = None
    words_removed: int | None = None

    model_config = {"populate_by_name": True}


@router.get("/sites", response_model=SitesResponse, summary="Tracked sites, a page at a time")
def api_sites(request: Request, contains: str | None = Query(None, max_length=253, description="part of the hostname"),
              sort: Literal["hostname", "last_change", "versions"] = Query("hostname"),
              cursor: str | None = Cursor, limit: int = Limit) -> Any:
    after = decode_cursor(cursor, (str,) if sort == "hostname" else (str, str))
    with reading(request) as session:
        found = sites_page(session, contains=clean(contains), sort=sort, after=after, limit=limit)
    return {"items": found.sites, "next_cursor": encode_cursor(found.next_after)}


@router.get("/sites/{site}/versions", response_model=VersionsResponse,
            summary="A site's versions in time order, each with its change and the moves of a discovered "
                    "site's privacy page before it (as `history --json`)")
def api_versions(request: Request, site: str, url: str | None = Query(None, max_length=2048, description="one page"),
                 since: date | None = Since, until: date | None = Until,
                 cursor: str | None = Cursor, limit: int = Limit) -> Any:
    after = decode_cursor(cursor, (str, int))
    with reading(request) as session:
        versions, moves = stitched_history(session, clean(site) or "", url=clean(url), since=since, until=until)
        merged = merged_changes(session, sites=[clean(site) or ""], page_url=clean(url), since=since, until=until)
    rows, _ = history_rows(versions, moves)
    if after is not None:
        rows = [r for r in rows if (r["first_seen"], r["id"]) > after]
    page = rows[:limit]
    more = len(rows) > limit
    return {"items": page, "next_cursor": encode_cursor((page[-1]["first_seen"], page[-1]["id"])) if more else None,
            "merged": merged}


@router.get("/versions/{version_id}", response_model=VersionDocument, summary="One version (as `show --json`)")
def api_version(request: Request, version_id: int = VersionId) -> Any:
    with reading(request) as session:
        return storage.version_by_id(session, version_id)


@router.get("/sites/{site}/version", response_model=VersionDocument,
            summary="The version in force at the end of a day (latest without `at`)")
def api_version_at(request: Request, site: str, at: date | None = Query(None, description="YYYY-MM-DD"),
                   url: str | None = Query(None, max_length=2048)) -> Any:
    with reading(request) as session:
        return storage.version_at(session, clean(site) or "", at, url=clean(url))


@router.get("/sites/{site}/diff", response_model=DiffResponse, response_model_by_alias=True,
            response_model_exclude_none=True, summary="Two versions compared (as `diff --json`)")
def api_diff(request: Request, site: str, from_: int = Query(alias="from", ge=1, le=MAX_ID),
             to: int = Query(ge=1, le=MAX_ID), mode: Literal["line", "word"] = Query("line")) -> Any:
    with reading(request) as session:
        old = storage.site_version(session, clean(site) or "", from_)
        new = storage.site_version(session, clean(site) or "", to)
        return version_diff(session, old, new, word=mode == "word")


@router.get("/changes", response_model=ChangesResponse, summary="Changes first seen in a period, newest first")
def api_changes(request: Request, since: date | None = Since, until: date | None = Until,
                site: list[str] | None = Query(None, max_length=100, description="repeatable"),
                technical: bool = Query(True, description="include technical (normalizer-only) changes"),
                cursor: str | None = Cursor, limit: int = Limit) -> Any:
    before = decode_cursor(cursor, (str, int))
    with reading(request) as session:
        found = changes_page(session, since=since, until=until, sites=[clean(s) or "" for s in site or []] or None,
                             include_technical=technical, before=before, limit=limit)  # type: ignore[arg-type]
    return {"items": found.changes, "next_cursor": encode_cursor(found.next_before)}


@router.get("/search", response_model=SearchResponse,
            summary="Sites whose versions contain a phrase, by first mention (as `search --json`)")
def api_search(request: Request, q: str = Query(min_length=1, max_length=1000, description="a phrase"),
               site: list[str] | None = Query(None, max_length=100, description="repeatable"),
               case_sensitive: bool | None = Query(None, description="default: smart case"),
               cursor: str | None = Cursor, limit: int = Limit) -> Any:
    hits, next_key = search_page(request, q, site, case_sensitive, decode_cursor(cursor, (str, str)), limit)
    return {"items": hits, "next_cursor": encode_cursor(next_key)}


def search_page(request: Request, term: str, sites: list[str] | None, case_sensitive: bool | None,
                after: tuple[Any, ...] | None, limit: int) -> tuple[list[SearchHit], tuple[str, str] | None]:
    """One page of search hits (sorted by first mention, then hostname) after the key ``after``."""
    term = clean(term) or ""
    catch_up_search(request)
    with reading(request) as session:
        # One more than the page: whether there is a next page.
        hits = storage.search_versions(session, term, [clean(s) or "" for s in sites or []] or None,
                                       case_sensitive=case_sensitive, after=after, limit=limit + 1)
    page = hits[:limit]
    return page, ((page[-1].first.first_seen, page[-1].site) if len(hits) > limit else None)
