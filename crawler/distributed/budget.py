"""One politeness budget for every worker: the archive counts requests per IP, not per process.

The counting is the ``limits`` library's moving-window limiter on Redis (an atomic Lua script per hit),
so N workers behind one address together never send more than the configured rate in any window. A
429 (or a 5xx with Retry-After) seen by any worker sets a pause key with that many seconds to live;
every worker checks it before each request, so one archive complaint pauses them all.

Rates become a moving window of whole seconds just long enough to hold at least two requests (24 CDX
a minute: 2 per 5 s), which spaces requests nearly as evenly as the in-process pools without a burst
of a whole minute's budget at once.
"""

from __future__ import annotations

import logging
import math
import time

import redis
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from crawler.distributed.queue import DEFAULT_PREFIX

# Waiting for a slot: never spin faster than this (the limiter says when the window frees a slot).
MIN_WAIT_SECONDS = 0.02
# Redis away (restarting, network): no slot can be counted, so none is granted; ask again after this.
REDIS_AWAY_WAIT_SECONDS = 1.0

logger = logging.getLogger(__name__)


def window_for(rate_per_second: float) -> RateLimitItemPerSecond:
    """The moving window for ``rate_per_second``: the shortest whole-second window holding >= 2 requests."""
    seconds = max(1, math.ceil(2 / rate_per_second))
    return RateLimitItemPerSecond(max(1, math.floor(rate_per_second * seconds)), seconds, namespace="policytrack")


class SharedBudget:
    """``wait(kind, host)``: seconds to wait before a request of that kind may go (0: it was counted)."""

    def __init__(self, url: str, rates: dict[str, float], prefix: str = DEFAULT_PREFIX):
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.limiter = MovingWindowRateLimiter(RedisStorage(url, key_prefix=prefix + "budget"))
        self.items = {kind: window_for(rate) for kind, rate in rates.items()}
        self.prefix = prefix

    def _pause_key(self, kind: str, host: str) -> str:
        return f"{self.prefix}pause:{host}:{kind}"

    def wait(self, kind: str, host: str) -> float:
        """Redis away: the request waits (it is not sent uncounted, and it does not fail), and asks again."""
        try:
            return self._wait(kind, host)
        except redis.RedisError as exc:
            logger.warning("politeness budget unreachable (%s): %s request to %s waits", exc, kind, host)
            return REDIS_AWAY_WAIT_SECONDS

    def _wait(self, kind: str, host: str) -> float:
        paused_ms = self.client.pttl(self._pause_key(kind, host))
        if paused_ms > 0:
            return paused_ms / 1000.0
        item = self.items[kind]
        if self.limiter.hit(item, kind, host):
            return 0.0
        stats = self.limiter.get_window_stats(item, kind, host)
        return max(MIN_WAIT_SECONDS, stats.reset_time - time.time())

    def pause(self, kind: str, host: str, seconds: float) -> None:
        """Pause every worker's ``kind`` requests to ``host`` for ``seconds`` (never shortens a pause)."""
        key = self._pause_key(kind, host)
        ms = int(seconds * 1000)
        try:
            if ms > 0 and self.client.pttl(key) < ms:
                self.client.set(key, "1", px=ms)
        except redis.RedisError as exc:  # this worker still pauses (its own pool); the others are not told
            logger.warning("could not share a %.0f s pause of %s requests to %s: %s", seconds, kind, host, exc)
