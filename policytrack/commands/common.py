"""Helpers shared by every subcommand module: database opening, date parsing, formatting."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timezone

from core.errors import ConfigurationError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def db_url(args: argparse.Namespace) -> str:
    import storage

    return storage.resolve_db_url(args.db)


def open_db(args: argparse.Namespace):
    import storage

    return storage.open_database(db_url(args))


def parse_when(text: str) -> datetime:
    """``YYYY-MM-DD`` (end of that day), a 14-digit timestamp, or an ISO date-time; UTC."""
    text = text.strip()
    try:
        if len(text) == 10 and text[4] == "-":
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=timezone.utc)
        if text.isdigit() and len(text) == 14:
            return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        raise ConfigurationError(f"invalid date {text!r}: use YYYY-MM-DD, YYYYMMDDhhmmss or an ISO date-time") from None


def fmt_ts(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}:{ts[12:14]}"
