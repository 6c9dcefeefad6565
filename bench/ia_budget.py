#!/usr/bin/env python3
"""How long do a 20-year backfill and a daily refresh take under the Internet Archive's limits?

    .venv/bin/python bench/ia_budget.py [--pages 24] [--captures 240] [--changes 6] [--scale 5]

The limits are per client IP: 24 CDX requests a minute (the archive allows ~30) and 8 capture fetches a
second. What a page costs is measured, not assumed, from real crawls (the real CLI, bisection mode) of a
synthetic archive served by pywb behind a proxy that counts every request:

1. **backfill** of ``--pages`` pages, each with ``--captures`` captures over 20 years and ``--changes``
   text changes: CDX requests and capture fetches per page;
2. **refresh, nothing new**: the same pages crawled again (what a daily refresh costs for a page that
   did not change: one CDX request, no fetch);
3. **refresh, one new capture a page** (same text; a new collection holding one more capture per page).

The proxy also counts the rows of every CDX answer: a refresh lists only from the page's watermark (CDX
``from=``, ``storage.watermark``), so it returns 1 row (nothing new) or 2 (one new capture) instead of
the page's whole history, and the bench checks that every refresh query carried ``from=``. pywb answers
any listing in one request; the Internet Archive pages it by 5,000 rows
(``crawler.archive.IA_CDX_PAGE_SIZE``), so the model counts ``ceil(rows / 5000)`` CDX requests per
listing: ``ceil(captures / 5000)`` for a backfill, ``ceil(new rows / 5000)`` = 1 for a refresh, however
long the page's history. The model: the two limits are separate pools consumed at once, so a crawl of N
pages takes ``max(N * cdx_per_page / (24/min), N * fetches_per_page / (8/s))``. It prints the wall time
of a 20-year backfill of 10,000 sites and of a daily refresh of 10,000 and of 30,000 sites
(``--new-share`` of the pages with a new capture that day), against the physical limit of 24 * 1440 =
34,560 CDX requests a day.

Then the model is **checked by a time-scaled run**: the limits multiplied by ``--scale`` are enforced by
the proxy (a request over them is answered 429, as the archive does) and given to the crawler as its
rates; the backfill and the refresh of ``--pages`` pages are crawled again and their run durations
compared with what the model predicts at that scale (``measured/predicted``; ~1 means the crawler uses
the whole budget and no more). The proxy's 429 count must be 0: the crawler never exceeds the limits.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from crawler.archive import IA_CDX_PAGE_SIZE  # noqa: E402
from fetch_efficiency import policy_html  # noqa: E402
from policytrack.localarchive import LocalArchive, WarcCapture  # noqa: E402
from scale import add_sites, build_archive  # noqa: E402
from tests.faultproxy import FaultProxy, RateLimitingProxy  # noqa: E402

CDX_PER_MINUTE = 24
CAPTURES_PER_SECOND = 8
YEARS = 20
CHECK_WINDOW = 5.0  # seconds: the proxy counts each kind's requests in any window this long


@dataclass
class Cost:
    cdx: float       # CDX requests per page
    fetches: float   # capture fetches per page
    seconds: float   # the run's duration
    rows: int = 0    # the most rows one CDX answer carried: what the Internet Archive would page
    from_watermark: bool = False  # every CDX query listed only from the page's watermark (from=)

    @property
    def ia_cdx(self) -> float:
        """CDX requests per page at the Internet Archive, which answers 5,000 rows per request."""
        return self.cdx * max(1, math.ceil(self.rows / IA_CDX_PAGE_SIZE))


def crawl(db: str, spec: str, rates: tuple[float, float]) -> float:
    """Crawl every tracked site of ``db`` from ``spec`` at (CDX/min, captures/s); the run's seconds."""
    argv = [sys.executable, "-m", "policytrack.cli", "crawl", "--archive", spec, "--db", db, "--workers", "1",
            "-s", f"POLICYTRACK_CDX_RATE_PER_MINUTE={round(rates[0])}",
            "-s", f"POLICYTRACK_CAPTURE_RATE_PER_SECOND={round(rates[1])}",
            "-s", "POLICYTRACK_RETRY_AFTER_DEFAULT=1"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"crawl failed ({done.returncode}): {done.stderr.strip()[-1500:]}")
    runs = json.loads(subprocess.run([sys.executable, "-m", "policytrack.cli", "runs", "--json", "--limit", "1",
                                      "--db", db], cwd=REPO, capture_output=True, text=True).stdout)
    return float(runs[0]["duration_seconds"])


