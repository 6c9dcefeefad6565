"""The ``policytrack`` command: thin subcommands over the crawler, storage and normalizer packages.

Each command opens what it needs, calls one library function, renders the result, and turns
policytrack's own errors into one line on stderr with a non-zero exit -- never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from policytrack.errors import ConfigurationError, PolicytrackError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _db_url(args: argparse.Namespace) -> str:
    import storage

    return storage.resolve_db_url(args.db)


def _open(args: argparse.Namespace):
    import storage

    return storage.open_database(_db_url(args))


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


def _fmt_ts(ts: str) -> str:
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]} {ts[8:10]}:{ts[10:12]}:{ts[12:14]}"


# --- commands --------------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    db = _open(args)
    db.dispose()
    print(f"database ready: {db.url}")
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    import storage

    db = _open(args)
    with db.session() as session:
        page = storage.add_site(session, args.site, args.url)
    print(f"tracking {page.site}: {page.url}")
    return EXIT_OK


def cmd_sites(args: argparse.Namespace) -> int:
    import storage

    with _open(args).session() as session:
        sites = storage.list_sites(session)
    if args.json:
        print(json.dumps([s.__dict__ for s in sites], indent=2))
        return EXIT_OK
    if not sites:
        print("no sites tracked yet: policytrack add SITE URL")
    for s in sites:
        span = f"{_fmt_ts(s.first_capture)[:10]} .. {_fmt_ts(s.last_capture)[:10]}" if s.first_capture else "not crawled yet"
        print(f"{s.hostname}\t{s.versions} versions\t{s.captures} captures\t{span}\t{' '.join(s.urls)}")
    return EXIT_OK


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.runner import run_crawl

    overrides = dict(_setting(pair) for pair in args.set)
    if args.workers:
        overrides["POLICYTRACK_NORMALIZER_WORKERS"] = args.workers
    if args.exhaustive:
        overrides["POLICYTRACK_EXHAUSTIVE"] = True
    archive = args.archive or os.environ.get("POLICYTRACK_ARCHIVE")
    result = run_crawl(_db_url(args), archive=archive, sites=args.sites, overrides=overrides)
    c = result.counts
    print(
        f"run {result.run_id} {result.status}: {c.get('captures_seen', 0)} captures seen, "
        f"{c.get('captures_new', 0)} new, {c.get('captures_fetched', 0)} fetched, "
        f"{c.get('versions_new', 0)} new versions, {c.get('changes_new', 0)} new changes"
    )
    if not result.ok:
        first = result.errors[0] if result.errors else "see the log above"
        print(f"policytrack: crawl {result.status} with {len(result.errors)} error(s); first: {first}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _setting(pair: str) -> tuple[str, str]:
    name, sep, value = pair.partition("=")
    if not sep or not name.strip():
        raise ConfigurationError(f"invalid setting {pair!r}: use -s NAME=VALUE, e.g. -s POLICYTRACK_CDX_RATE_PER_MINUTE=12")
    return name.strip(), value


def cmd_history(args: argparse.Namespace) -> int:
    import storage

    with _open(args).session() as session:
        versions = storage.site_history(session, args.site, url=args.url)
    if args.json:
        print(json.dumps([v.__dict__ for v in versions], indent=2))
        return EXIT_OK
    print(render_history(args.site, versions))
    return EXIT_OK


def render_history(site: str, versions: Sequence) -> str:
    if not versions:
        return f"{site}: no versions yet (run 'policytrack crawl {site}')"
    lines = [f"{site}: {len(versions)} version(s)"]
    for v in versions:
        lines.append(
            f"  {_fmt_ts(v.first_seen)}  ..  {_fmt_ts(v.last_seen)}  {v.sha256[:12]}  "
            f"{v.chars:>7,} chars  +{v.lines_added}/-{v.lines_removed}  {v.page_url}"
        )
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    import storage

    with _open(args).session() as session:
        doc = storage.version_at(session, args.site, parse_when(args.at) if args.at else None, url=args.url)
    sys.stdout.write(doc.document if doc.document.endswith("\n") else doc.document + "\n")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    import storage

    with _open(args).session() as session:
        old, new = storage.version_pair(
            session, args.site,
            parse_when(args.from_) if args.from_ else None,
            parse_when(args.to) if args.to else None,
            url=args.url,
        )
    diff = difflib.unified_diff(
        f"# {old.title}\n\n{old.body}".splitlines(keepends=True),
        f"# {new.title}\n\n{new.body}".splitlines(keepends=True),
        fromfile=f"{old.site} {_fmt_ts(old.first_seen)} ({old.sha256[:12]})",
        tofile=f"{new.site} {_fmt_ts(new.first_seen)} ({new.sha256[:12]})",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
    sys.stdout.write(text or f"no difference between {_fmt_ts(old.first_seen)} and {_fmt_ts(new.first_seen)}\n")
    return EXIT_OK


def cmd_normalize(args: argparse.Namespace) -> int:
    from crawler.normalizer import CaptureMeta, Normalizer

    path = Path(args.file)
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    if not (args.timestamp.isdigit() and len(args.timestamp) == 14):
        raise ConfigurationError(f"invalid --timestamp {args.timestamp!r}: expected 14 digits, e.g. 20141230054142")
    headers = (("Content-Type", args.content_type),) if args.content_type else ()
    meta = CaptureMeta(site=args.site, original_url=args.url, timestamp=args.timestamp, headers=headers)
    with Normalizer(workers=1) as normalizer:
        result = normalizer.normalize(payload, meta)
    sys.stdout.write(result.document)
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    import storage

    with _open(args).session() as session:
        runs = storage.list_runs(session, limit=args.limit)
    if args.json:
        print(json.dumps([{**r.__dict__, "started_at": r.started_at.isoformat(),
                           "finished_at": r.finished_at.isoformat() if r.finished_at else None} for r in runs], indent=2))
        return EXIT_OK
    for r in runs:
        c = r.counts
        print(f"{r.id}\t{r.started_at:%Y-%m-%d %H:%M:%S}\t{r.trigger}\t{r.status}\t"
              f"seen={c.get('captures_seen', 0)} fetched={c.get('captures_fetched', 0)} "
              f"versions+={c.get('versions_new', 0)} errors={c.get('errors_count', 0)}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from policytrack.demo import run_demo

    return run_demo(Path(args.workdir))


# --- parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policytrack", description="Track the history of websites' privacy policies.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--db", help="SQLAlchemy database URL or SQLite path (default: $POLICYTRACK_DB or ./policytrack.db)")
        p.set_defaults(func=func)
        return p

    command("init", cmd_init, "create or upgrade the database")
    p = command("add", cmd_add, "track a site's privacy page")
    p.add_argument("site", help="the site's hostname, e.g. example.com")
    p.add_argument("url", help="the privacy page URL, e.g. https://example.com/privacy")
    p = command("sites", cmd_sites, "list tracked sites")
    p.add_argument("--json", action="store_true")
    p = command("crawl", cmd_crawl, "fetch new captures from the archive and record new versions")
    p.add_argument("sites", nargs="*", metavar="SITE", help="sites to crawl (default: all)")
    p.add_argument("--archive", help="https://web.archive.org (default) or pywb:http://HOST:PORT/COLLECTION")
    p.add_argument("--workers", type=int, help="normalizer worker processes (default: one per core)")
    p.add_argument("--exhaustive", action="store_true",
                   help="fetch every distinct capture instead of bisecting (slower; also catches changes that "
                        "revert between two captures with equal text)")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy/policytrack setting for this crawl (repeatable), as scrapy's -s")
    for name, func, text in (("history", cmd_history, "list a site's versions and when they changed"),
                             ("show", cmd_show, "print the policy text in force on a date"),
                             ("diff", cmd_diff, "unified diff between two versions")):
        p = command(name, func, text)
        p.add_argument("site")
        p.add_argument("--url", help="the page, when a site has several")
        if name == "history":
            p.add_argument("--json", action="store_true")
        if name == "show":
            p.add_argument("--at", help="date (YYYY-MM-DD); default: the latest version")
        if name == "diff":
            p.add_argument("--from", dest="from_", help="date of the older version (default: the one before --to)")
            p.add_argument("--to", help="date of the newer version (default: the latest)")
    p = command("normalize", cmd_normalize, "print the corpus document for one raw capture file (no database)")
    p.add_argument("file")
    p.add_argument("--site", required=True)
    p.add_argument("--url", required=True, help="the capture's original URL")
    p.add_argument("--timestamp", required=True, help="14-digit capture timestamp")
    p.add_argument("--content-type", help="the capture's HTTP Content-Type, if known")
    p = command("runs", cmd_runs, "list crawl runs")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p = command("demo", cmd_demo, "crawl the bundled sample archive into a fresh database and print its history")
    p.add_argument("--workdir", default=".demo", help="where the demo archive and database go (default: .demo)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PolicytrackError as exc:
        print(f"policytrack: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("policytrack: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # anything unexpected: one line, details only on request
        if os.environ.get("POLICYTRACK_DEBUG"):
            raise
        print(f"policytrack: internal error: {type(exc).__name__}: {exc} (set POLICYTRACK_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
