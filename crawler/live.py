"""Live checks: fetch a page straight from its site, normalize it like an archive capture, store it.

Called by the crawl runner after the archive crawl of a run, for pages of sites with live checks on
(``policytrack live SITE``). Blocking (a worker thread in the scheduler): one GET per page, so a plain
``urllib`` client is enough; the archive politeness machinery is for the archive, not for the site.

The capture is normalized with the page's tracked URL as its original URL, exactly as an archive
capture of that URL would be, so the same text yields the same content hash and the archive's later
capture of it lands in the same version (and matches the live capture, :mod:`storage.live`).
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone

from scrapy.settings import Settings

import storage
from crawler.items import PagePlan
from crawler.normalizer import CaptureMeta, Normalizer
from core.errors import NotNormalizable
from storage.live import LiveNormalized, match_live_captures, record_live_capture

logger = logging.getLogger(__name__)


@dataclass
class LiveOutcome:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


@dataclass
class LiveResponse:
    url: str
    final_url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def fetch(url: str, *, timeout: float, max_bytes: int, user_agent: str) -> LiveResponse:
    """GET ``url`` following redirects. Raises OSError/HTTPError with a readable message on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "text/html,*/*;q=0.8"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise OSError(f"larger than {max_bytes} bytes")
        return LiveResponse(url, response.geturl(), response.status, list(response.headers.items()), body)


def _timestamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def check_live(db: storage.Database, settings: Settings, run_id: int, plans: list[PagePlan]) -> LiveOutcome:
    """Fetch, normalize and store the live page of each plan; rebuild those pages' versions."""
    outcome = LiveOutcome()
    if not plans:
        return outcome
    timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
    max_bytes = settings.getint("POLICYTRACK_MAX_CAPTURE_BYTES")
    user_agent = settings.get("USER_AGENT")
    with Normalizer(workers=1, timeout=settings.getfloat("POLICYTRACK_NORMALIZER_TIMEOUT")) as normalizer:
        for plan in plans:
            outcome.add("captures_seen")
            now = datetime.now(timezone.utc)
            try:
                response = fetch(plan.url, timeout=timeout, max_bytes=max_bytes, user_agent=user_agent)
            except urllib.error.HTTPError as exc:
                outcome.errors.append(f"{plan.site}: live fetch of {plan.url} failed: HTTP {exc.code}")
                outcome.add("captures_failed")
                continue
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                outcome.errors.append(f"{plan.site}: live fetch of {plan.url} failed: {reason}")
                outcome.add("captures_failed")
                continue
            timestamp = _timestamp(now)
            mimetype = next((v.split(";")[0].strip() for k, v in response.headers if k.lower() == "content-type"), None)
            meta = CaptureMeta(site=plan.site, original_url=plan.url, timestamp=timestamp,
                               headers=tuple(response.headers), mimetype=mimetype)
            normalized: LiveNormalized | None = None
            failure: str | None = None
            try:
                result = normalizer.normalize(response.body, meta)
                normalized = LiveNormalized(result.content_sha256, result.comparable_title, result.comparable_body,
                                            result.extraction, result.normalizer_version)
            except NotNormalizable as exc:
                failure = exc.reason
            final_url = response.final_url if response.final_url != plan.url else None
            with db.session(immediate=True) as session:
                snapshot_id, created = storage.store_snapshot(
                    session, response.body, http_status=response.status, headers=response.headers,
                    url=response.final_url,
                )
                capture = record_live_capture(
                    session, plan.page_id, run_id, timestamp=timestamp, url=plan.url, status=response.status,
                    mimetype=mimetype, length=len(response.body), snapshot_id=snapshot_id, final_url=final_url,
                    normalized=normalized, failure=failure, fetched_at=now,
                )
            if capture is None:
                continue  # this page already has a capture at this second
            outcome.add("captures_new")
            outcome.add("captures_fetched" if normalized else "captures_skipped")
            outcome.add("snapshots_new", int(created))
            with db.session(immediate=True) as session:
                rebuilt = storage.rebuild_versions(session, plan.page_id, run_id)
                match_live_captures(session, plan.page_id)
            outcome.add("versions_new", rebuilt.versions_new)
            outcome.add("changes_new", rebuilt.changes_new)
            logger.info("%s: live page fetched (%s)", plan.site, "new version" if rebuilt.versions_new else "unchanged")
    return outcome
