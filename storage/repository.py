"""Writes. Every function takes the caller's ``Session`` first and never commits: ``Database.session()``
decides the transaction, so a crawler item is stored entirely or not at all.

Every write is idempotent. Unique constraints (a capture per page+timestamp, a snapshot per payload
hash, a text per content hash, a version per page+first capture) are what make that cheap, and inserts
use ``ON CONFLICT DO NOTHING`` so two writers racing on the same row both succeed.

This module gathers the write API; the code lives by subject in :mod:`storage.sites` (sites, pages,
runs), :mod:`storage.captures`, :mod:`storage.blobs` (snapshots, texts) and :mod:`storage.versions`.
"""

from storage.blobs import load_snapshot, load_text, store_snapshot
from storage.captures import (
    INFERRED_REASON,
    NO_TEXT,
    CaptureTodo,
    CdxRow,
    CdxRowLike,
    FetchState,
    Reusable,
    capture_id,
    captures_to_process,
    fetch_state,
    find_reusable,
    mark_reused,
    reuse_fetched_digests,
    record_capture_outcome,
    record_captures,
    record_inferred,
    record_normalized,
)
from storage.sites import (
    MAX_RUN_ERRORS,
    ListingInfo,
    PageRef,
    add_site,
    finish_run,
    normalize_hostname,
    page_listings,
    pages_for,
    record_listing,
    start_run,
)
from storage.versions import RebuildResult, mark_announced, rebuild_versions, provisional_history, record_page_crawled

__all__ = [
    "ListingInfo", "page_listings", "record_listing",
    "INFERRED_REASON", "MAX_RUN_ERRORS", "NO_TEXT", "CaptureTodo", "CdxRow", "CdxRowLike", "FetchState",
    "PageRef", "RebuildResult", "Reusable", "add_site", "capture_id", "captures_to_process", "fetch_state",
    "find_reusable", "finish_run", "load_snapshot", "load_text", "mark_announced", "mark_reused", "reuse_fetched_digests",
    "normalize_hostname", "pages_for", "rebuild_versions", "record_capture_outcome", "record_captures",
    "record_inferred", "record_normalized", "provisional_history", "record_page_crawled", "start_run", "store_snapshot",
]
