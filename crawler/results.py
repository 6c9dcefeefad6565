"""Pipeline → spider: what each fetched capture normalized to, for bisection.

The spider bisects a page's captures: which capture to fetch next depends on what the previous ones
normalized to, and normalizing is the pipeline's job. The pipeline publishes each capture's outcome
here (from the reactor thread) and the spider awaits it. One board per crawler; no globals.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from twisted.internet.defer import Deferred


class CaptureResults:
    def __init__(self) -> None:
        self._waiting: dict[tuple[int, str], list[Deferred]] = {}

    def wait(self, page_id: int, timestamp: str) -> Deferred:
        """A Deferred firing with the capture's content hash, ``NO_TEXT``, or None if it failed."""
        deferred: Deferred = Deferred()
        self._waiting.setdefault((page_id, timestamp), []).append(deferred)
        return deferred

    def publish(self, page_id: int, timestamp: str, content: str | None) -> None:
        for deferred in self._waiting.pop((page_id, timestamp), []):
            deferred.callback(content)

    def abandon(self) -> int:
        """Answer every wait with None ("failed"): the crawl is stopping and those answers won't come."""
        waiting, self._waiting = self._waiting, {}
        for waiters in waiting.values():
            for deferred in waiters:
                deferred.callback(None)
        return len(waiting)

    @property
    def pending(self) -> int:
        return sum(len(waiters) for waiters in self._waiting.values())


def results_for(crawler: Crawler) -> CaptureResults:
    board = getattr(crawler, "policytrack_results", None)
    if board is None:
        board = CaptureResults()
        crawler.policytrack_results = board
    return board
