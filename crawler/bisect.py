"""Bisection over a page's captures: fetch as few as possible and still pin every change.

Most consecutive captures of a privacy page carry the same text. Instead of fetching every distinct
payload, fetch the two ends; where two fetched captures normalize to different text, fetch the capture
in the middle of the gap, and repeat until every change sits between two *adjacent* captures. Gaps
whose ends normalize to the same text are assumed unchanged throughout: their captures are *inferred*
to carry that text.

The trade-off (documented for users): a change that reverts between two fetched captures with equal
text (A ... B ... A, with no fetch landing on B) is missed. ``--exhaustive`` fetches every distinct
digest instead.

For c captures and k changes this needs at most about (k + 1) * ceil(log2(c)) fetches. Pure logic: the
spider feeds it results and asks what to fetch next; it never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NO_TEXT = ""   # a processed capture that yields no version (skipped): transparent to bisection


@dataclass
class Bisection:
    """State of the bisection of one page.

    ``timestamps``: candidate captures in time order. ``digests``: their payload digests (captures with
    the same digest share their result). ``known``: results already stored (content hash, or NO_TEXT).
    """

    timestamps: list[str]
    digests: dict[str, str | None] = field(default_factory=dict)
    known: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.timestamps = sorted(set(self.timestamps))
        self.content: dict[str, str] = {}       # timestamp -> content hash or NO_TEXT
        self.failed: set[str] = set()
        self.inferred: dict[str, str] = {}       # timestamp -> content hash, never fetched
        self.in_flight: set[str] = set()
        self._by_digest: dict[str, str] = {}
        for ts, content in self.known.items():
            self.record(ts, content)

    # --- results ---------------------------------------------------------------------------------
    def record(self, timestamp: str, content: str | None) -> None:
        """The result of a fetch: a content hash, NO_TEXT (no version), or None (failed this run)."""
        self.in_flight.discard(timestamp)
        if content is None:
            self.failed.add(timestamp)
            return
        self.content[timestamp] = content
        digest = self.digests.get(timestamp)
        if digest:
            self._by_digest[digest] = content
            for other in self.timestamps:
                if self.digests.get(other) == digest and other not in self.content:
                    self.content[other] = content

    # --- planning --------------------------------------------------------------------------------
    def _unknown(self) -> list[int]:
        return [i for i, ts in enumerate(self.timestamps)
                if ts not in self.content and ts not in self.failed and ts not in self.inferred
                and ts not in self.in_flight]

    def next_batch(self) -> list[str]:
        """Timestamps to fetch now (several gaps are bisected in parallel); [] when nothing is left."""
        unknown = self._unknown()
        if not unknown:
            return []
        anchors = [i for i, ts in enumerate(self.timestamps) if self.content.get(ts, NO_TEXT) != NO_TEXT]
        batch: set[int] = set()
        if not anchors:
            if self.in_flight:
                return []          # wait: the ends are being fetched
            batch.update({unknown[0], unknown[-1]})
        else:
            if unknown[0] < anchors[0]:
                batch.add(unknown[0])
            if unknown[-1] > anchors[-1]:
                batch.add(unknown[-1])
            for left, right in zip(anchors, anchors[1:]):
                gap = [i for i in unknown if left < i < right]
                if not gap:
                    continue
                if any(left < anchor < right for anchor in self._in_flight_indices()):
                    continue
                a, b = self.content[self.timestamps[left]], self.content[self.timestamps[right]]
                if a == b:
                    for i in gap:
                        self.inferred[self.timestamps[i]] = a
                else:
                    batch.add(gap[len(gap) // 2])
        chosen: list[str] = []
        digests_chosen: set[str] = set()
        for i in sorted(batch):
            timestamp = self.timestamps[i]
            digest = self.digests.get(timestamp)
            if digest and digest in digests_chosen:
                continue            # same payload as another fetch of this batch: its result will do
            if digest:
                digests_chosen.add(digest)
            chosen.append(timestamp)
        self.in_flight.update(chosen)
        if not chosen and not self.in_flight and self._unknown():
            return self.next_batch()   # inference made progress; plan again
        return chosen

    def _in_flight_indices(self) -> list[int]:
        return [i for i, ts in enumerate(self.timestamps) if ts in self.in_flight]

    @property
    def done(self) -> bool:
        return not self.in_flight and not self._unknown()
