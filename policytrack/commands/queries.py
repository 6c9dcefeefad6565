"""Query subcommands: history, show, diff, changes, search, stats, timeline.

Each command is a few lines over one function in ``storage/``; the listing ones share one set of output
options (:func:`output_options`, sqlite-utils style): an aligned table by default, ``--format csv|tsv``
for spreadsheets, ``--json``/``--format json`` and ``--format jsonl`` for programs. The JSON of every
command is documented in its ``--help`` (from :data:`JSON_FIELDS`, which the tests hold the output to):
timestamps are the archive's 14-digit UTC strings, ids are the ones ``history`` shows.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from policytrack.commands.common import (
    EXIT_OK, fmt_ts, open_db, parse_version_or_when, parse_when, positive_int, version_id,
)
from core.errors import ConfigurationError

FORMATS = ("table", "csv", "tsv", "json", "jsonl")

_VERSION_FIELDS = {
    "id": "version id",
    "site": "hostname",
    "page_url": "the tracked page",
    "first_seen": "first capture with this text (14-digit UTC timestamp)",
    "last_seen": "last capture with this text",
    "sha256": "content hash (title + comparable body)",
    "title": "document title",
    "chars": "characters of the markdown body",
    "words": "whitespace-separated words of the markdown body",
    "extraction": "how the text was extracted: readability, fallback or pdf",
    "capture_count": "captures with this text",
    "lines_added": "lines added by the change to this version (0 for the first)",
    "lines_removed": "lines removed by that change",
    "change_id": "id of that change (null for the first version)",
    "technical": "that change may be due to a normalizer upgrade only",
    "words_delta": "words minus the previous version's (null for the first)",
    "chars_delta": "chars minus the previous version's (null for the first)",
    "moves": "a discovered site's moves of its privacy page shown before this version, each {from_url, to_url, "
             "at (the first homepage capture linking to to_url), cross_site}; usually empty (csv/tsv: as text)",
}
_DOCUMENT_FIELDS = {
    "id": "version id",
    "site": "hostname",
    "page_url": "the tracked page",
    "original_url": "URL of the version's first capture",
    "timestamp": "that capture's 14-digit timestamp",
    "first_seen": "first capture with this text",
    "last_seen": "last capture with this text",
    "title": "document title",
    "body": "markdown body",
    "document": "the complete corpus document (header, title, body)",
    "extraction": "readability, fallback or pdf",
    "sha256": "content hash",
    "source": "how the version was first seen: archive, or live (a live check; its document names the "
              "archive's capture of the same text once there is one)",
}
_MENTION = "{version_id, page_url, first_seen, last_seen}"
JSON_FIELDS: dict[str, dict[str, str]] = {
    "runs": {
        "id": "run id",
        "status": "running, succeeded, failed (errors; see `errors`) or interrupted (stopped; the next run resumes)",
        "trigger": "manual (policytrack crawl), schedule, or worker (pages crawled by one policytrack worker, see `queue`)",
        "schedule_id": "the schedule that started it (null for manual runs)",
        "scheduled_for": "that schedule's fire time, ISO 8601 UTC (a coalesced run: the latest missed one)",
        "started_at": "ISO 8601 UTC",
        "finished_at": "ISO 8601 UTC (null while running)",
        "duration_seconds": "finished_at - started_at (null while running)",
        "sites": "hostnames the run was limited to (null: every tracked site); a worker's run: the sites it took",
        "archive": "the archive crawled",
        "worker": "the policytrack worker (HOST:PID) that ran it (null unless trigger is worker)",
        "counts": "captures_seen, captures_new, captures_fetched, ..., versions_new, changes_new, errors_count",
        "errors": "errors kept (the first 100), then notes such as sites left out because another run had them",
    },
    "history": _VERSION_FIELDS,
    "show": _DOCUMENT_FIELDS,
    "diff": {
        "site": "hostname",
        "from": "the older version, as in `show --json` without body/document",
        "to": "the newer version, likewise",
        "mode": "line or word",
        "lines_added": "lines added (line diff)",
        "lines_removed": "lines removed (line diff)",
        "unified": "unified line diff text (mode line; empty if equal)",
        "hunks": "word mode: [{from_line, to_line, ops: [{op: equal|delete|insert, text}]}]",
        "words_added": "word mode: words inserted",
        "words_removed": "word mode: words deleted",
    },
    "changes": {
        "id": "change id",
        "site": "hostname",
        "page_url": "the tracked page",
        "from_version_id": "version before",
        "to_version_id": "version after",
        "before_timestamp": "last capture with the old text",
        "after_timestamp": "first capture with the new text: when the change was seen",
        "lines_added": "lines added",
        "lines_removed": "lines removed",
        "words_before": "words of the old text",
        "words_after": "words of the new text",
        "technical": "may be due to a normalizer upgrade only",
        "merged": "a change the current normalizer no longer sees (renormalize merged its two versions; technical, "
                  "id null, both version ids the merged version)",
    },
    "search": {
        "site": "hostname",
        "first": f"first version containing the term: {_MENTION}",
        "last": f"last version containing the term: {_MENTION}",
        "versions_matching": "versions containing the term",
        "versions_total": "versions of the site",
        "current": "the last matching version is still its page's latest",
    },
    "stats": {
        "site": "hostname",
        "page_url": "the tracked page",
        "version_id": "version id",
        "first_seen": "first capture with this text",
        "last_seen": "last capture with this text",
        "chars": "characters of the markdown body",
        "words": "prose words (markup, link targets and URLs left out)",
        "sentences": "sentences",
        "syllables": "syllables (documented English heuristic)",
        "grade": "Flesch-Kincaid grade level (null without words)",
    },
}


# --- output options shared by every listing command --------------------------------------------------


def output_options(parser: argparse.ArgumentParser, command: str | None = None) -> argparse.ArgumentParser:
    """Add ``--format`` and ``--json`` to a listing command; document its JSON fields in ``--help``."""
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    if command in JSON_FIELDS:
        parser.epilog = json_help(command)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def json_help(command: str) -> str:
    fields = JSON_FIELDS[command]
    width = max(map(len, fields))
    return "JSON fields (one object per row; jsonl: one per line):\n" + "\n".join(
        f"  {name.ljust(width)}  {meaning}" for name, meaning in fields.items()
    )


def record(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else dict(obj)


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


Column = tuple[str, Callable[[dict[str, Any]], Any]]


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """Rows as an aligned text table: numbers right-aligned, everything else left-aligned."""
    cells = [[("" if (v := get(r)) is None else v) for _, get in columns] for r in rows]
    numeric = [all(isinstance(row[i], (int, float)) for row in cells) and bool(cells) for i in range(len(columns))]
    texts = [[f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v) for v in row] for row in cells]
    widths = [max([len(h)] + [len(row[i]) for row in texts]) for i, (h, _) in enumerate(columns)]
    lines = ["  ".join(h.ljust(w) if not n else h.rjust(w) for (h, _), w, n in zip(columns, widths, numeric)).rstrip()]
    for row in texts:
        lines.append("  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(row, widths, numeric)).rstrip())
    return "\n".join(lines)


def emit(args: argparse.Namespace, rows: Iterable[dict[str, Any]], columns: Sequence[Column], *,
         title: str | None = None, empty: str = "nothing found") -> None:
    """Write ``rows`` in the format chosen with :func:`output_options`. JSON keys are the rows' own keys."""
    out = sys.stdout
    fmt = args.format
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    rows = list(rows)
    if fmt == "json":
        out.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    elif fmt in ("csv", "tsv"):
        flat = [_flatten(r) for r in rows]
        if flat:
            writer = csv.DictWriter(out, fieldnames=list(flat[0]), delimiter="," if fmt == "csv" else "\t",
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(flat)
    else:
        if title:
            out.write(title + "\n")
        out.write((render_table(rows, columns) if rows else empty) + "\n")


# --- argument parsing ----------------------------------------------------------------------------------


def _ts(value: str | None) -> str:
    return fmt_ts(value) if value else ""


# --- history ---------------------------------------------------------------------------------------


def change_summary(v: dict[str, Any]) -> str:
    """What changed to make this version, from a history row: "+3/-1 lines, +42 words"."""
    if v["change_id"] is None:
        return "first version"
    words = f", {v['words_delta']:+,} words" if v["words_delta"] is not None else ""
    return f"+{v['lines_added']}/-{v['lines_removed']} lines{words}" + (" (technical)" if v["technical"] else "")


HISTORY_COLUMNS: list[Column] = [
    ("ID", lambda r: f"v{r['id']}"),
    ("FIRST SEEN", lambda r: _ts(r["first_seen"])),
    ("LAST SEEN", lambda r: _ts(r["last_seen"])),
    ("CAPTURES", lambda r: r["capture_count"]),
    ("EXTRACTION", lambda r: r["extraction"]),
    ("WORDS", lambda r: r["words"]),
    ("CHANGE", change_summary),
]


def merged_line(boundary: Any) -> str:
    """A change the normalizer no longer sees (``storage.renormalize.MergedBoundary``), as one marked line."""
    now = f"both are version v{boundary.version_id} now" if boundary.version_id is not None else "merged"
    return (f"technical: normalizer {boundary.normalizer_version} no longer distinguishes the text first seen "
            f"{_ts(boundary.after_timestamp)} from the text before it (last seen {_ts(boundary.before_timestamp)}); "
            f"{now}")


def render_history(site: str, versions: Sequence[Any], moves: Sequence[Any] = (), merged: Sequence[Any] = ()) -> str:
    """The history table with a title line (also used by ``policytrack demo``); a discovered site's moves
    of its privacy page (``storage.discovery.PolicyMove``) are lines between the versions, in time order;
    changes a new normalizer no longer sees (``merged``) follow the table."""
    if not versions:
        return f"{site}: no versions yet (run 'policytrack crawl {site}')"
    from storage.discovery import place_moves

    rows = [record(v) for v in versions]
    columns = HISTORY_COLUMNS + ([("PAGE", lambda r: r["page_url"])] if len({r["page_url"] for r in rows}) > 1 else [])
    header, *lines = render_table(rows, columns).splitlines()
    out = [f"{site}: {len(rows)} version(s)" + (f", {len(moves)} move(s) of its privacy page" if moves else ""), header]
    before, after = place_moves(versions, moves)
    for placed, line in zip(before, lines):
        out.extend(_move_line(move) for move in placed)
        out.append(line)
    out.extend(_move_line(move) for move in after)
    out.extend(merged_line(b) for b in merged)
    return "\n".join(out)


def _move_line(move: Any) -> str:
    other = " (another site)" if move.cross_site else ""
    return f"-- policy moved from {move.from_url} to {move.to_url}{other} on {fmt_ts(move.at)[:10]}"


def cmd_history(args: argparse.Namespace) -> int:
    import storage
    from storage.discovery import PolicyMove, history_rows, stitched_history
    from storage.renormalize import merged_boundaries

    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None
    with open_db(args).session() as session:
        # A discovered site: each page's versions in its periods, and the moves between them.
        versions, moves = stitched_history(session, args.site, url=args.url, since=since, until=until)
        merged = merged_boundaries(session, sites=[args.site], page_url=args.url, since=since, until=until)
        _warn_provisional(storage.provisional_history(session, args.site, args.url))
    if args.format == "table":
        print(render_history(args.site, versions, moves, merged))
        return EXIT_OK
    # The rows stay versions, each with the moves shown before it in the table; changes the normalizer no
    # longer sees, and moves to a page with no version yet, go to stderr like other notes.
    rows, after = history_rows(versions, moves)
    _warn_provisional([merged_line(b) for b in merged] + [_move_line(m) + " (no version of it yet)" for m in after])
    if args.format in ("csv", "tsv"):
        rows = [{**row, "moves": "; ".join(_move_line(PolicyMove(**m)).removeprefix("-- ") for m in row["moves"])}
                for row in rows]
    emit(args, rows, HISTORY_COLUMNS)
    return EXIT_OK


# --- show and diff ---------------------------------------------------------------------------------


def _document(session: Any, site: str, spec: int | date | datetime | None, url: str | None) -> Any:
    import storage

    if isinstance(spec, int):
        return storage.site_version(session, site, spec)
    return storage.version_at(session, site, spec, url=url)


def _after_last_capture(session: Any, doc: Any, when: date | datetime, option: str) -> str | None:
    """A note when ``when`` lies after the page's last capture: the answer is only the last version known."""
    from storage.queries import page_last_capture

    last = page_last_capture(session, doc.site, doc.page_url)
    moment = f"{when:%Y%m%d}235959" if not isinstance(when, datetime) else when.strftime("%Y%m%d%H%M%S")
    if last is None or moment <= last:
        return None
    return (f"note: {option} is after the last capture of {doc.site} ({fmt_ts(last)[:10]}): this is the last "
            f"known version (version v{doc.id}), last seen {fmt_ts(doc.last_seen)[:10]}")


def _warn_provisional(notes: list[str]) -> None:
    """On stderr, so that the output itself (a table, JSON, a document) stays what it always is."""
    for note in notes:
        print(f"policytrack: note: {note}", file=sys.stderr)


def cmd_show(args: argparse.Namespace) -> int:
    import storage

    if args.at and args.version is not None:
        raise ConfigurationError("give either --at DATE or --version ID, not both")
    when = parse_when(args.at, "--at") if args.at else None
    spec = args.version if args.version is not None else when
    with open_db(args).session() as session:
        doc = _document(session, args.site, spec, args.url)
        note = _after_last_capture(session, doc, when, f"--at {args.at}") if when is not None else None
        _warn_provisional(storage.provisional_history(session, args.site, doc.page_url))
    if note:
        print(f"policytrack: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(record(doc), indent=2, ensure_ascii=False))
        return EXIT_OK
    sys.stdout.write(doc.document if doc.document.endswith("\n") else doc.document + "\n")
    return EXIT_OK


def _pair(session: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """The two versions ``diff`` compares, older first; a --from newer than --to is refused, not swapped."""
    import storage

    frm = parse_version_or_when(args.from_, "--from") if args.from_ else None
    to = parse_version_or_when(args.to, "--to") if args.to else None
    if isinstance(frm, int) or isinstance(to, int):
        if frm is None:
            raise ConfigurationError("--from is required when --to is a version id")
        old, new = _document(session, args.site, frm, args.url), _document(session, args.site, to, args.url)
    else:
        old, new = storage.version_pair(session, args.site, frm, to, url=args.url)
    if (old.first_seen, old.id) > (new.first_seen, new.id):
        raise ConfigurationError(
            f"--from is newer than --to: version v{old.id} was first seen {fmt_ts(old.first_seen)}, after "
            f"version v{new.id} ({fmt_ts(new.first_seen)}); swap them to see what changed"
        )
    return old, new


def cmd_diff(args: argparse.Namespace) -> int:
    """Diff the versions' comparable texts -- the form versions are stored and counted in -- so a link
    that differs only in its snapshot's timestamp is not a change, and the counts are history's."""
    from storage.browse import version_diff
    from storage.diffs import WordHunk, WordOp, render_word_diff

    with open_db(args).session() as session:
        old, new = _pair(session, args)
        result = version_diff(session, old, new, word=args.word)
    unified = result["unified"]
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return EXIT_OK
    label = lambda d: f"{d.site} {fmt_ts(d.first_seen)} (version v{d.id}, {d.sha256[:12]})"  # noqa: E731
    if unified == "":
        print(f"no difference between version v{old.id} ({fmt_ts(old.first_seen)}) and v{new.id} "
              f"({fmt_ts(new.first_seen)})")
    elif args.word:
        hunks = [WordHunk(h["from_line"], h["to_line"], [WordOp(**op) for op in h["ops"]]) for h in result["hunks"]]
        sys.stdout.write(f"--- {label(old)}\n+++ {label(new)}\n" + render_word_diff(hunks))
    else:
        sys.stdout.write(unified)
    return EXIT_OK


# --- changes, search, stats ----------------------------------------------------------------------------


CHANGES_COLUMNS: list[Column] = [
    ("SEEN", lambda r: _ts(r["after_timestamp"])),
    ("SITE", lambda r: r["site"]),
    ("ID", lambda r: r["id"]),
    ("VERSIONS", lambda r: f"merged: v{r['to_version_id']}" if r["merged"] and r["to_version_id"]
     else "merged: ?" if r["merged"] else f"v{r['from_version_id']} -> v{r['to_version_id']}"),
    ("LINES", lambda r: "" if r["merged"] else f"+{r['lines_added']}/-{r['lines_removed']}"),
    ("WORDS", lambda r: "" if r["merged"] else f"{r['words_before']:,} -> {r['words_after']:,}"),
    ("NOTE", lambda r: "technical: no longer distinguished" if r["merged"] else "technical" if r["technical"] else ""),
    ("PREVIOUS CAPTURE", lambda r: _ts(r["before_timestamp"])),
]


def merged_record(boundary: Any) -> dict[str, Any]:
    """A change the normalizer no longer sees, as a technical row of ``changes`` (no change id: it is gone)."""
    from storage.renormalize import merged_change

    return record(merged_change(boundary))


def cmd_changes(args: argparse.Namespace) -> int:
    import storage
    from storage.renormalize import merged_boundaries

    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None
    with open_db(args).session() as session:
        changes = storage.list_changes(session, since=since, until=until, sites=args.sites,
                                       include_technical=not args.no_technical, limit=args.limit)
        merged = [] if args.no_technical else merged_boundaries(session, sites=args.sites or (), since=since,
                                                                until=until)
    rows = [record(c) for c in changes] + [merged_record(b) for b in merged]
    rows.sort(key=lambda r: r["after_timestamp"], reverse=True)  # stable: changes keep their id order
    emit(args, rows[:args.limit] if args.limit else rows, CHANGES_COLUMNS, empty="no changes in that period")
    return EXIT_OK


SEARCH_COLUMNS: list[Column] = [
    ("SITE", lambda r: r["site"]),
    ("FIRST", lambda r: _ts(r["first"]["first_seen"])[:10]),
    ("VERSION", lambda r: r["first"]["version_id"]),
    ("LAST", lambda r: _ts(r["last"]["first_seen"])[:10]),
    ("VERSION ", lambda r: r["last"]["version_id"]),
    ("MATCHING", lambda r: f"{r['versions_matching']}/{r['versions_total']}"),
    ("STILL THERE", lambda r: "yes" if r["current"] else "no"),
]


def cmd_search(args: argparse.Namespace) -> int:
    import storage

    from storage.db import is_read_only

    db = open_db(args)
    # Index what the last crawl stored in a short write transaction of its own, so the (longer) search
    # itself only reads and never holds SQLite's write lock. A read-only database is searched as indexed.
    if not is_read_only(db.engine):
        with db.session(immediate=True) as session:
            storage.catch_up(session)
    with db.session() as session:
        hits = storage.search_versions(session, args.term, args.sites, case_sensitive=args.case_sensitive)
    emit(args, [record(h) for h in hits], SEARCH_COLUMNS, empty=f"no version contains {args.term!r}")
    return EXIT_OK


STATS_COLUMNS: list[Column] = [
    ("SITE", lambda r: r["site"]),
    ("ID", lambda r: r["version_id"]),
    ("FIRST SEEN", lambda r: _ts(r["first_seen"])[:10]),
    ("CHARS", lambda r: r["chars"]),
    ("WORDS", lambda r: r["words"]),
    ("SENTENCES", lambda r: r["sentences"]),
    ("FK GRADE", lambda r: "" if r["grade"] is None else f"{r['grade']:.1f}"),
]


def cmd_stats(args: argparse.Namespace) -> int:
    import storage

    if bool(args.sites) == args.all:
        raise ConfigurationError("name one or more sites, or give --all")
    with open_db(args).session() as session:
        rows = (record(s) for s in storage.sites_stats(session, None if args.all else args.sites))
        emit(args, rows, STATS_COLUMNS, empty="no versions yet")
    return EXIT_OK


# --- timeline ------------------------------------------------------------------------------------------


def cmd_timeline(args: argparse.Namespace) -> int:
    import storage

    from storage.queries import page_last_capture

    with open_db(args).session() as session:
        versions = storage.site_history(session, args.site, url=args.url)
        last_seen = max((page_last_capture(session, args.site, url) or "" for url in {v.page_url for v in versions}),
                        default=None)
    if not versions:
        raise ConfigurationError(f"{args.site} has no versions yet: nothing to draw")
    if args.plot:
        plot_timeline(args.site, versions, args.plot, last_seen or None)
        print(f"timeline of {args.site} ({len(versions)} versions) written to {args.plot}")
        return EXIT_OK
    print(text_timeline(args.site, versions))
    return EXIT_OK


PLOT_FORMATS = ("svg", "png")


def plot_timeline(site: str, versions: Sequence[Any], path: str, last_seen: str | None = None) -> None:
    """Draw version length (words) as a step line over time, with a marker line at every change.

    matplotlib with the Agg backend (no display needed); the format follows the file suffix. Technical
    changes (normalizer upgrades) are drawn grey and dotted so they are not read as policy edits.
    """
    from pathlib import Path

    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in PLOT_FORMATS:
        raise ConfigurationError(f"cannot draw {path!r}: the file name must end in .svg or .png")
    if not target.parent.resolve().is_dir():
        raise ConfigurationError(f"cannot write {path!r}: directory {str(target.parent)!r} does not exist")
    try:
        import matplotlib
    except ImportError:
        raise ConfigurationError("timeline --plot needs matplotlib (pip install matplotlib)") from None

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    moments = [datetime.strptime(v.first_seen, "%Y%m%d%H%M%S") for v in versions]
    # The line runs on to the last capture seen: that text was still in force then.
    end = max([moments[-1], *(datetime.strptime(t, "%Y%m%d%H%M%S") for t in (last_seen, versions[-1].last_seen) if t)])
    words = [v.words for v in versions]
    span = (end - moments[0]) or timedelta(days=1)
    figure, axes = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        axes.step(moments + [end], words + [words[-1]], where="post", color="#1f5fa8", linewidth=2, label="words")
        axes.plot(moments, words, "o", color="#1f5fa8", markersize=4)
        drawn: set[str] = set()
        for v, when in zip(versions, moments):
            if v.change_id is None:
                continue
            kind = "technical change (normalizer)" if v.technical else "change"
            style = dict(color="#999999", linestyle=":") if v.technical else dict(color="#d2691e", linestyle="--")
            axes.axvline(when, linewidth=1, alpha=0.8, label=None if kind in drawn else kind, **style)
            drawn.add(kind)
            # Labels near the right edge are written leftwards, so none runs out of the frame.
            right = (when - moments[0]) / span > 0.85
            axes.annotate(f"+{v.lines_added}/-{v.lines_removed}", (when, v.words), textcoords="offset points",
                          xytext=(-3 if right else 3, 6), ha="right" if right else "left", fontsize=7,
                          color=style["color"], annotation_clip=True)
        axes.set_title(f"{site}: privacy policy length over time ({len(versions)} versions)")
        axes.set_ylabel("words")
        axes.set_xlabel("first seen (UTC)")
        axes.set_ylim(bottom=0, top=max(words) * 1.15 or 1)  # headroom for the labels above the line
        axes.set_xlim(moments[0] - span * 0.02, end + span * 0.02)
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        axes.grid(axis="y", alpha=0.3)
        axes.legend(loc="lower left", fontsize=8)
        figure.autofmt_xdate()
        figure.tight_layout()
        # No creation date in the SVG: the same history gives the same file.
        metadata = {"Date": None} if fmt == "svg" else {}
        with matplotlib.rc_context({"svg.hashsalt": "policytrack"}):
            figure.savefig(target, format=fmt, metadata=metadata)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(figure)


def text_timeline(site: str, versions: Sequence[Any], width: int = 40) -> str:
    """Version length as bars, one line per version, for a terminal."""
    most = max(v.words for v in versions) or 1
    lines = [f"{site}: words per version"]
    for v in versions:
        bar = "#" * max(1, round(width * v.words / most))
        mark = "*" if v.technical else " "
        lines.append(f"{_ts(v.first_seen)[:10]} {mark}{bar} {v.words:,}")
    if any(v.technical for v in versions):
        lines.append("* technical change (normalizer upgrade)")
    return "\n".join(lines)


# --- registration --------------------------------------------------------------------------------------


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("history", cmd_history, "list a site's versions, with each change's size")
    p.add_argument("site")
    p.add_argument("--url", help="the page, when a site has several")
    p.add_argument("--since", help="only versions in force on or after this date (YYYY-MM-DD or timestamp)")
    p.add_argument("--until", help="only versions in force on or before this date")
    output_options(p, "history")

    p = command("show", cmd_show, "print the policy text in force on a date, or a version by id")
    p.add_argument("site")
    p.add_argument("--url", help="the page, when a site has several")
    p.add_argument("--at", help="date (YYYY-MM-DD or YYYYMMDD) or 14-digit timestamp; default: the latest version")
    p.add_argument("--version", type=version_id, help="a version id, as history lists it (v12; 12 works too)")
    p.add_argument("--json", action="store_true", help="the document and its metadata as JSON")
    p.epilog, p.formatter_class = json_help("show"), argparse.RawDescriptionHelpFormatter

    p = command("diff", cmd_diff, "diff two versions of a site, by lines or by words")
    p.add_argument("site")
    p.add_argument("--url", help="the page, when a site has several")
    p.add_argument("--from", dest="from_",
                   help="older version: a date (YYYY-MM-DD or YYYYMMDD), a timestamp, or a version id as history "
                        "lists it, v12 (12 works too) (default: the one before --to)")
    p.add_argument("--to", help="newer version: date, timestamp or version id (v12) (default: the latest)")
    p.add_argument("--word", action="store_true", help="word-level diff ([-removed-]{+added+}) instead of lines")
    p.add_argument("--json", action="store_true")
    p.epilog, p.formatter_class = json_help("diff"), argparse.RawDescriptionHelpFormatter

    p = command("changes", cmd_changes, "every change across sites in a period, newest first")
    p.add_argument("--since", help="first day (YYYY-MM-DD) or timestamp")
    p.add_argument("--until", help="last day (YYYY-MM-DD) or timestamp")
    p.add_argument("--site", dest="sites", action="append", metavar="SITE", help="only this site (repeatable)")
    p.add_argument("--no-technical", action="store_true", help="leave out changes due to normalizer upgrades")
    p.add_argument("--limit", type=positive_int("--limit"), help="at most this many changes")
    output_options(p, "changes")

    p = command("search", cmd_search, "when did each site first and last say TERM (full-text phrase search)")
    p.add_argument("term", help='a word or phrase, e.g. GDPR or "do not sell"')
    p.add_argument("--site", dest="sites", action="append", metavar="SITE", help="only this site (repeatable)")
    case = p.add_mutually_exclusive_group()
    case.add_argument("-s", "--case-sensitive", dest="case_sensitive", action="store_const", const=True,
                      help="match the term's letter case exactly")
    case.add_argument("-i", "--ignore-case", dest="case_sensitive", action="store_const", const=False,
                      help="match any letter case")
    p.set_defaults(case_sensitive=None)
    p.description = ("Full-text phrase search over every stored version: when did each site first and last say\n"
                     "TERM. Smart case by default: a term with a capital letter matches its case exactly\n"
                     "('Do Not Sell'), an all-lowercase one any case. A phrase matches within a paragraph.")
    output_options(p, "search")

    p = command("stats", cmd_stats, "length and readability (Flesch-Kincaid grade) of each version over time")
    p.add_argument("sites", nargs="*", metavar="SITE")
    p.add_argument("--all", action="store_true", help="every tracked site")
    output_options(p, "stats")

    p = command("timeline", cmd_timeline, "draw a site's versions over time (length and change points)")
    p.add_argument("site")
    p.add_argument("--url", help="the page, when a site has several")
    p.add_argument("--plot", metavar="FILE", help="write the picture to FILE (.svg or .png); default: text bars")
