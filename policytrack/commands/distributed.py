"""Scale-out commands: ``worker`` (crawl pages from the shared queue), ``queue`` (what the queue holds and
which workers are alive), and ``crawl --distributed`` (queue the pages instead of crawling them here).

Redis is named by ``--redis`` or ``$POLICYTRACK_REDIS``; its password never appears in output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable

from core.errors import ConfigurationError
from policytrack.commands.common import EXIT_ERROR, EXIT_OK, archive_option, db_url, open_db, setting_overrides

REDIS_ENV = "POLICYTRACK_REDIS"


def configured_redis(args: argparse.Namespace) -> str | None:
    """``--redis`` or ``$POLICYTRACK_REDIS``; None when neither is given (everything runs in-process)."""
    return getattr(args, "redis", None) or os.environ.get(REDIS_ENV)


def redis_url(args: argparse.Namespace) -> str:
    url = configured_redis(args)
    if not url:
        raise ConfigurationError(f"no Redis given: use --redis redis://HOST:PORT/DB or set ${REDIS_ENV}")
    return url


def _queue(args: argparse.Namespace):
    from crawler.distributed.queue import PageQueue, connect

    return PageQueue(connect(redis_url(args)))


def cmd_enqueue(args: argparse.Namespace) -> int:
    """``crawl --distributed``: discover the sites tracked by discovery here, then queue every page.

    Discovery runs in this process, as one recorded run within the shared politeness budget (Redis): it
    costs a site one CDX request and a few homepage fetches, so under the archive's per-IP limits more
    processes would not finish it sooner, and the pages it finds are queued with the others. Its errors
    make the command exit non-zero; the pages already known are queued all the same (not when it was
    interrupted by a signal).
    """
    from crawler.distributed.queue import enqueue_sites
    from crawler.runner import run_crawl
    from policytrack.crawloutput import report
    from storage import pages_for
    from storage.discovery import discovery_targets

    queue = _queue(args)  # Redis unreachable: one clear line before anything is crawled
    db = open_db(args)
    try:
        with db.session() as session:
            pages_for(session, args.sites or None)  # an unknown site: one clear error before anything runs
            to_discover = [target.site for target in discovery_targets(session, args.sites or None)]
    finally:
        db.dispose()
    status = EXIT_OK
    if to_discover:
        overrides = setting_overrides(args)
        overrides["POLICYTRACK_REDIS_URL"] = redis_url(args)  # the workers' budget: one per IP
        overrides.setdefault("LOG_LEVEL", args.log_level or ("INFO" if args.verbose else "WARNING"))
        result = run_crawl(db_url(args), archive=archive_option(args), sites=to_discover, overrides=overrides, discover_only=True)
        status = report(result, line=f"run {result.run_id} {result.status}: discovered {len(to_discover)} site(s) "
                                     f"before queueing their pages", what="discovery")
        if result.status == "interrupted":
            return status  # stopped by a signal: nothing queued
    db = open_db(args)
    try:
        added, total = enqueue_sites(queue, db, args.sites)
    finally:
        db.dispose()
    already = total - added
    print(f"queued {added} page(s) for the workers" + (f" ({already} already queued)" if already else ""))
    return status


def cmd_worker(args: argparse.Namespace) -> int:
    from crawler.distributed.worker import Worker

    overrides = setting_overrides(args)
    if args.workers is not None:
        overrides["POLICYTRACK_NORMALIZER_WORKERS"] = args.workers
    overrides.setdefault("LOG_LEVEL", args.log_level or "WARNING")
    worker = Worker(redis_url(args), db_url(args), archive=archive_option(args), overrides=overrides,
                    pages_at_once=args.pages, pages_per_run=args.pages_per_run,
                    visibility_seconds=args.visibility_timeout,
                    max_attempts=args.max_attempts)
    return worker.run()


def cmd_queue(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    status = _queue(args).status()
    if args.format == "json":
        json.dump({"pending": status.pending, "in_flight": status.in_flight,
                   "failed": [asdict(f) for f in status.failed], "workers": status.workers}, sys.stdout, indent=2)
        print()
        return EXIT_OK
    print(f"pending: {status.pending}")
    print(f"in flight: {status.in_flight}")
    print(f"failed: {len(status.failed)}")
    for page in status.failed:
        ran = f"run {page.run_id} by {page.worker}" if page.run_id else f"by {page.worker}" if page.worker else "-"
        print(f"  page {page.page_id}\t{page.site}\t{page.url}\t{page.attempts} attempt(s)\t{ran}\t{page.error}")
    print(f"workers alive: {len(status.workers)}")
    now = time.time()
    for name, info in sorted(status.workers.items()):
        crawling = ", ".join(f"{page['site']} (page {page['page_id']}, run {page['run_id']})"
                             if page.get("run_id") else f"{page['site']} (page {page['page_id']})"
                             for page in info.get("crawling", []))
        print(f"  {name}\tcrawling {info.get('pages', 0)} page(s)\tdone {info.get('done', 0)}"
              f"\tfailed {info.get('failed', 0)}\tlast seen {now - info.get('at', now):.0f} s ago"
              + (f"\tnow: {crawling}" if crawling else ""))
    return EXIT_OK if not status.failed else EXIT_ERROR


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("worker", cmd_worker, "crawl pages from the shared Redis queue into the database until stopped")
    redis_option(p)
    p.add_argument("--archive", help="https://web.archive.org (default) or pywb:http://HOST:PORT/COLLECTION")
    p.add_argument("--pages", type=_positive, default=1,
                   help="pages this worker holds and crawls at once, in one Scrapy crawl (default 1)")
    p.add_argument("--pages-per-run", type=_positive, metavar="N",
                   help="pages one run (one Scrapy crawl, one `runs` row) takes from the queue at most (default 100)")
    p.add_argument("--workers", type=int, help="normalizer worker processes per page (default: one per core)")
    p.add_argument("--visibility-timeout", type=float, metavar="SECONDS",
                   help="a page held this long by a worker that stopped beating is redelivered (default 300)")
    p.add_argument("--max-attempts", type=_positive, help="failures before a page goes to the failed set (default 3)")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy/policytrack setting (repeatable), as scrapy's -s")
    p.add_argument("--log-level", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                   help="log level on stderr (default WARNING)")
    p = command("queue", cmd_queue, "show the shared queue: pending, in-flight and failed pages, workers alive")
    redis_option(p)
    p.add_argument("--json", action="store_const", const="json", dest="format", default="text",
                   help="print it as JSON")


def redis_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", metavar="URL", help=f"the shared Redis (default: ${REDIS_ENV})")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: a whole number, at least 1")
    return int(text)
