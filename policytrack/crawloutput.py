"""What ``policytrack crawl`` prints: one summary line on stdout, one error line on stderr when the run
is not a success, and -- on a terminal only -- a progress line for long crawls.

Made for cron: a successful crawl prints exactly its summary line (Scrapy's own log shows only warnings
and errors unless ``--verbose``/``--log-level`` asks for more), and the exit status says whether the run
succeeded.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from policytrack.commands.common import EXIT_ERROR, EXIT_OK


def summary(result: Any) -> str:
    c = result.counts
    line = (f"run {result.run_id} {result.status}: {c.get('captures_seen', 0)} captures seen, "
            f"{c.get('captures_new', 0)} new, {c.get('captures_fetched', 0)} fetched, "
            f"{c.get('versions_new', 0)} new versions, {c.get('changes_new', 0)} new changes")
    if result.status != "succeeded" and c.get("pages_complete") is not None:
        line += f"; {c.get('pages_complete', 0)} page(s) complete"
    return line


def report(result: Any, out: TextIO = sys.stdout, err: TextIO = sys.stderr, *, line: str | None = None,
           what: str = "crawl") -> int:
    """Print the run's summary (``line``, else the crawl's counts; and, unless it succeeded, one line on
    stderr); return the exit status. ``what``: the kind of run, for the messages (crawl, discovery)."""
    print(line or summary(result), file=out)
    if result.status == "interrupted" and not result.errors:
        print(f"policytrack: {what} interrupted (stopped by a signal); the next {what} resumes it", file=err)
        return EXIT_ERROR
    if not result.ok:
        first = result.errors[0].strip().splitlines()[0] if result.errors else "see the log above"
        print(f"policytrack: {what} {result.status} with {result.counts.get('errors_count') or len(result.errors)} "
              f"error(s); first: {first}", file=err)
        return EXIT_ERROR
    return EXIT_OK


class Progress:
    """A status line on a terminal, rewritten every ``interval`` seconds while the crawl runs.

    It says how many pages are finished, how many captures were fetched, and the least time the rate
    limits leave for the pages not yet listed (one CDX query each, at ``POLICYTRACK_CDX_RATE_PER_MINUTE``).
    """

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 1.0):
        self.stream = stream
        self.interval = interval
        self.started = time.monotonic()
        self._shown = 0

    def watch(self, crawler: Any, pages: int) -> None:
        from scrapy import signals

        self.crawler, self.pages = crawler, pages
        self.cdx_per_minute = crawler.settings.getfloat("POLICYTRACK_CDX_RATE_PER_MINUTE")
        self._loop: Any = None
        crawler.signals.connect(self._start, signal=signals.engine_started, weak=False)
        crawler.signals.connect(self._stop, signal=signals.engine_stopped, weak=False)

    def line(self) -> str:
        stats = self.crawler.stats
        value = lambda name: int(stats.get_value(f"policytrack/{name}", 0))  # noqa: E731
        unlisted = max(0, self.pages - value("pages_listed"))
        least = unlisted * 60.0 / self.cdx_per_minute if self.cdx_per_minute > 0 else 0.0
        elapsed = time.monotonic() - self.started
        return (f"crawl: {value('pages_finished')}/{self.pages} pages finished, {value('captures_fetched')} captures "
                f"fetched, {value('errors_count')} errors, {_duration(elapsed)} elapsed"
                + (f", at least {_duration(least)} left (CDX rate limit)" if unlisted else ""))

    def _show(self) -> None:
        text = self.line()
        self.stream.write("\r" + text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def _start(self) -> None:
        from twisted.internet.task import LoopingCall

        self._loop = LoopingCall(self._show)
        self._loop.start(self.interval, now=False)

    def _stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
