"""Query subcommands: history, show, diff (and the research queries built on storage.queries)."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import Sequence

from policytrack.commands.common import EXIT_OK, fmt_ts, open_db, parse_when

def cmd_history(args: argparse.Namespace) -> int:
    import storage

    with open_db(args).session() as session:
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
            f"  {fmt_ts(v.first_seen)}  ..  {fmt_ts(v.last_seen)}  {v.sha256[:12]}  "
            f"{v.chars:>7,} chars  +{v.lines_added}/-{v.lines_removed}  {v.page_url}"
        )
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    import storage

    with open_db(args).session() as session:
        doc = storage.version_at(session, args.site, parse_when(args.at) if args.at else None, url=args.url)
    sys.stdout.write(doc.document if doc.document.endswith("\n") else doc.document + "\n")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    import storage

    with open_db(args).session() as session:
        old, new = storage.version_pair(
            session, args.site,
            parse_when(args.from_) if args.from_ else None,
            parse_when(args.to) if args.to else None,
            url=args.url,
        )
    diff = difflib.unified_diff(
        f"# {old.title}\n\n{old.body}".splitlines(keepends=True),
        f"# {new.title}\n\n{new.body}".splitlines(keepends=True),
        fromfile=f"{old.site} {fmt_ts(old.first_seen)} ({old.sha256[:12]})",
        tofile=f"{new.site} {fmt_ts(new.first_seen)} ({new.sha256[:12]})",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
    sys.stdout.write(text or f"no difference between {fmt_ts(old.first_seen)} and {fmt_ts(new.first_seen)}\n")
    return EXIT_OK


def register(command) -> None:
    p = command("history", cmd_history, "list a site's versions and when they changed")
    p.add_argument("site")
    p.add_argument("--url", help="the page, when a site has several")
    p.add_argument("--json", action="store_true")
    p = command("show", cmd_show, "print the policy text in force on a date")
    p.add_argument("site")
    p.add_argument("--url", help="the page, when a site has several")
    p.add_argument("--at", help="date (YYYY-MM-DD); default: the latest version")
    p = command("diff", cmd_diff, "unified diff between two versions")
    p.add_argument("site")
    p.add_argument("--url", help="the page, when a site has several")
    p.add_argument("--from", dest="from_", help="date of the older version (default: the one before --to)")
    p.add_argument("--to", help="date of the newer version (default: the latest)")
