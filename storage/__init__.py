"""policytrack's storage layer: the only code that talks SQL.

``open_database`` gives a :class:`Database`; its ``session()`` scopes a transaction. Writes live in
:mod:`storage.repository` (and :mod:`storage.versions`), reads in :mod:`storage.queries`.
"""

from storage.db import DEFAULT_DB_URL, Database, open_database, resolve_db_url
from storage.models import (
    Base,
    Capture,
    Change,
    CrawlRun,
    Page,
    Site,
    Snapshot,
    Version,
    VersionText,
)
from storage.queries import (
    ChangeInfo,
    RunInfo,
    SiteSummary,
    VersionDocument,
    VersionInfo,
    ChangeEntry,
    changes_to_announce,
    list_changes,
    site_version,
    list_runs,
    run_info,
    list_sites,
    site_history,
    version_at,
    version_by_id,
    version_pair,
)
from storage.search import SearchHit, catch_up, search_versions
from storage.stats import VersionStats, sites_stats, version_stats
from storage.announcements import ChangeAnnouncement, ChannelInfo, change_announcement, recent_changes
from storage.summary import ChangeSummary, summarize
from storage.watermark import ListingWatermark, listing_watermark, record_listing_watermark
from storage.repository import (
    ListingInfo,
    page_listings,
    record_listing,
    CaptureTodo,
    CdxRow,
    FetchState,
    PageRef,
    RebuildResult,
    Reusable,
    add_site,
    capture_id,
    captures_to_process,
    fetch_state,
    find_reusable,
    finish_run,
    load_snapshot,
    load_text,
    mark_announced,
    mark_reused,
    reuse_fetched_digests,
    normalize_hostname,
    pages_for,
    rebuild_versions,
    record_capture_outcome,
    record_captures,
    record_inferred,
    record_normalized,
    provisional_history,
    record_page_crawled,
    start_run,
    store_snapshot,
)

__all__ = [
    "ListingInfo", "page_listings", "record_listing",
    "ListingWatermark", "listing_watermark", "record_listing_watermark",
    "ChangeEntry", "list_changes", "site_version", "SearchHit", "catch_up", "search_versions",
    "VersionStats", "sites_stats", "version_stats",
    "ChangeAnnouncement", "ChannelInfo", "change_announcement", "recent_changes", "ChangeSummary", "summarize",
    "DEFAULT_DB_URL", "Database", "open_database", "resolve_db_url",
    "Base", "Capture", "Change", "CrawlRun", "Page", "Site", "Snapshot", "Version", "VersionText",
    "ChangeInfo", "RunInfo", "SiteSummary", "VersionDocument", "VersionInfo", "changes_to_announce",
    "list_runs", "run_info", "list_sites", "site_history", "version_at", "version_by_id", "version_pair",
    "CaptureTodo", "CdxRow", "FetchState", "PageRef", "RebuildResult", "Reusable", "add_site", "capture_id",
    "captures_to_process", "fetch_state", "find_reusable", "finish_run", "load_snapshot", "load_text", "mark_announced",
    "mark_reused", "reuse_fetched_digests", "normalize_hostname", "pages_for", "rebuild_versions", "record_capture_outcome",
    "record_captures", "record_inferred", "record_normalized", "provisional_history", "record_page_crawled", "start_run", "store_snapshot",
]
