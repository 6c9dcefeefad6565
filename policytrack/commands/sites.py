"""Site subcommands: add (a page, a domain tracked by discovery, or many from a CSV/TSV file), discover,
sites (the list), sites remove."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigurationError, InvalidSite
from policytrack.commands.common import EXIT_ERROR, EXIT_OK, archive_option, db_url, fmt_ts, open_db, setting_overrides
from policytrack.commands.queries import render_table

# The columns of an `add --from` file, in order. The URL is optional per row: a site given alone is
# tracked by discovery (its privacy page is found on its archived homepage: `policytrack discover`).
HEADER_NAMES = {"site", "hostname", "host", "domain"}


@dataclass(frozen=True)
class SiteRow:
    line: int
    site: str
    url: str | None


@dataclass(frozen=True)
class Rejected:
    line: int
    text: str
    reason: str


def read_site_rows(path: Path) -> list[SiteRow]:
    """Rows of a CSV or TSV file of ``site[,url]``: the delimiter is the first line's (tab or comma), an
    optional header row names the columns, blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {str(path)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ","
    rows: list[SiteRow] = []
    for number, cells in enumerate(csv.reader(text.splitlines(), delimiter=delimiter), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not rows and number == _first_line(text) and cells[0].lower() in HEADER_NAMES:
            continue
        rows.append(SiteRow(number, cells[0], (cells[1] if len(cells) > 1 else "") or None))
    return rows


def _first_line(text: str) -> int:
    return next((i for i, line in enumerate(text.splitlines(), start=1) if line.strip()), 0)


def check_rows(rows: list[SiteRow]) -> tuple[list[tuple[str, str]], list[str], list[Rejected]]:
    """Split rows into valid (site, URL) pairs, sites given alone (tracked by discovery), each once, and
    rejected rows with their reasons."""
    from storage.sites import normalize_hostname, validate_page_url

    valid: dict[tuple[str, str], None] = {}
    alone: dict[str, None] = {}
    rejected = []
    for row in rows:
        text = row.site + (f",{row.url}" if row.url else "")
        try:
            if row.url is None:
                alone[normalize_hostname(row.site)] = None
            else:
                valid[(normalize_hostname(row.site), validate_page_url(row.url))] = None
        except InvalidSite as exc:
            rejected.append(Rejected(row.line, text, str(exc)))
    return list(valid), list(alone), rejected


def cmd_add(args: argparse.Namespace) -> int:
    from storage.sites import add_site

    if args.from_file:
        if args.site or args.url:
            raise ConfigurationError("give either SITE URL or --from FILE, not both")
        return _add_from_file(args, Path(args.from_file))
    if not args.site:
        raise ConfigurationError("give the site (policytrack add SITE [URL]), or --from FILE")
    if args.url is None:
        return _add_by_discovery(args)
    db, created = _open_for_adding(args)
    with db.session(immediate=True) as session:
        page = add_site(session, args.site, args.url)
    if created:
        print(f"created database {db.display_url}")
    print(f"tracking {page.site}: {page.url}" if page.added else f"{page.site} already tracks {page.url}")
    return EXIT_OK


def _add_by_discovery(args: argparse.Namespace) -> int:
    from storage.discovery import track_by_discovery
    from storage.sites import normalize_hostname

    host = normalize_hostname(args.site)  # a bad name is refused before the database is created
    db, created = _open_for_adding(args)
    with db.session(immediate=True) as session:
        [(host, added)] = track_by_discovery(session, [host])
    if created:
        print(f"created database {db.display_url}")
    print(f"tracking {host} by discovery: 'policytrack discover {host}' finds its privacy page over time"
          if added else f"{host} is already tracked by discovery")
    return EXIT_OK


def _add_from_file(args: argparse.Namespace, path: Path) -> int:
    from storage.sites import add_sites

    from storage.discovery import track_by_discovery

    pairs, alone, rejected = check_rows(read_site_rows(path))
    db, created = _open_for_adding(args)
    with db.session(immediate=True) as session:  # one transaction: every valid row, or none
        pages = add_sites(session, pairs)
        discovered = track_by_discovery(session, alone) if alone else []
    if created:
        print(f"created database {db.display_url}")
    added = sum(p.added for p in pages)
    by_discovery = sum(new for _, new in discovered)
    print(f"{path}: {added} page(s) added, {by_discovery} site(s) tracked by discovery, "
          f"{len(pages) - added + len(discovered) - by_discovery} already tracked, {len(rejected)} row(s) rejected")
    for row in rejected:  # errors: on stderr, so --quiet keeps them
        print(f"policytrack: {path}, line {row.line}: rejected {row.text!r}: {row.reason}", file=sys.stderr)
    return EXIT_ERROR if rejected else EXIT_OK


def _open_for_adding(args: argparse.Namespace):
    """``add`` may create the database; it says so. Returns (database, whether it was created)."""
    from storage.db import resolve_db_url, sqlite_file

    path = sqlite_file(resolve_db_url(args.db))
    created = path is not None and not path.exists()
    return open_db(args, create=True), created


def cmd_discover(args: argparse.Namespace) -> int:
    """Run the discovery crawl of the sites, then print each one's policy periods (and why, --explain)."""
    from crawler.discovery_crawl import run_discovery
    from policytrack.crawloutput import report

    archive = archive_option(args)
    overrides = setting_overrides(args)
    overrides.setdefault("LOG_LEVEL", "INFO" if args.verbose else "WARNING")
    result = run_discovery(db_url(args), archive=archive, sites=args.sites, overrides=overrides)
    if not result.sites and result.run.ok:
        print("no site is tracked by discovery: 'policytrack add SITE' (without URL) adds one")
    for found in sorted(result.sites, key=lambda f: f.site):
        print(f"{found.site}: {len(found.periods)} period(s) from {found.homepage_captures} homepage capture(s); "
              f"{found.cdx_requests} CDX request(s), {found.homepage_fetches} homepage fetch(es), "
              f"{found.policy_fetches} policy fetch(es)" + ("" if found.complete else " (incomplete: not stored)"))
        for period in found.periods:
            until = fmt_ts(period.valid_until)[:10] if period.valid_until else "now"
            what = period.url or "no privacy link"
            flags = (" [other site]" if period.cross_site else "") + (
                f" [rejected: {period.rejected}]" if period.rejected else "")
            print(f"  {fmt_ts(period.valid_from)[:10]} .. {until}  {what}{flags}")
            if args.explain:
                print("\n".join(f"      {line}" for line in period.explanation.splitlines()))
    stored = sum(found.complete for found in result.sites)
    line = f"run {result.run.run_id} {result.run.status}: {len(result.sites)} site(s) discovered, {stored} stored"
    return report(result.run, line=line, what="discovery")


SITES_COLUMNS = [
    ("SITE", lambda r: r["hostname"]),
    ("VERSIONS", lambda r: r["versions"]),
    ("CAPTURES", lambda r: r["captures"]),
    ("SPAN", lambda r: r["span"]),
    ("PAGES", lambda r: " ".join(r["urls"])),
]


def cmd_sites(args: argparse.Namespace) -> int:
    import storage

    with open_db(args).session() as session:
        sites = storage.list_sites(session)
    if args.json:
        print(json.dumps([s.__dict__ for s in sites], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not sites:
        print("no sites tracked yet: policytrack add SITE URL")
        return EXIT_OK
    rows = [{**s.__dict__, "span": _span(s)} for s in sites]
    lines = render_table(rows, SITES_COLUMNS).splitlines()
    print(lines[0])
    for line, s in zip(lines[1:], sites):
        print(line)
        for note in s.notes:
            print(f"  {note}")
    return EXIT_OK


def _span(s) -> str:
    removed = f" (removed {s.removed_at}, history kept)" if s.removed_at else ""
    if s.first_capture:
        return f"{fmt_ts(s.first_capture)[:10]} .. {fmt_ts(s.last_capture)[:10]}{removed}"
    return ("not crawled yet" if all(state == "never" for state in s.listing.values()) else "no captures") + removed


def cmd_sites_remove(args: argparse.Namespace) -> int:
    from storage.sites import remove_site

    if args.keep_history == args.purge:
        raise ConfigurationError("say what happens to its history: --keep-history (stop crawling it, keep what was "
                                 "found) or --purge (delete it with every capture, version and change)")
    db = open_db(args)
    with db.session(immediate=True) as session:
        removed = [remove_site(session, site, purge=args.purge) for site in args.sites]
    for r in removed:
        what = "deleted with its whole history" if r.purged else "no longer crawled; its history is kept"
        print(f"removed {r.site} ({', '.join(r.urls) or 'no pages'}): {what}")
    return EXIT_OK


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("add", cmd_add, "track a site's privacy page, or a site alone by discovery (creates the database "
                "if needed)")
    p.add_argument("site", nargs="?", help="the site's hostname, e.g. example.com (or bücher.de)")
    p.add_argument("url", nargs="?", help="the privacy page URL, e.g. https://example.com/privacy (without it, the "
                   "site is tracked by discovery: see 'policytrack discover')")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="add every row of a CSV or TSV file of SITE[,URL] (a row without URL: tracked by discovery; "
                        "optional header row; one transaction; rejected rows are listed with their line numbers)")

    p = command("discover", cmd_discover, "find the privacy page of sites tracked by discovery, period by period, "
                "on their archived homepages")
    p.add_argument("sites", nargs="*", metavar="SITE", help="sites to discover (default: all tracked by discovery)")
    p.add_argument("--archive", help="https://web.archive.org (default) or pywb:http://HOST:PORT/COLLECTION")
    p.add_argument("--explain", action="store_true", help="print each period's candidates, scores and why the "
                   "winner won")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy/policytrack setting for this run (repeatable), as for crawl")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's log (INFO) on stderr")

    p = command("sites", cmd_sites, "list tracked sites (or: sites remove SITE ...)")
    p.add_argument("--json", action="store_true")
    sub = p.add_subparsers(dest="sites_command", metavar="ACTION")
    q = sub.add_parser("remove", help="stop tracking sites", description="stop tracking sites, keeping or deleting "
                       "their history")
    q.add_argument("--db", default=argparse.SUPPRESS,
                   help="SQLAlchemy database URL or SQLite path (default: $POLICYTRACK_DB or ./policytrack.db)")
    q.add_argument("sites", nargs="+", metavar="SITE")
    history = q.add_mutually_exclusive_group()
    history.add_argument("--keep-history", action="store_true", help="stop crawling it; its history stays queryable")
    history.add_argument("--purge", action="store_true", help="delete it with every capture, version and change")
    q.set_defaults(func=cmd_sites_remove)