def measured(proxy: FaultProxy, pages: int, seconds: float) -> Cost:
    queries = proxy.cdx_queries()
    cost = Cost(proxy.count("cdx") / pages, proxy.count("capture") / pages, seconds, max(proxy.cdx_rows(), default=0),
                bool(queries) and all("from" in query for query in queries))
    proxy.hits.clear()
    return cost


def one_more_capture(sites: list[tuple[str, str]], changes: int) -> list[WarcCapture]:
    """A new capture of every page, after its last one, with the same text."""
    stamp = "20220102000000"  # build_archive ends its captures before 2022
    return [WarcCapture(url, stamp, policy_html(site, changes, stamp))
            for site, url in sites]


def wall_seconds(pages: int, cdx_per_page: float, fetches_per_page: float, scale: float = 1.0) -> float:
    """The model: both pools drain at once; the slower one sets the time."""
    return max(pages * cdx_per_page / (CDX_PER_MINUTE * scale / 60), pages * fetches_per_page / (CAPTURES_PER_SECOND * scale))


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h ({seconds / 86400:.2f} days)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=24, help="pages crawled to measure and to check (default 24)")
    parser.add_argument("--captures", type=int, default=240, help="captures per page over 20 years (default 240)")
    parser.add_argument("--changes", type=int, default=6, help="text changes per page over 20 years (default 6)")
    parser.add_argument("--scale", type=float, default=5.0, help="time scale of the check run (limits x this)")
    parser.add_argument("--new-share", type=float, default=0.05,
                        help="share of pages with a new capture on a given day, for the refresh model (default 0.05)")
    args = parser.parse_args()
    lifted = (60000.0, 2000.0)
    ok = True
    with tempfile.TemporaryDirectory() as tmp, LocalArchive(Path(tmp) / "archive") as archive:
        sites, records = build_archive(args.pages, args.captures, args.changes, years=YEARS)
        collection = archive.add_collection("backfill", records).rsplit("/", 1)[1]
        newer = archive.add_collection("refresh", records + one_more_capture(sites, args.changes)).rsplit("/", 1)[1]

        # 1-3: per-page costs, limits lifted.
        with FaultProxy(archive.url) as proxy:
            spec = lambda name: f"pywb:{proxy.url}/{name}"  # noqa: E731
            db = f"sqlite:///{tmp}/measure.db"
            add_sites(db, sites)
            backfill = measured(proxy, args.pages, crawl(db, spec(collection), lifted))
            unchanged = measured(proxy, args.pages, crawl(db, spec(collection), lifted))
            new_capture = measured(proxy, args.pages, crawl(db, spec(newer), lifted))
        print(f"per page, measured ({args.pages} pages, {args.captures} captures and {args.changes} changes each over "
              f"{YEARS} years; rows: the most one CDX answer carried):")
        for label, cost in (("backfill", backfill), ("refresh, nothing new", unchanged),
                            ("refresh, one new capture", new_capture)):
            listing = "from=watermark" if cost.from_watermark else "whole history"
            print(f"  {label + ':':<26}{cost.cdx:.2f} CDX requests ({listing}, {cost.rows} row(s): "
                  f"{cost.ia_cdx:.2f} at the Internet Archive's {IA_CDX_PAGE_SIZE} rows a request), "
                  f"{cost.fetches:.2f} capture fetches")
        ok &= (unchanged.cdx, unchanged.fetches, unchanged.rows) == (1.0, 0.0, 1)
        ok &= (new_capture.cdx, new_capture.rows) == (1.0, 2)
        ok &= unchanged.from_watermark and new_capture.from_watermark and not backfill.from_watermark
        ok &= backfill.rows == args.captures
        long_history = 100_000
        print(f"  a page with {long_history:,} captures at the Internet Archive: backfill "
              f"{math.ceil(long_history / IA_CDX_PAGE_SIZE)} CDX requests, refresh "
              f"{math.ceil(new_capture.rows / IA_CDX_PAGE_SIZE)} (the refresh's rows do not grow with the history)")

        # The model at the archive's limits.
        backfill_cdx = backfill.ia_cdx
        refresh_cdx = max(unchanged.ia_cdx, new_capture.ia_cdx)
        refresh_fetches = args.new_share * new_capture.fetches
        per_day = CDX_PER_MINUTE * 60 * 24
        print(f"model at {CDX_PER_MINUTE} CDX/min and {CAPTURES_PER_SECOND} captures/s per IP "
              f"({per_day} CDX requests a day at most):")
        print(f"  backfill of 10,000 sites ({YEARS} years):   "
              f"{hours(wall_seconds(10_000, backfill_cdx, backfill.fetches))}"
              f" -- CDX {hours(10_000 * backfill_cdx / (CDX_PER_MINUTE / 60))}, "
              f"captures {hours(10_000 * backfill.fetches / CAPTURES_PER_SECOND)}")
        for sites_count in (10_000, 30_000):
            seconds = wall_seconds(sites_count, refresh_cdx, refresh_fetches)
            print(f"  daily refresh of {sites_count:,} sites:         {hours(seconds)} "
                  f"({sites_count * refresh_cdx / per_day:.0%} of a day's CDX budget; {args.new_share:.0%} of pages "
                  f"with a new capture)" + ("" if seconds <= 86400 else " -- DOES NOT FIT IN A DAY"))
        print(f"  most sites a daily refresh can cover: {per_day / refresh_cdx:,.0f} "
              f"({refresh_cdx:g} CDX request each, whatever the length of their history)")

        # The check: the same crawls, time-scaled, through a proxy enforcing the scaled limits.
        scaled = (CDX_PER_MINUTE * args.scale, CAPTURES_PER_SECOND * args.scale)
        # Counted over a window of a few seconds, plus one request for the wire's jitter (a request granted
        # on time may arrive a few ms late, next to the following one).
        limits = {"cdx": (math.floor(scaled[0] / 60 * CHECK_WINDOW) + 1, CHECK_WINDOW),
                  "capture": (math.floor(scaled[1] * CHECK_WINDOW) + 1, CHECK_WINDOW)}
        print(f"check at {args.scale:g}x the limits ({scaled[0]:g} CDX/min, {scaled[1]:g} captures/s, enforced by the proxy):")
        with RateLimitingProxy(archive.url, limits) as proxy:
            spec = lambda name: f"pywb:{proxy.url}/{name}"  # noqa: E731
            db = f"sqlite:///{tmp}/check.db"
            add_sites(db, sites)
            for label, name, cost in (("backfill", collection, backfill), ("refresh, nothing new", collection, unchanged)):
                seconds = crawl(db, spec(name), scaled)
                predicted = wall_seconds(args.pages, cost.cdx, cost.fetches, args.scale)
                print(f"  {label:<22} measured {seconds:6.1f} s, predicted {predicted:6.1f} s, "
                      f"measured/predicted {seconds / predicted:.2f}")
            print(f"  429 answers from the proxy: {proxy.rejected} (the crawler must never exceed the limits)")
            ok &= proxy.rejected == 0
    print(f"result={'ok' if ok else 'WRONG'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
