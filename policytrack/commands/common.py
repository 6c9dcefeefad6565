"""Helpers shared by every subcommand module: database opening, date and version parsing, formatting."""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import date, datetime, timezone
from typing import Any

from core.errors import ConfigurationError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

WHEN_FORMS = "YYYY-MM-DD, YYYYMMDD, a 14-digit timestamp or an ISO date-time"
# A version id is written with its "v" (v12), as history lists it; a bare number is read as one too,
# unless it has 8 or 14 digits: those are a date (YYYYMMDD) or a timestamp, never an id.
_VERSION_ID = re.compile(r"[vV]?(\d+)")


def db_url(args: argparse.Namespace) -> str:
    """The database URL of ``--db``; a SQLite file that does not exist is an error (see :func:`open_db`)."""
    from storage.db import require_existing

    return require_existing(args.db)


def archive_option(args: argparse.Namespace) -> str | None:
    """The archive a crawling command asks: ``--archive``, else ``$POLICYTRACK_ARCHIVE``, else None (the
    settings' default, the Internet Archive). One that is given but blank or malformed is an error now, not at
    the first crawl (a scheduler would only say so at its first fire)."""
    from crawler.archive import Archive

    archive = args.archive if args.archive is not None else os.environ.get("POLICYTRACK_ARCHIVE")
    if archive is not None:
        Archive.parse(archive)
    return archive


def setting_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The crawl settings given with ``-s NAME=VALUE`` (a malformed pair is an error); a name neither Scrapy
    nor policytrack knows is warned about on stderr: a typo must neither pass silently nor stop a cron job."""
    from crawler.runner import check_overrides

    overrides: dict[str, Any] = dict(parse_setting(pair) for pair in args.set)
    for warning in check_overrides(overrides):
        print(f"policytrack: warning: {warning}", file=sys.stderr)
    return overrides


def open_db(args: argparse.Namespace, *, create: bool = False):
    """The database named by ``--db``. Only commands that set up tracking pass ``create``: any other
    command given a SQLite path that does not exist says so instead of creating an empty database."""
    import storage

    return storage.open_database(args.db, create=create)


def parse_when(text: str, option: str = "date") -> date | datetime:
    """A moment given on the command line, the same way for every option (``--at/--from/--to/--since/--until``).

    ``YYYY-MM-DD`` and ``YYYYMMDD`` are a whole day (a :class:`date`: storage reads it as the day's start
    or end as the option needs); a 14-digit archive timestamp or an ISO date-time is an instant (naive
    means UTC). Anything else -- an impossible date, a number of another length -- is refused.
    """
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        if re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value, "%Y%m%d").date()
        if re.fullmatch(r"\d{14}", value):
            return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        if not value.isdigit() and len(value) > 10:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    raise ConfigurationError(f"invalid {option} {text!r}: use {WHEN_FORMS}")


def parse_version_or_when(text: str, option: str) -> int | date | datetime:
    """A version id written ``v12`` (as ``history`` lists it) or ``12``, or a moment as :func:`parse_when`
    reads it (8 or 14 digits are always a date or timestamp)."""
    value = text.strip()
    if (match := _VERSION_ID.fullmatch(value)) and not (value.isdigit() and len(value) in (8, 14)):
        return int(match.group(1))
    return parse_when(value, option)


def version_id(text: str) -> int:
    """An argparse ``type`` for ``--version``: ``v12`` (as history lists it) or ``12``."""
    match = _VERSION_ID.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"invalid version id {text!r}: write it as history lists it, e.g. v12")
    return int(match.group(1))


def positive_int(option: str):
    """An argparse ``type`` for counts such as ``--limit``: 1 or more, with a one-line error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option} must be a whole number of at least 1, not {text!r}")
        return value

    return parse


def fmt_ts(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}:{ts[12:14]}"


def parse_setting(pair: str) -> tuple[str, str]:
    """``NAME=VALUE`` of a ``-s`` option (crawl, discover), as Scrapy's own ``-s``."""
    name, sep, value = pair.partition("=")
    if not sep or not name.strip():
        raise ConfigurationError(f"invalid setting {pair!r}: use -s NAME=VALUE, e.g. -s POLICYTRACK_CDX_RATE_PER_MINUTE=12")
    return name.strip(), value
