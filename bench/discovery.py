"""Discovery on real pages nobody here wrote: precision and recall of the privacy-link choice and of the
policy check, against the corpus's own English rule, in one run.

Link discovery is measured on the 495 saved pages in ``../shared/realpages/`` with the hand labels in
``tests/data/privacy_links.tsv``. A page counts once: a correct choice is a true positive; a wrong link, or
any link on a page labelled ``none``, is a false positive (a wrong link is also a miss); no link on a page
that has one is a miss. Pages labelled ``ambiguous`` (the label says why) are left out. A choice is
correct when it names one of the labelled URLs, compared by ``link_key`` (no scheme, ``www.``, fragment or
trailing slash).

The policy check is measured on the held-out part of its training data (``policycheck.split``): corpus
privacy policies against real pages that are not policies.

    .venv/bin/python bench/discovery.py [--shared ../shared] [--misses]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.discovery import baseline_link, choose, extract_links, link_key  # noqa: E402

LABELS = REPO / "tests" / "data" / "privacy_links.tsv"


def read_labels(path: Path = LABELS) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def page_urls(realpages: Path) -> dict[str, str]:
    with (realpages / "index.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row["url"] for row in csv.DictReader(handle, delimiter="\t")}


class Tally:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.pages = self.positives = 0

    def add(self, label: dict[str, str], predicted: str | None) -> str:
        """Count one page; returns its outcome (``tp``, ``fp``, ``fn``, ``wrong``, ``tn``)."""
        self.pages += 1
        expected = {link_key(url) for url in label["urls"].split()}
        if label["label"] == "policy":
            self.positives += 1
        if predicted is None:
            if label["label"] == "policy":
                self.fn += 1
                return "fn"
            return "tn"
        if label["label"] == "policy" and link_key(predicted) in expected:
            self.tp += 1
            return "tp"
        self.fp += 1
        if label["label"] == "policy":
            self.fn += 1
            return "wrong"
        return "fp"

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else 1.0

    def line(self) -> str:
        return (f"precision {self.precision:.3f}  recall {self.recall:.3f}  "
                f"(pages {self.pages}, with a policy link {self.positives}, tp {self.tp}, fp {self.fp}, fn {self.fn})")


def evaluate_links(realpages: Path, labels: list[dict[str, str]]) -> dict[str, dict[str, Tally]]:
    """Tallies of ours and the baseline's choices, overall and per language and source; also per-page outcomes."""
    urls = page_urls(realpages)
    tallies: dict[str, dict[str, Tally]] = {"ours": defaultdict(Tally), "baseline": defaultdict(Tally)}
    outcomes: dict[str, tuple[str, str | None]] = {}
    for label in labels:
        if label["label"] == "ambiguous":
            continue
        data = (realpages / "pages" / label["file"]).read_bytes()
        page = extract_links(data, urls.get(label["file"], ""))
        ours = choose(page).url
        theirs = baseline_link(page)
        source = "trafilatura pages" if label["file"].startswith("t-") else "readability pages"
        for name, predicted in (("ours", ours), ("baseline", theirs)):
            for group in ("all", f"lang {label['lang']}", source):
                outcome = tallies[name][group].add(label, predicted)
            if name == "ours":
                outcomes[label["file"]] = (outcome, predicted)
    tallies["outcomes"] = outcomes  # type: ignore[assignment]
    return tallies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--misses", action="store_true", help="list every page where our choice is wrong")
    args = parser.parse_args()
    realpages = args.shared / "realpages"
    if not (realpages / "index.tsv").exists():
        print(f"skipped: {realpages} is absent (the real pages are shared test data, not part of the repo)")
        return 0
    labels = read_labels()
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
