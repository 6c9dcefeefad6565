"""``policytrack renormalize``: re-run the current normalizer over stored snapshots (see crawler/renormalize.py).

Nothing is fetched: the archive may be down. Progress goes to stderr, the summary to stdout; a run cut
short is resumed by running it again.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from policytrack.commands.common import EXIT_ERROR, EXIT_OK, open_db
from core.errors import ConfigurationError


def cmd_renormalize(args: argparse.Namespace) -> int:
    from crawler.normalizer import NORMALIZER_VERSION
    from crawler.renormalize import renormalize

    if args.since_version is not None and not args.since_version.strip():
        raise ConfigurationError("--since-version needs a normalizer version, e.g. --since-version 2")
    if args.workers is not None and args.workers < 1:
        raise ConfigurationError(f"--workers must be at least 1, not {args.workers}")
    db = open_db(args)
    try:
        def progress(line: str) -> None:
            if not args.quiet:
                print(line, file=sys.stderr, flush=True)

        totals = renormalize(db, args.sites, since_version=args.since_version, workers=args.workers,
                             progress=progress)
    finally:
        db.dispose()
    skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(totals.skip_reasons.items()))
    print(f"normalizer {NORMALIZER_VERSION}: {totals.captures} captures re-normalized on {totals.pages} pages"
          f"{f' ({totals.skipped} without a document: {skipped})' if totals.skipped else ''}; "
          f"versions +{totals.versions_new}/-{totals.versions_removed}; "
          f"technical: {totals.appeared} boundaries appeared, {totals.disappeared} disappeared; "
          f"{totals.policy_changes_new} new policy changes"
          + (f"; {totals.reopened} inferred captures reopened for the next crawl" if totals.reopened else ""))
    if totals.busy:
        for host, holder in sorted(totals.busy.items()):
            print(f"policytrack: {host} left out: it is being crawled ({holder}); run renormalize again later",
                  file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("renormalize", cmd_renormalize,
                "re-run the current normalizer over stored snapshots and rebuild versions (no fetching)")
    p.add_argument("sites", nargs="*", metavar="SITE", help="sites to re-normalize (default: all)")
    p.add_argument("--since-version", metavar="V",
                   help="only captures normalized by normalizer version V or later (default: every capture "
                        "not yet normalized by the current version)")
    p.add_argument("--workers", type=int, help="normalizer worker processes (default: one per core)")
