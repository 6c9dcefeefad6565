"""Ask the Internet Archive to capture live pages now (Save Page Now), through waybackpy.

Save Page Now is not a crawl of the archive, so it is not a Scrapy request: waybackpy already knows the
endpoint's habits (the archive URL may come back in one of several headers, saves are slow and flaky).
It is blocking; callers inside a reactor must run it in a thread (``deferToThread``).

The archive accepts about 15 saves a minute per IP and answers 429 beyond; saves are spaced by
``rate_per_minute`` (default 12) and a 429 stops the batch instead of pressing on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

from waybackpy import WaybackMachineSaveAPI
from waybackpy.exceptions import TooManyRequestsError, WaybackError

from crawler.archive import Archive
from crawler.settings import USER_AGENT
from core.errors import ArchiveError, ConfigurationError

DEFAULT_SAVE_RATE_PER_MINUTE = 12.0


@dataclass(frozen=True)
class SaveResult:
    url: str
    archive_url: str | None
    cached: bool = False          # the archive served a recent capture instead of making a new one
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def save_page_now(urls: Iterable[str], *, archive: str | None = None, rate_per_minute: float = DEFAULT_SAVE_RATE_PER_MINUTE,
                  max_tries: int = 3, sleep: Callable[[float], None] = time.sleep) -> list[SaveResult]:
    endpoint = Archive.parse(archive)
    if endpoint.kind != "wayback":
        raise ConfigurationError(f"Save Page Now needs a Wayback Machine archive, not {endpoint.spec}")
    if not 0 < rate_per_minute <= 15:
        raise ConfigurationError("the save rate must be above 0 and at most 15 per minute (the archive's limit)")
    interval = 60.0 / rate_per_minute
    results: list[SaveResult] = []
    for index, url in enumerate(urls):
        if index:
            sleep(interval)
        api = WaybackMachineSaveAPI(url, user_agent=USER_AGENT, max_tries=max_tries)
        api.request_url = f"{endpoint.base}/save/{api.url}"   # the configured archive, not a hard-coded host
        try:
            archive_url = api.save()
        except TooManyRequestsError as exc:
            results.append(SaveResult(url, None, error="rate limited by the archive (429)"))
            raise ArchiveError(f"Save Page Now refused with 429 after {index} save(s); try again in a few minutes") from exc
        except WaybackError as exc:
            results.append(SaveResult(url, None, error=str(exc).splitlines()[0][:200]))
            continue
        except OSError as exc:   # requests' connection errors derive from OSError
            results.append(SaveResult(url, None, error=f"archive unreachable: {exc}"[:200]))
            continue
        results.append(SaveResult(url, archive_url, cached=bool(api.cached_save)))
    return results
