"""``policytrack runs``: what every crawl run did -- the audit trail of manual and scheduled crawls.

A listing (newest first, filterable by status and schedule, in every output format) and, for one run
id, the whole record with every error and note it kept.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from policytrack.commands.common import EXIT_OK, open_db
from policytrack.commands.queries import Column, emit, output_options
from core.errors import ConfigurationError

FIRST_ERROR_CHARS = 80


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def run_record(run: Any) -> dict[str, Any]:
    """A run as the JSON of ``runs --json`` (see JSON_FIELDS["runs"])."""
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "id": run.id, "status": run.status, "trigger": run.trigger, "schedule_id": run.schedule_id,
        "scheduled_for": _iso(run.scheduled_for), "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at), "duration_seconds": duration, "sites": run.sites,
        "archive": run.archive, "worker": run.worker, "counts": run.counts, "errors": run.errors,
    }


def _took(seconds: float | None) -> str:
    if seconds is None:
        return "running"
    from scheduler.schedules import format_duration  # the schedules' own "1h2m5s" form

    return format_duration(round(seconds))


def _clock(iso: str) -> str:
    """``2026-11-30T06:05:51.39+00:00`` -> ``2026-11-30 06:05:51`` (UTC)."""
    return iso[:19].replace("T", " ")


def _first_error(row: dict[str, Any]) -> str:
    if not row["errors"]:
        return ""
    first = row["errors"][0]
    more = f" (+{len(row['errors']) - 1})" if len(row["errors"]) > 1 else ""
    return (first if len(first) <= FIRST_ERROR_CHARS else first[: FIRST_ERROR_CHARS - 1] + "…") + more


def _trigger(row: dict[str, Any]) -> str:
    if row["schedule_id"]:
        return f"schedule {row['schedule_id']}"
    return f"worker {row['worker']}" if row["worker"] else row["trigger"]


def _count(name: str) -> Callable[[dict[str, Any]], int]:
    return lambda row: row["counts"].get(name, 0)


RUNS_COLUMNS: list[Column] = [
    ("ID", lambda r: r["id"]),
    ("STARTED (UTC)", lambda r: _clock(r["started_at"])),
    ("TOOK", lambda r: _took(r["duration_seconds"])),
    ("TRIGGER", lambda r: _trigger(r)),
    ("STATUS", lambda r: r["status"]),
    ("SITES", lambda r: ", ".join(r["sites"]) if r["sites"] else "all"),
    ("SEEN", _count("captures_seen")),
    ("FETCHED", _count("captures_fetched")),
    ("VERSIONS+", _count("versions_new")),
    ("CHANGES+", _count("changes_new")),
    ("ERRORS", _count("errors_count")),
    ("FIRST ERROR OR NOTE", _first_error),
]


def cmd_runs(args: argparse.Namespace) -> int:
    import storage

    if args.run_id is not None:
        with open_db(args).session() as session:
            run = run_record(storage.run_info(session, args.run_id))
        if args.format in ("json", "jsonl"):
            print(json.dumps(run, indent=2 if args.format == "json" else None, ensure_ascii=False))
        else:
            print(describe_run(run))
        return EXIT_OK
    if args.limit is not None and args.limit < 1:
        raise ConfigurationError("--limit must be at least 1")
    with open_db(args).session() as session:
        runs = storage.list_runs(session, limit=args.limit, status=args.status, schedule_id=args.schedule)
    emit(args, [run_record(r) for r in runs], RUNS_COLUMNS,
         empty="no crawl runs yet: policytrack crawl" if not (args.status or args.schedule) else "no such runs")
    return EXIT_OK


def describe_run(run: dict[str, Any]) -> str:
    """One run, whole, for people: what started it, when, on what, what it counted, every error."""
    trigger = f"schedule {run['schedule_id']}, fire time {_clock(run['scheduled_for'])} UTC" \
        if run["schedule_id"] and run["scheduled_for"] else _trigger(run)
    finished = f"{_clock(run['finished_at'])} UTC" if run["finished_at"] else "-"
    lines = [
        f"run {run['id']}: {run['status']} ({trigger})",
        f"started   {_clock(run['started_at'])} UTC",
        f"finished  {finished} ({_took(run['duration_seconds'])})",
        f"sites     {', '.join(run['sites']) if run['sites'] else 'all tracked sites'}",
        f"archive   {run['archive']}",
        "counts    " + " ".join(f"{name}={value}" for name, value in run["counts"].items()),
    ]
    if run["errors"]:
        lines.append(f"errors and notes ({len(run['errors'])}):")
        lines.extend(f"  - {error}" for error in run["errors"])
    return "\n".join(lines)


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("runs", cmd_runs, "list crawl runs (newest first), or show one run whole")
    p.add_argument("run_id", nargs="?", type=int, metavar="RUN_ID", help="show this run with every error it kept")
    p.add_argument("--limit", type=int, default=20, help="at most this many runs (default 20)")
    p.add_argument("--status", choices=("running", "succeeded", "failed", "interrupted"), help="only runs with this status")
    p.add_argument("--schedule", metavar="ID", help="only runs started by this schedule (see schedule list)")
    output_options(p, "runs")
