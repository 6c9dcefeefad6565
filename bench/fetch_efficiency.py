#!/usr/bin/env python3
"""How few captures does a crawl fetch to find every change? Bisection vs exhaustive, on synthetic archives.

    .venv/bin/python bench/fetch_efficiency.py [--seed N]

Builds pages with hundreds of captures and known change points (warcio), serves them with a real pywb on
loopback, and crawls each page twice into fresh SQLite files: once in bisection mode (default) and once
with --exhaustive. Every capture has different bytes (a footer timestamp, as real pages do), so digest
deduplication alone saves nothing. Pages come in three kinds:

* ``forward``: every change leads to a new text (the case bisection is built for: it must pin them all);
* ``revert``: the text changes and later changes back (A -> B -> A, B lasting a few captures);
* ``oscillate``: the text flips between two texts many times.

Bisection cannot see a change whose ends carry the same text when no fetch lands inside it: on revert
and oscillate pages it misses changes, by design (``--exhaustive`` does not). Prints, per page:

    kind, captures, distinct digests, changes known, fetched (bisection / exhaustive), changes found and
    pinned to their adjacent pair (bisection / exhaustive), the bound (changes+1)*ceil(log2(captures)),
    and fetched/versions.

and summary lines ``bisection_fetched=N exhaustive_fetched=M ratio=R all_changes_pinned=yes|no
within_bound=yes|no`` (forward pages: what bisection promises) and ``missed_by_bisection=K of C
saved_fetches=S`` (revert and oscillate pages: changes bisection missed against fetches it saved).
The exit status is non-zero if bisection misses a forward change, exceeds its bound, or exhaustive
mode misses any change.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from policytrack.localarchive import LocalArchive, WarcCapture  # noqa: E402

FAST = ["-s", "POLICYTRACK_CDX_RATE_PER_MINUTE=6000", "-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=500",
        "-s", "LOG_LEVEL=ERROR"]


@dataclass
class SyntheticPage:
    site: str
    url: str
    captures: int
    changes: int
    duplicate_every: int = 0      # every n-th capture repeats the previous bytes exactly (same digest)
    kind: str = "forward"         # forward | revert | oscillate (see the module docstring)


def policy_html(site: str, version: int, stamp: str) -> bytes:
    paragraphs = "".join(
        f"<p>Section {i} of the {site} privacy policy, revision {version}. We describe what personal data we "
        f"collect, why, with whom we share it and how long we keep it; clause {i}.{version}.</p>"
        for i in range(12)
    )
    return (f"<html><head><title>{site} privacy</title></head><body><div id='nav'><a href='/'>Home</a></div>"
            f"<article><h1>Privacy policy</h1>{paragraphs}</article>"
            f"<div id='footer'>Page generated {stamp}</div></body></html>").encode()


def build(page: SyntheticPage, rng: random.Random) -> tuple[list[WarcCapture], list[tuple[str, str]]]:
    """Captures of one page and its known changes as (last timestamp before, first timestamp after)."""
    start = datetime(2004, 1, 1)
    stamps = sorted({(start + timedelta(hours=rng.randrange(0, 20 * 365 * 24))).strftime("%Y%m%d%H%M%S")
                     for _ in range(page.captures * 2)})[: page.captures]
    if page.kind == "revert":  # A -> B -> A, B for a few captures, page.changes // 2 times
        points = []
        for start_at in sorted(rng.sample(range(1, len(stamps) - 8, 10), page.changes // 2)):
            points += [start_at, start_at + rng.randrange(1, 5)]
    else:
        points = sorted(rng.sample(range(1, len(stamps)), page.changes))
    changed = set(points)
    captures, version, previous, text = [], 0, b"", 0
    for i, stamp in enumerate(stamps):
        if version < len(points) and i == points[version]:
            version += 1
        # forward: a new text at each change; revert and oscillate: two texts, flipping at each change.
        text = version if page.kind == "forward" else version % 2
        duplicate = page.duplicate_every and i % page.duplicate_every == 0 and i and (i not in changed)
        body = previous if duplicate else policy_html(page.site, text, stamp)
        captures.append(WarcCapture(page.url, stamp, body))
        previous = body
    return captures, [(stamps[p - 1], stamps[p]) for p in points]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policytrack.cli", *args], capture_output=True, text=True, cwd=REPO)


def crawl(db: str, spec: str, site: str, url: str, exhaustive: bool) -> tuple[int, list[dict]]:
    assert cli("add", site, url, "--db", db).returncode == 0
    args = ["crawl", site, "--archive", spec, "--db", db, *FAST] + (["--exhaustive"] if exhaustive else [])
    result = cli(*args)
    if result.returncode != 0:
        raise SystemExit(f"crawl failed: {result.stderr.strip()}")
    run = json.loads(cli("runs", "--json", "--db", db).stdout)[0]
    versions = json.loads(cli("history", site, "--json", "--db", db).stdout)
    return run["counts"]["captures_fetched"], versions


def pinned(versions: list[dict], changes: list[tuple[str, str]]) -> int:
    brackets = {(a["last_seen"], b["first_seen"]) for a, b in zip(versions, versions[1:])}
    return sum(1 for change in changes if change in brackets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pages = [
        SyntheticPage("steady.example", "https://steady.example/privacy", 200, 0),
        SyntheticPage("rare.example", "https://rare.example/privacy", 300, 2),
        SyntheticPage("busy.example", "https://busy.example/legal/privacy", 500, 8, duplicate_every=7),
        SyntheticPage("churn.example", "https://churn.example/privacy", 400, 20),
        SyntheticPage("revert.example", "https://revert.example/privacy", 300, 6, kind="revert"),
        SyntheticPage("flipflop.example", "https://flipflop.example/privacy", 300, 15, kind="oscillate"),
    ]
    totals = {"bisect": 0, "exhaustive": 0}
    reverting = {"changes": 0, "missed": 0, "saved": 0}
    all_pinned, within_bound, exhaustive_complete = True, True, True
    header = (f"{'site':<16} {'kind':<9} {'captures':>8} {'digests':>8} {'changes':>7} {'fetch_bis':>9} {'fetch_exh':>9} "
              f"{'found_bis':>9} {'found_exh':>9} {'bound':>6} {'fetched/ver':>11}")
    print(header)
    with tempfile.TemporaryDirectory() as tmp, LocalArchive(Path(tmp) / "archive") as archive:
        for page in pages:
            captures, changes = build(page, rng)
            spec = archive.add_collection(page.site.split(".")[0], captures)
            digests = len({c.body for c in captures})
            fetched_b, versions_b = crawl(f"sqlite:///{tmp}/{page.site}-b.db", spec, page.site, page.url, False)
            fetched_e, versions_e = crawl(f"sqlite:///{tmp}/{page.site}-e.db", spec, page.site, page.url, True)
            bound = (len(changes) + 1) * math.ceil(math.log2(len(captures)))
            found_b, found_e = pinned(versions_b, changes), pinned(versions_e, changes)
            exhaustive_complete &= found_e == len(changes) and len(versions_e) == len(changes) + 1
            if page.kind == "forward":
                all_pinned &= found_b == len(changes) and len(versions_b) == len(changes) + 1
                within_bound &= fetched_b <= bound
                totals["bisect"] += fetched_b
                totals["exhaustive"] += fetched_e
            else:
                reverting["changes"] += len(changes)
                reverting["missed"] += len(changes) - found_b
                reverting["saved"] += fetched_e - fetched_b
            print(f"{page.site:<16} {page.kind:<9} {len(captures):>8} {digests:>8} {len(changes):>7} {fetched_b:>9} {fetched_e:>9} "
                  f"{found_b:>6}/{len(changes):<2} {found_e:>6}/{len(changes):<2} {bound:>6} "
                  f"{fetched_b / max(1, len(versions_b)):>11.1f}")
    ratio = totals["bisect"] / max(1, totals["exhaustive"])
    print(f"bisection_fetched={totals['bisect']} exhaustive_fetched={totals['exhaustive']} ratio={ratio:.3f} "
          f"all_changes_pinned={'yes' if all_pinned else 'no'} within_bound={'yes' if within_bound else 'no'}")
    print(f"missed_by_bisection={reverting['missed']} of {reverting['changes']} saved_fetches={reverting['saved']} "
          f"(revert and oscillate pages) exhaustive_found_all={'yes' if exhaustive_complete else 'no'}")
    return 0 if all_pinned and within_bound and exhaustive_complete else 1


if __name__ == "__main__":
    sys.exit(main())
