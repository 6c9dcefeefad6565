"""Rate pools and Retry-After parsing (pure logic); the wire-level behaviour is in test_faults.py."""

from __future__ import annotations

from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

from crawler.middlewares import RatePool, retry_after_seconds


def test_rate_pool_spaces_requests_evenly():
    pool = RatePool(rate=0.4)            # 24 per minute
    waits = [pool.reserve(now=100.0) for _ in range(4)]
    assert waits == [0.0, 2.5, 5.0, 7.5]


def test_rate_pool_does_not_bank_idle_time():
    pool = RatePool(rate=2.0)
    assert pool.reserve(now=0.0) == 0.0
    # a long idle period does not allow a burst afterwards
    assert pool.reserve(now=100.0) == 0.0
    assert pool.reserve(now=100.0) == 0.5


def test_pause_delays_every_later_request():
    pool = RatePool(rate=8.0)
    pool.reserve(now=0.0)
    pool.pause(now=1.0, seconds=60)
    assert pool.reserve(now=2.0) == 59.0
    assert abs(pool.reserve(now=2.0) - 59.125) < 1e-9
    assert pool.pauses == 1


def test_retry_after_forms():
    assert retry_after_seconds(b"120", 60) == 120
    assert retry_after_seconds(None, 60) == 60
    assert retry_after_seconds(b"soon", 60) == 60
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert abs(retry_after_seconds(date, 60, now=now.timestamp()) - 30) < 1
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(past, 60, now=now.timestamp()) == 0
