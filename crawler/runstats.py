"""Counters and error notes of one crawl, kept in Scrapy's stats collector under ``policytrack/``.

The runner turns them into the CrawlRun row when the crawl ends, so every component reports through the
one mechanism Scrapy already has instead of a side channel.
"""

from __future__ import annotations

import threading

from scrapy.statscollectors import StatsCollector

from storage.models import RUN_COUNTS

PREFIX = "policytrack/"
# The counters a CrawlRun row has columns for; "errors_count" is kept by note_error.
COUNTERS = tuple(name for name in RUN_COUNTS if name != "errors_count")
MAX_ERRORS = 100
# Pipelines update stats from Twisted's thread pool; Scrapy's collector is a plain dict.
_lock = threading.Lock()


def inc(stats: StatsCollector, name: str, count: int = 1) -> None:
    with _lock:
        stats.inc_value(PREFIX + name, count)


def note_error(stats: StatsCollector, message: str) -> None:
    """Remember an error message for the CrawlRun row (bounded) and count it."""
    with _lock:
        _note(stats, message)


def describe(exc: BaseException) -> str:
    """An exception in one line, for a run's errors: its type and the first line of its message
    (a database error's own message, not the statement and parameters SQLAlchemy appends)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else type(cause).__name__}"


def note(stats: StatsCollector, message: str) -> None:
    """Remember an outcome worth reporting that is not an error (a page the archive refuses to list)."""
    with _lock:
        notes = stats.get_value(PREFIX + "notes") or []
        if len(notes) < MAX_ERRORS:
            notes.append(message)
        stats.set_value(PREFIX + "notes", notes)


def notes(stats: StatsCollector) -> list[str]:
    return list(stats.get_value(PREFIX + "notes") or [])


def _note(stats: StatsCollector, message: str) -> None:
    errors = stats.get_value(PREFIX + "errors") or []
    if len(errors) < MAX_ERRORS:
        errors.append(message)
    stats.set_value(PREFIX + "errors", errors)
    stats.inc_value(PREFIX + "errors_count")


def counts(stats: StatsCollector) -> dict[str, int]:
    result = {name: int(stats.get_value(PREFIX + name, 0)) for name in COUNTERS}
    result["errors_count"] = int(stats.get_value(PREFIX + "errors_count", 0))
    return result


def errors(stats: StatsCollector) -> list[str]:
    return list(stats.get_value(PREFIX + "errors") or [])
