"""The ``policytrack`` command: thin subcommands over the crawler, storage and normalizer packages.

Each command opens what it needs, calls one library function, renders the result, and turns
policytrack's own errors into one line on stderr with a non-zero exit -- never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from policytrack.commands import exports, queries, runs, schedule
from policytrack.commands.common import EXIT_ERROR, EXIT_OK, db_url, fmt_ts, open_db
from core.errors import ConfigurationError, PolicytrackError


# --- commands --------------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    db = open_db(args)
    db.dispose()
    print(f"database ready: {db.url}")
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    import storage

    db = open_db(args)
    with db.session() as session:
        page = storage.add_site(session, args.site, args.url)
    print(f"tracking {page.site}: {page.url}")
    return EXIT_OK


def cmd_sites(args: argparse.Namespace) -> int:
    import storage

    with open_db(args).session() as session:
        sites = storage.list_sites(session)
    if args.json:
        print(json.dumps([s.__dict__ for s in sites], indent=2))
        return EXIT_OK
    if not sites:
        print("no sites tracked yet: policytrack add SITE URL")
    for s in sites:
        if s.first_capture:
            span = f"{fmt_ts(s.first_capture)[:10]} .. {fmt_ts(s.last_capture)[:10]}"
        else:
            span = "not crawled yet" if all(state == "never" for state in s.listing.values()) else "no captures"
        print(f"{s.hostname}\t{s.versions} versions\t{s.captures} captures\t{span}\t{' '.join(s.urls)}")
        for note in s.notes:
            print(f"  {note}")
    return EXIT_OK


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.runner import check_overrides, run_crawl
    from policytrack.crawloutput import Progress, report

    overrides = dict(_setting(pair) for pair in args.set)
    if args.workers is not None:
        overrides["POLICYTRACK_NORMALIZER_WORKERS"] = args.workers
    if args.exhaustive:
        overrides["POLICYTRACK_EXHAUSTIVE"] = True
    if args.log_level or args.verbose:
        overrides["LOG_LEVEL"] = args.log_level or "INFO"
    overrides.setdefault("LOG_LEVEL", "WARNING")  # cron: a successful crawl prints only its summary
    for warning in check_overrides(overrides):
        print(f"policytrack: warning: {warning}", file=sys.stderr)
    archive = args.archive if args.archive is not None else os.environ.get("POLICYTRACK_ARCHIVE")
    quiet_terminal = sys.stderr.isatty() and overrides["LOG_LEVEL"] not in ("DEBUG", "INFO")
    watch = Progress(sys.stderr).watch if quiet_terminal else None
    result = run_crawl(db_url(args), archive=archive, sites=args.sites, overrides=overrides, watch=watch)
    return report(result)


def _setting(pair: str) -> tuple[str, str]:
    name, sep, value = pair.partition("=")
    if not sep or not name.strip():
        raise ConfigurationError(f"invalid setting {pair!r}: use -s NAME=VALUE, e.g. -s POLICYTRACK_CDX_RATE_PER_MINUTE=12")
    return name.strip(), value


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


def cmd_archive_now(args: argparse.Namespace) -> int:
    import storage
    from crawler.savepagenow import save_page_now

    with open_db(args).session() as session:
        pages = storage.pages_for(session, args.sites)
    archive = args.archive or os.environ.get("POLICYTRACK_ARCHIVE")
    results = save_page_now([p.url for p in pages], archive=archive, rate_per_minute=args.rate)
    for result in results:
        status = result.archive_url + (" (recent capture reused by the archive)" if result.cached else "") \
            if result.ok else f"failed: {result.error}"
        print(f"{result.url}\t{status}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR


def cmd_demo(args: argparse.Namespace) -> int:
    from policytrack.demo import run_demo

    return run_demo(Path(args.workdir))


# --- parser ----------------------------------------------------------------------------------------
# Each area registers its own subcommands: module.register(command), with the factory in build_parser.
COMMAND_MODULES = [runs, queries, exports, schedule]


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
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's log (INFO) on stderr")
    p.add_argument("--log-level", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                   help="Scrapy's log level on stderr (default WARNING: a successful crawl prints one line)")
    p = command("normalize", cmd_normalize, "print the corpus document for one raw capture file (no database)")
    p.add_argument("file")
    p.add_argument("--site", required=True)
    p.add_argument("--url", required=True, help="the capture's original URL")
    p.add_argument("--timestamp", required=True, help="14-digit capture timestamp")
    p.add_argument("--content-type", help="the capture's HTTP Content-Type, if known")
    p = command("archive-now", cmd_archive_now, "ask the Internet Archive to capture the sites' live pages now")
    p.add_argument("sites", nargs="+", metavar="SITE")
    p.add_argument("--archive", help="the Wayback Machine to ask (default https://web.archive.org)")
    p.add_argument("--rate", type=float, default=12.0, help="saves per minute, at most 15 (default 12)")
    p = command("demo", cmd_demo, "crawl the bundled sample archive into a fresh database and print its history")
    p.add_argument("--workdir", default=".demo", help="where the demo archive and database go (default: .demo)")
    for module in COMMAND_MODULES:
        module.register(command)
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
