"""Discovery measured against hand labels: which link each labelled page's privacy policy is, or none.

Shared by ``bench/discovery.py`` (the figures) and the tests (a floor under them). Labels are the TSV
``tests/data/privacy_links.tsv``: ``file``, ``label`` (``policy``, ``none`` or ``ambiguous``), ``href`` (the
link as written), ``urls`` (every URL that counts as correct, space-separated), ``lang`` (the page's
declared language, ``und`` when none), ``note`` (why a page is ambiguous).

A page counts once: a correct choice is a true positive; a wrong link, or any link on a page labelled
``none``, is a false positive (a wrong link is also a miss); no link on a page that has one is a miss.
``ambiguous`` pages are left out. A choice is correct when its ``link_key`` (no scheme, ``www.``, fragment
or trailing slash) is one of the labelled URLs'.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from crawler.discovery.baseline import baseline_link
from crawler.discovery.extract import extract_links, link_key
from crawler.discovery.score import THRESHOLD, choose, rank


def read_labels(path: Path) -> list[dict[str, str]]:
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


def evaluate_links(realpages: Path, labels: list[dict[str, str]]) -> dict[str, dict]:
    """Tallies of ours (``"ours"``) and the baseline's (``"baseline"``) choices, overall (``"all"``), per declared
    language and per source; ``"outcomes"`` maps each page to our outcome and choice."""
    urls = page_urls(realpages)
    tallies: dict[str, dict] = {"ours": defaultdict(Tally), "baseline": defaultdict(Tally)}
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
    tallies["outcomes"] = outcomes
    return tallies


def site_key(file: str, url: str) -> str:
    """The site a labelled page belongs to (its host without ``www.``; the file name when its URL is unknown):
    pages of one site are held out together."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or file


def cross_validate_threshold(realpages: Path, labels: list[dict[str, str]], folds: int = 5) -> tuple[Tally, list[float]]:
    """Link discovery with its one tunable number, :data:`THRESHOLD`, chosen k-fold by site: for each fold the
    threshold with the best F1 on the other folds' pages (the nearest to the shipped one among equals) is
    applied to the fold's pages; the tallies of all folds are pooled. Returns the tally and the chosen
    thresholds. The weights and vocabulary stay as shipped (they are hand-set, not fitted: see the bench)."""
    urls = page_urls(realpages)
    scored = []   # (label, fold, best URL, best score)
    for label in labels:
        if label["label"] == "ambiguous":
            continue
        page = extract_links((realpages / "pages" / label["file"]).read_bytes(), urls.get(label["file"], ""))
        candidates = rank(page)
        best = candidates[0] if candidates else None
        site = site_key(label["file"], urls.get(label["file"], ""))
        fold = int(hashlib.sha256(site.encode()).hexdigest()[:8], 16) % folds
        scored.append((label, fold, best.url if best else None, best.score if best else float("-inf")))
    grid = [t / 2 for t in range(0, 21)]

    def tally(rows, threshold: float) -> Tally:
        result = Tally()
        for label, _, url, score in rows:
            result.add(label, url if score >= threshold else None)
        return result

    def f1(t: Tally) -> float:
        return 2 * t.precision * t.recall / (t.precision + t.recall) if t.precision + t.recall else 0.0

    pooled, chosen = Tally(), []
    for fold in range(folds):
        train = [row for row in scored if row[1] != fold]
        threshold = max(grid, key=lambda t: (round(f1(tally(train, t)), 6), -abs(t - THRESHOLD)))
        chosen.append(threshold)
        for label, _, url, score in (row for row in scored if row[1] == fold):
            pooled.add(label, url if score >= threshold else None)
    return pooled, chosen
