"""The ``policytrack`` command: thin subcommands over the crawler, storage and normalizer packages.

Each command opens what it needs, calls one library function, renders the result, and turns
policytrack's own errors into one line on stderr with a non-zero exit -- never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from policytrack.commands import archive, distributed, exports, queries, renormalize, runs, schedule, serve, sites
from policytrack.commands.common import (EXIT_ERROR, EXIT_OK, archive_option, db_url, open_db, parse_when,
                                         setting_overrides)
from core.errors import ConfigurationError, PolicytrackError


# --- commands --------------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    db = open_db(args, create=True)
    db.dispose()
    print(f"database ready: {db.display_url}")  # never the password
    return EXIT_OK


def cmd_crawl(args: argparse.Namespace) -> int:
    if args.distributed:
        # The queue carries pages, not settings: say so rather than crawl otherwise than asked.
        for given, flag, setting, what in ((args.full, "--full", "POLICYTRACK_INCREMENTAL=false", "whole listings"),
                                           (args.exhaustive, "--exhaustive", "POLICYTRACK_EXHAUSTIVE=true",
                                            "exhaustive crawls")):
            if given:
                raise ConfigurationError(f"{flag} is not passed to the workers: start them with -s {setting} "
                                         f"for {what}")
        if args.workers is not None:  # how many normalizer processes changes no document: a warning will do
            print("policytrack: warning: --workers is not passed to the workers (nothing is normalized here): "
                  "start them with `policytrack worker --workers N`", file=sys.stderr)
        return distributed.cmd_enqueue(args)
    from crawler.runner import run_crawl
    from policytrack.crawloutput import Progress, report

    overrides = setting_overrides(args)
    if args.workers is not None:
        overrides["POLICYTRACK_NORMALIZER_WORKERS"] = args.workers
    if args.exhaustive:
        overrides["POLICYTRACK_EXHAUSTIVE"] = True
    if args.full:
        overrides["POLICYTRACK_INCREMENTAL"] = False
    if args.log_level or args.verbose:
        overrides["LOG_LEVEL"] = args.log_level or "INFO"
    overrides.setdefault("LOG_LEVEL", "WARNING")  # cron: a successful crawl prints only its summary
    archive = archive_option(args)
    quiet_terminal = sys.stderr.isatty() and overrides["LOG_LEVEL"] not in ("DEBUG", "INFO")
    watch = Progress(sys.stderr).watch if quiet_terminal else None
    result = run_crawl(db_url(args), archive=archive, sites=args.sites, overrides=overrides, watch=watch)
    return report(result)


def cmd_normalize(args: argparse.Namespace) -> int:
    from crawler.normalizer import CaptureMeta, Normalizer

    path = Path(args.file)
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    when = parse_when(args.timestamp, "--timestamp")
    if not (isinstance(when, datetime) and args.timestamp.isdigit()):
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
    archive = archive_option(args)
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
COMMAND_MODULES = [sites, runs, queries, exports, schedule, archive, serve, renormalize, distributed]


# Commands whose standard output only reports what was done: --quiet silences it. Everything else prints
# what the user asked for (a listing, a document, a diff), which --quiet keeps. Some report only in one form.
REPORTING_COMMANDS: dict[str, Callable[[argparse.Namespace], bool]] = {
    **{name: lambda args: True for name in (
        "cmd_init", "cmd_add", "cmd_sites_remove", "cmd_crawl", "cmd_archive_now", "cmd_demo", "cmd_schedule_add",
        "cmd_schedule_remove", "cmd_notify_add", "cmd_notify_remove", "cmd_announce", "cmd_export_pllcpp",
        "cmd_export_warc", "cmd_archive_import", "cmd_renormalize",
    )},
    "cmd_feed": lambda args: args.output not in (None, "-"),  # "wrote FILE"; the feed itself is data
    "cmd_timeline": lambda args: bool(args.plot),  # "written to FILE"; the text bars are data
    "cmd_live": lambda args: bool(args.sites),  # "live checks on: ..."; without sites it lists them
}


def _only_reports(args: argparse.Namespace) -> bool:
    func = getattr(args, "export_func", None) or getattr(args, "archive_func", None) or args.func
    return REPORTING_COMMANDS.get(getattr(func, "__name__", ""), lambda _: False)(args)


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("policytrack")
    except PackageNotFoundError:  # run from a source tree that was never installed
        release = "unknown"
    parser = argparse.ArgumentParser(prog="policytrack", description="Track the history of websites' privacy policies.")
    parser.add_argument("--version", action="version", version=f"policytrack {release}")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only errors and what was asked for (no 'done' messages)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--db", help="SQLAlchemy database URL or SQLite path (default: $POLICYTRACK_DB or ./policytrack.db)")
        p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    command("init", cmd_init, "create or upgrade the database")
    p = command("crawl", cmd_crawl, "fetch new captures from the archive and record new versions")
    p.add_argument("sites", nargs="*", metavar="SITE", help="sites to crawl (default: all)")
    p.add_argument("--archive", help="https://web.archive.org (default) or pywb:http://HOST:PORT/COLLECTION")
    p.add_argument("--workers", type=int, help="normalizer worker processes (default: one per core)")
    p.add_argument("--exhaustive", action="store_true",
                   help="fetch every distinct capture instead of bisecting (slower; also catches changes that "
                        "revert between two captures with equal text)")
    p.add_argument("--full", action="store_true",
                   help="list every page's whole history, not only the captures since its last complete crawl "
                        "(also finds captures the archive indexed late with an older date)")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy/policytrack setting for this crawl (repeatable), as scrapy's -s")
    p.add_argument("--distributed", action="store_true", help="queue the pages for `policytrack worker`s instead "
                   "of crawling here (needs --redis or $POLICYTRACK_REDIS)")
    distributed.redis_option(p)
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
        if args.quiet and _only_reports(args):
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                return args.func(args)
        return args.func(args)
    except BrokenPipeError:
        # The reader went away (`policytrack history x | head -1`): stop quietly, as Unix tools do.
        # Standard output is pointed at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except PolicytrackError as exc:
        print(f"policytrack: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("policytrack: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # anything unexpected: one line, details only on request
        if "readonly database" in str(getattr(exc, "orig", "")):
            print("policytrack: error: the database is read-only: this command needs to write to it", file=sys.stderr)
            return EXIT_ERROR
        if os.environ.get("POLICYTRACK_DEBUG"):
            raise
        print(f"policytrack: internal error: {type(exc).__name__}: {exc} (set POLICYTRACK_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
