"""Re-run the current normalizer over stored snapshots and rebuild versions: no archive, no fetching.

Why: raw snapshots are kept so that a better normalizer (a fixed decoding rule, a new jsdom) can be
applied to the whole history. Page by page (see ``storage/renormalize.py`` for what is recorded):
remember the old change points, normalize every capture not yet done with this normalizer version in
parallel (each result committed as it comes, so an interrupted run resumes where it stopped), then
rebuild versions and record which boundaries the normalizer alone made or unmade as technical.
Captures sharing a snapshot and URL are normalized once. Sites are leased like a crawl's
(``site:HOST``), so a crawl and a re-normalization never rebuild one site's versions at once; a site
being crawled is left out and named in the result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import storage
from storage import leases
from storage.leases import Holder, LeaseKeeper
from storage.renormalize import (
    PageToRenormalize,
    RenormalizeResult,
    RenormalizeTodo,
    begin_renormalization,
    captures_to_renormalize,
    finish_renormalization,
    pages_to_renormalize,
    record_renormalize_skip,
    record_renormalized,
    renormalization_pending,
)
from crawler.normalizer import NORMALIZER_VERSION, CaptureMeta, Normalized, Normalizer
from crawler.soft404 import looks_like_soft_404
from core.errors import NotNormalizable


@dataclass
class RenormalizeTotals:
    pages: int = 0
    captures: int = 0
    skipped: int = 0
    versions_new: int = 0
    versions_removed: int = 0
    policy_changes_new: int = 0
    appeared: int = 0
    disappeared: int = 0
    reopened: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    busy: dict[str, str] = field(default_factory=dict)  # sites left out: a crawl holds them (who)

    def add(self, result: RenormalizeResult) -> None:
        self.pages += 1
        self.versions_new += result.versions_new
        self.versions_removed += result.versions_removed
        self.policy_changes_new += result.policy_changes_new
        self.appeared += result.appeared
        self.disappeared += result.disappeared
        self.reopened += result.reopened


Progress = Callable[[str], None]


def _normalize(normalizer: Normalizer, payload: bytes, meta: CaptureMeta) -> Normalized:
    result = normalizer.normalize(payload, meta)
    if looks_like_soft_404(result.title, result.body):  # the crawl's own rule (crawler/pipelines.py)
        raise NotNormalizable("the page says it was not found", reason="soft-404")
    return result


class _Page:
    """One page's captures, normalized in parallel and written one at a time."""

    def __init__(self, db: storage.Database, normalizer: Normalizer, page: PageToRenormalize,
                 totals: RenormalizeTotals, progress: Progress):
        self.db, self.normalizer, self.page = db, normalizer, page
        self.totals, self.progress = totals, progress
        self.write_lock = threading.Lock()
        self.done = 0

    def redo(self, group: list[RenormalizeTodo], total: int) -> None:
        first = group[0]
        with self.db.session() as session:
            payload, snapshot = storage.load_snapshot(session, first.snapshot_id)
            headers = tuple((name, value) for name, value in snapshot.headers)
        meta = CaptureMeta(site=self.page.site, original_url=first.original_url, timestamp=first.timestamp,
                           headers=headers, mimetype=first.mimetype)
        try:
            result: Normalized | None = _normalize(self.normalizer, payload, meta)
            reason = ""
        except NotNormalizable as exc:
            result, reason = None, exc.reason
        with self.write_lock, self.db.session(immediate=True) as session:
            for todo in group:
                if result is None:
                    record_renormalize_skip(session, todo.capture_id, reason=reason,
                                            normalizer_version=NORMALIZER_VERSION)
                else:
                    record_renormalized(session, todo.capture_id, content_sha256=result.content_sha256,
                                        title=result.comparable_title, comparable_body=result.comparable_body,
                                        extraction=result.extraction, normalizer_version=result.normalizer_version)
            self.done += len(group)
            self.totals.captures += len(group)
            if result is None:
                self.totals.skipped += len(group)
                self.totals.skip_reasons[reason] = self.totals.skip_reasons.get(reason, 0) + len(group)
            done = self.done
        self.progress(f"{self.page.site} {self.page.url}: {done}/{total} captures")


def renormalize(db: storage.Database, sites: Sequence[str] = (), *, since_version: str | None = None,
                workers: int | None = None, progress: Progress = lambda line: None,
                normalizer: Normalizer | None = None) -> RenormalizeTotals:
    """Re-normalize the stored captures of ``sites`` (all when empty); returns what changed.

    ``normalizer``: an open one to use (tests), else one with ``workers`` Node workers is started.
    """
    with db.session() as session:
        pages = pages_to_renormalize(session, sites)
    holder = Holder.new("renormalize")
    with db.session() as session:
        hosts = sorted({page.site for page in pages})
        _, busy = leases.acquire(session, holder, [f"site:{host}" for host in hosts])
    totals = RenormalizeTotals(busy={name.removeprefix("site:"): info.describe() for name, info in busy.items()})
    pages = [page for page in pages if page.site not in totals.busy]
    own = normalizer is None
    try:
        with LeaseKeeper(db, holder):
            active = normalizer or Normalizer(workers=workers)
            try:
                _renormalize_pages(db, pages, active, since_version, totals, progress)
            finally:
                if own:
                    active.close()
    finally:
        with db.session() as session:
            leases.release(session, holder)
    return totals


def _renormalize_pages(db: storage.Database, pages: list[PageToRenormalize], active: Normalizer,
                       since_version: str | None, totals: RenormalizeTotals, progress: Progress) -> None:
    with ThreadPoolExecutor(max_workers=2 * active.workers) as executor:
        for page in pages:
            with db.session(immediate=True) as session:
                todos = captures_to_renormalize(session, page.page_id, NORMALIZER_VERSION, since_version)
                if todos:
                    begin_renormalization(session, page.page_id, NORMALIZER_VERSION)
                unfinished = renormalization_pending(session, page.page_id, NORMALIZER_VERSION)
            if not todos and not unfinished:
                continue
            groups: dict[tuple[int, str, str | None], list[RenormalizeTodo]] = {}
            for todo in todos:
                groups.setdefault((todo.snapshot_id, todo.original_url, todo.mimetype), []).append(todo)
            worker = _Page(db, active, page, totals, progress)
            # list(): wait for the page and re-raise the first unexpected error.
            list(executor.map(lambda group: worker.redo(group, len(todos)), groups.values()))
            with db.session(immediate=True) as session:
                result = finish_renormalization(session, page.page_id, NORMALIZER_VERSION)
            totals.add(result)
            progress(f"{page.site} {page.url}: versions +{result.versions_new}/-{result.versions_removed}, "
                     f"technical boundaries +{result.appeared} appeared/{result.disappeared} disappeared")
