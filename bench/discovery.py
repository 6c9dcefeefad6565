"""Discovery on real pages nobody here wrote: precision and recall of the privacy-link choice and of the
policy check, against the corpus's own English rule, in one run; and what discovery costs in archive requests.

Link discovery is measured on the 495 saved pages in ``../shared/realpages/`` with the hand labels in
``tests/data/privacy_links.tsv``; how a page counts is in ``crawler/discovery/evaluation.py``.

The policy check is measured on the held-out part of its training data (``policycheck.split``): corpus
privacy policies against real pages that are not policies; and, honestly held out, retrained 5-fold by
site (``crawler.discovery.train.cross_validate``). The link scorer is hand-set, not fitted: the bench says
so, names what was set while looking at which pages, and gives the one tunable number (the threshold)
chosen 5-fold by site.

The cost is measured on a synthetic 20-year archive (``policytrack/synthetic_history.py``: 240 monthly
homepage captures, each a distinct payload) served by pywb on loopback, for 0 to 3 moves of the privacy
link: the real ``policytrack add SITE`` + ``policytrack discover`` in a subprocess, and the requests it
reports (``tests/test_discovery_crawl.py`` checks that these are the requests the archive receives).

    .venv/bin/python bench/discovery.py [--shared ../shared] [--misses] [--explain FILE] [--cost-only]
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.discovery import discover, format_explanation  # noqa: E402
from crawler.discovery.evaluation import (  # noqa: E402
    cross_validate_threshold, evaluate_links, page_urls, read_labels, site_key,
)
from crawler.discovery.score import THRESHOLD  # noqa: E402

LABELS = REPO / "tests" / "data" / "privacy_links.tsv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--misses", action="store_true", help="list every page where our choice is wrong")
    parser.add_argument("--explain", metavar="FILE", help="print the explanation for one page of realpages and stop")
    parser.add_argument("--cost-only", action="store_true", help="only the archive requests per site")
    args = parser.parse_args()
    if args.cost_only:
        return cost()
    realpages = args.shared / "realpages"
    if not (realpages / "index.tsv").exists():
        print(f"skipped: {realpages} is absent (the real pages are shared test data, not part of the repo)")
        return cost()
    if args.explain:
        data = (realpages / "pages" / args.explain).read_bytes()
        print(format_explanation(discover(data, page_urls(realpages).get(args.explain, "")), limit=8))
        return 0
    labels = read_labels(LABELS)
    counts = defaultdict(int)
    for label in labels:
        counts[label["label"]] += 1
    print(f"labels: {len(labels)} pages — {counts['policy']} with a privacy link, {counts['none']} without, "
          f"{counts['ambiguous']} ambiguous (excluded)")

    started = time.perf_counter()
    tallies = evaluate_links(realpages, labels)
    elapsed = time.perf_counter() - started
    outcomes = tallies.pop("outcomes")
    print("\nlink discovery (target: precision >= 0.95, recall >= 0.90)")
    print(f"  ours       {tallies['ours']['all'].line()}")
    print(f"  baseline   {tallies['baseline']['all'].line()}   (corpus rule, English keywords)")
    groups = sorted(
        (group for group in tallies["ours"] if group != "all"),
        key=lambda group: (not group.endswith("pages"), -tallies["ours"][group].pages, group),
    )
    print("\n  by source and declared page language (und = none declared)")
    for group in groups:
        ours, theirs = tallies["ours"][group], tallies["baseline"][group]
        print(f"  {group:<20} pages {ours.pages:>3}  ours P {ours.precision:.2f} R {ours.recall:.2f}   "
              f"baseline P {theirs.precision:.2f} R {theirs.recall:.2f}")
    print(f"\n  time: {elapsed:.1f} s for both rules over {tallies['ours']['all'].pages} pages")
    if args.misses:
        print("\n  our errors")
        for file, (outcome, predicted) in sorted(outcomes.items()):
            if outcome in ("fp", "fn", "wrong"):
                print(f"    {outcome:<5} {file}  chose {predicted}")
    print(HAND_SET)
    held_out, thresholds = cross_validate_threshold(realpages, labels)
    print(f"  threshold chosen 5-fold by site (best F1 on the other folds: {', '.join(f'{t:g}' for t in thresholds)};"
          f" shipped {THRESHOLD:g}):\n  held out   {held_out.line()}")

    print("\npolicy check (held-out split; corpus policies vs real non-policy pages)")
    from crawler.discovery import policycheck  # imported here: the link figures do not need numpy

    corpus = args.shared / "corpus" / "pllcpp"
    if not (corpus / "index.tsv").exists():
        print(f"  skipped: {corpus} is absent")
        return 0
    from crawler.discovery.train import cross_validate

    examples = policycheck.load_examples(corpus, realpages)
    result = policycheck.evaluate(policycheck.split(examples)[1])
    print(f"  shipped model, held-out split by example name (a site's other snapshots may be in training):\n"
          f"  precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
          f"(held out: {result['positives']} policies, {result['negatives']} non-policies; "
          f"tp {result['tp']}, fp {result['fp']}, fn {result['fn']})")
    urls = page_urls(realpages)
    folds = cross_validate(examples, lambda e: e.name.split("__")[0] if e.source == "corpus"
                           else site_key(e.name, urls.get(e.name, "")))
    print(f"  retrained 5-fold by site (each site's pages held out together; {folds['sites']} sites; "
          f"hand-written negatives always train):\n"
          f"  precision {folds['precision']:.3f}  recall {folds['recall']:.3f}  "
          f"({folds['positives']} policies, {folds['negatives']} non-policies; "
          f"tp {folds['tp']}, fp {folds['fp']}, fn {folds['fn']})")
    print("  hand-set while looking at these pages: the features and their definitions (policycheck.FEATURES),\n"
          "  and which real pages are not negatives (NOT_NEGATIVE: one real privacy page). The weights are fitted.")
    return cost()


# What was set by hand, and while looking at which pages: the link figures above are in-sample for these.
HAND_SET = """
  how to read the link figures: nothing in link discovery is fitted. Every weight in score.WEIGHTS, the
  threshold, the link extraction (extract.py) and the vocabulary of 20 languages (keywords.py) were written
  by hand, then revised while reading our errors on ALL of the labelled pages above (the labels, commit
  722bdc3; the scorer, 42db345; revisions after auditing misses, e822f7e and e393726). No labelled page was
  kept unseen, so the figures above are in-sample for those choices and likely optimistic on new pages.
  Only the threshold can be re-chosen without a person in the loop; held out by site it gives:"""


_SPENT = re.compile(r"(\d+) period\(s\) from (\d+) homepage capture\(s\); (\d+) CDX request\(s\), "
                    r"(\d+) homepage fetch\(es\), (\d+) policy fetch\(es\)")


def cost() -> int:
    """Archive requests per site for a 20-year history whose privacy link moves 0-3 times."""
    from policytrack.localarchive import LocalArchive
    from policytrack.synthetic_history import HOST, synthetic_site

    print("\ncost per site, 20-year synthetic archive (target: <= 2 CDX, <= (moves+1)*ceil(log2 captures)+2 "
          "homepage fetches)")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp, LocalArchive(Path(tmp) / "archive") as archive:
        for moves in range(4):
            site = synthetic_site(moves)
            spec = archive.add_collection(f"moves{moves}", site.captures)
            db = str(Path(tmp) / f"moves{moves}.db")
            _cli("add", HOST, "--db", db)
            out = _cli("discover", "--archive", spec, "--db", db)
            match = _SPENT.search(out)
            if match is None:
                print(f"  moves {moves}: discover did not report its requests:\n{out}")
                failed += 1
                continue
            periods, captures, cdx, homepages, policies = map(int, match.groups())
            budget = (moves + 1) * math.ceil(math.log2(captures)) + 2
            ok = cdx <= 2 and homepages <= budget and periods == moves + 1
            failed += not ok
            print(f"  moves {moves}: periods {periods}/{moves + 1}  CDX {cdx}  homepage fetches {homepages} "
                  f"(budget {budget}; {homepages / captures:.2f} of {captures} captures; one per half-year would "
                  f"be 40)  policy fetches {policies}  {'ok' if ok else 'OVER TARGET'}")
    return 1 if failed else 0


def _cli(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "policytrack.cli", *args], capture_output=True, text=True, cwd=REPO)
    return proc.stdout + proc.stderr


if __name__ == "__main__":
    sys.exit(main())
