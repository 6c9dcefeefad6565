"""Bisection planning, driven by a simulated page history (pure logic, no I/O)."""

from __future__ import annotations

import math
import random

import pytest

from crawler.bisect import NO_TEXT, Bisection


def run(history: list[str], known: dict[str, str] | None = None, digests=None) -> tuple[Bisection, list[str]]:
    """Bisect ``history`` (content per capture) and return the planner and the fetched timestamps."""
    stamps = [f"{2000 + i:04d}0101000000" for i in range(len(history))]
    truth = dict(zip(stamps, history))
    planner = Bisection(stamps, digests=digests or {}, known=known or {})
    fetched: list[str] = []
    while True:
        batch = planner.next_batch()
        if not batch:
            assert planner.done
            return planner, fetched
        for ts in batch:
            fetched.append(ts)
            planner.record(ts, truth[ts])


def versions(planner: Bisection) -> list[tuple[str, str]]:
    merged = {**planner.inferred, **planner.content}
    runs: list[tuple[str, str]] = []
    for ts in planner.timestamps:
        c = merged.get(ts)
        if c is None or c == NO_TEXT:
            continue
        if not runs or runs[-1][1] != c:
            runs.append((ts, c))
    return runs


@pytest.mark.parametrize("n,changes", [(2, 1), (10, 0), (100, 1), (300, 3), (1000, 7)])
def test_every_change_pinned_within_the_fetch_bound(n, changes):
    rng = random.Random(n * 31 + changes)
    points = sorted(rng.sample(range(1, n), changes))
    history, label = [], 0
    for i in range(n):
        if label < len(points) and i == points[label]:
            label += 1
        history.append(f"text-{label}")
    planner, fetched = run(history)
    assert len(versions(planner)) == changes + 1
    # each change is pinned: both captures adjacent to it were fetched
    stamps = planner.timestamps
    for p in points:
        assert stamps[p - 1] in fetched and stamps[p] in fetched
    assert len(fetched) <= (changes + 1) * math.ceil(math.log2(n)) if n > 1 else len(fetched) == 1
    assert len(fetched) == len(set(fetched))


def test_revert_between_equal_ends_is_missed_as_documented():
    planner, fetched = run(["A", "A", "B", "A", "A"])
    assert len(fetched) == 2 and versions(planner) == [("20000101000000", "A")]


def test_known_results_are_not_refetched_and_new_tail_is_bisected():
    history = ["A"] * 8 + ["B"] * 8
    known = {"20000101000000": "A", "20070101000000": "A"}
    planner, fetched = run(history, known=known)
    assert "20000101000000" not in fetched and "20070101000000" not in fetched
    assert [c for _, c in versions(planner)] == ["A", "B"]


def test_same_digest_shares_result():
    stamps = [f"{2000 + i:04d}0101000000" for i in range(4)]
    digests = {stamps[0]: "D1", stamps[1]: "D1", stamps[2]: "D2", stamps[3]: "D3"}
    planner, fetched = run(["A", "A", "B", "B"], digests=digests)
    assert sorted(fetched) == [stamps[0], stamps[2], stamps[3]]      # stamps[1] shares stamps[0]'s payload
    assert [c for _, c in versions(planner)] == ["A", "B"]
    assert planner.content[stamps[1]] == "A"


def test_failures_are_not_inferred_and_no_text_is_transparent():
    stamps = [f"{2000 + i:04d}0101000000" for i in range(5)]
    planner = Bisection(stamps)
    assert planner.next_batch() == [stamps[0], stamps[4]]
    planner.record(stamps[0], "A")
    planner.record(stamps[4], NO_TEXT)       # e.g. an empty capture
    batch = planner.next_batch()
    assert batch == [stamps[3]]
    planner.record(stamps[3], None)          # failed this run
    assert planner.next_batch() == [stamps[2]]
    planner.record(stamps[2], "A")
    assert planner.next_batch() == []
    assert planner.inferred == {stamps[1]: "A"} and stamps[3] in planner.failed and planner.done


def test_one_fetch_per_payload_within_a_batch():
    stamps = [f"{2000 + i:04d}0101000000" for i in range(3)]
    digests = {stamps[0]: "D1", stamps[1]: "D2", stamps[2]: "D1"}
    planner, fetched = run(["A", "B", "A"], digests=digests)
    assert fetched == [stamps[0]]               # the last capture is the same payload as the first
    assert planner.inferred == {stamps[1]: "A"}
