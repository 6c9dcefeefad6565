"""Discovery on real pages nobody here wrote: precision and recall of the privacy-link choice and of the
policy check, against the corpus's own English rule, in one run.

Link discovery is measured on the 495 saved pages in ``../shared/realpages/`` with the hand labels in
``tests/data/privacy_links.tsv``; how a page counts is in ``crawler/discovery/evaluation.py``.

The policy check is measured on the held-out part of its training data (``policycheck.split``): corpus
privacy policies against real pages that are not policies.

    .venv/bin/python bench/discovery.py [--shared ../shared] [--misses] [--explain FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.discovery import discover, format_explanation  # noqa: E402
from crawler.discovery.evaluation import evaluate_links, page_urls, read_labels  # noqa: E402

LABELS = REPO / "tests" / "data" / "privacy_links.tsv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--misses", action="store_true", help="list every page where our choice is wrong")
    parser.add_argument("--explain", metavar="FILE", help="print the explanation for one page of realpages and stop")
    args = parser.parse_args()
    realpages = args.shared / "realpages"
    if not (realpages / "index.tsv").exists():
        print(f"skipped: {realpages} is absent (the real pages are shared test data, not part of the repo)")
        return 0
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

    print("\npolicy check (held-out split; corpus policies vs real non-policy pages)")
    from crawler.discovery import policycheck  # imported here: the link figures do not need numpy

    corpus = args.shared / "corpus" / "pllcpp"
    if not (corpus / "index.tsv").exists():
        print(f"  skipped: {corpus} is absent")
        return 0
    result = policycheck.evaluate(policycheck.split(policycheck.load_examples(corpus, realpages))[1])
    print(f"  precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
          f"(held out: {result['positives']} policies, {result['negatives']} non-policies; "
          f"tp {result['tp']}, fp {result['fp']}, fn {result['fn']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
