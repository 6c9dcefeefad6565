"""Discovery on 495 real saved pages (../shared/realpages) against the hand labels in
tests/data/privacy_links.tsv; skipped, with the reason, when the shared pages are absent.

The floors sit a little under what bench/discovery.py measures (precision 0.988, recall 0.991; the corpus
rule: precision 0.948, recall 0.321), so a change that loses a few pages fails here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crawler.discovery import link_key
from crawler.discovery.evaluation import evaluate_links, read_labels

REPO = Path(__file__).resolve().parent.parent
REALPAGES = REPO.parent / "shared" / "realpages"
LABELS = REPO / "tests" / "data" / "privacy_links.tsv"


def test_labels_are_well_formed():
    labels = read_labels(LABELS)
    assert len({row["file"] for row in labels}) == len(labels)
    for row in labels:
        assert row["label"] in {"policy", "none", "ambiguous"}, row
        assert bool(row["urls"]) == (row["label"] == "policy"), row
        assert bool(row["href"]) == (row["label"] == "policy"), row
        if row["label"] == "ambiguous":
            assert row["note"], f"{row['file']}: an ambiguous label says why"


@pytest.fixture(scope="module")
def tallies():
    if not (REALPAGES / "index.tsv").is_file():
        pytest.skip(f"real pages absent: {REALPAGES} (shared test data, not part of the repository)")
    return evaluate_links(REALPAGES, read_labels(LABELS))


def test_every_real_page_has_a_label():
    if not (REALPAGES / "index.tsv").is_file():
        pytest.skip(f"real pages absent: {REALPAGES} (shared test data, not part of the repository)")
    with (REALPAGES / "index.tsv").open(encoding="utf-8", newline="") as handle:
        files = {row["file"] for row in csv.DictReader(handle, delimiter="\t")}
    assert {row["file"] for row in read_labels(LABELS)} == files


def test_discovery_meets_its_targets_on_real_pages(tallies):
    ours = tallies["ours"]["all"]
    assert ours.positives >= 300
    assert ours.precision >= 0.97, ours.line()
    assert ours.recall >= 0.97, ours.line()


def test_discovery_beats_the_corpus_rule(tallies):
    ours, theirs = tallies["ours"]["all"], tallies["baseline"]["all"]
    assert ours.recall > theirs.recall + 0.5, (ours.line(), theirs.line())
    assert ours.precision > theirs.precision, (ours.line(), theirs.line())
    german = tallies["ours"]["lang de"]
    assert german.recall >= 0.95 and tallies["baseline"]["lang de"].recall == 0.0


def test_matching_ignores_scheme_www_fragment_and_trailing_slash():
    assert link_key("http://www.Example.com/privacy/#top") == link_key("https://example.com/privacy")
    assert link_key("https://example.com/privacy?x=1") != link_key("https://example.com/privacy")


def test_the_threshold_held_out_by_site_keeps_the_targets():
    """bench/discovery.py's honest link figure: the threshold chosen on the other sites' pages, 5 folds."""
    from crawler.discovery.evaluation import cross_validate_threshold

    if not (REALPAGES / "index.tsv").is_file():
        pytest.skip(f"real pages absent: {REALPAGES} (shared test data, not part of the repository)")
    labels = read_labels(LABELS)
    held_out, thresholds = cross_validate_threshold(REALPAGES, labels)
    assert held_out.pages == sum(label["label"] != "ambiguous" for label in labels)  # each page held out once
    assert len(thresholds) == 5
    assert held_out.precision >= 0.95 and held_out.recall >= 0.95, held_out.line()
