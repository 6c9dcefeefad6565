"""A Scrapy extension for tests: holds the engine in its start-up for a few seconds.

Scrapy sends ``engine_started`` after the spider is opened and before the engine counts as running;
a stop requested in that window is the case to test. The extension announces the window in the log
(``engine starting: held``) so that a test can send its signal inside it, deterministically. It goes in
through the ordinary ``EXTENSIONS`` setting (``-s``), as any user's extension would.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

HOLD_SECONDS = 4.0
logger = logging.getLogger(__name__)


class HoldEngineStart:
    @classmethod
    def from_crawler(cls, crawler):
        extension = cls()
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        return extension

    async def engine_started(self) -> None:
        logger.warning("engine starting: held for %.0f s", HOLD_SECONDS)
        await maybe_deferred_to_future(deferLater(reactor, HOLD_SECONDS, lambda: None))
