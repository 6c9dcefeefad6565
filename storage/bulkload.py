"""Bulk loading of ready-made histories, for benchmarks and imports: millions of versions in minutes.

The normal write path (``record_captures`` → ``record_normalized`` → ``rebuild_versions``) is built for a
crawler: small idempotent transactions, diffs computed per change. Filling a database with 1,000,000
versions that way takes hours. :func:`bulk_load` writes the same rows (site, page, one capture per
version, shared texts, versions, changes, search index) with multi-row inserts and ids assigned up front,
so it needs the database to itself (SQLite: it takes the write lock; PostgreSQL: sequences are moved past
the ids it used).

Change sizes are counted as a multiset difference of lines, which equals difflib's count whenever edits
do not move lines around (then difflib may count a moved line as removed and added where this does not).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import zstandard
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from core.document import content_sha256
from storage.models import Capture, Change, Page, Site, Version, VersionText
from storage.search import index_texts
from storage.types import COMPRESSION, _ZSTD_LEVEL, utcnow

NORMALIZER_VERSION = "bulk"


@dataclass(frozen=True)
class BulkVersion:
    timestamp: str  # 14 digits: the version's (only) capture
    title: str
    body: str  # comparable form
    extraction: str = "readability"


@dataclass
class BulkPage:
    hostname: str  # must already be a valid, normalized hostname
    url: str
    versions: Sequence[BulkVersion] = field(default_factory=list)  # in time order, consecutive ones differ


@dataclass
class BulkResult:
    sites: int = 0
    versions: int = 0
    texts: int = 0  # distinct texts stored (the rest were shared)
    raw_text_bytes: int = 0  # UTF-8 bytes of every version's title + body, as if each were stored alone
    stored_text_bytes: int = 0  # compressed bytes actually stored for texts

    def add(self, other: "BulkResult") -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _line_changes(before: str, after: str) -> tuple[int, int]:
    old, new = Counter(before.splitlines()), Counter(after.splitlines())
    return sum((new - old).values()), sum((old - new).values())


class BulkLoader:
    """Loads pages batch by batch; ids continue from what the database already holds."""

    def __init__(self, session: Session, *, threads: int = 0):
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
        self.threads = threads  # zstd threads for batch compression (0: one per core)
        self.next_id = {
            model: (session.scalar(select(func.max(model.id))) or 0) + 1
            for model in (Site, Page, Capture, VersionText, Version, Change)
        }
        self.text_ids: dict[str, int] = {sha: i for sha, i in session.execute(select(VersionText.sha256, VersionText.id))}
        self.site_ids: dict[str, int] = {host: i for host, i in session.execute(select(Site.hostname, Site.id))}

    def _ids(self, model: type, count: int) -> range:
        start = self.next_id[model]
        self.next_id[model] = start + count
        return range(start, start + count)

    def load(self, pages: Iterable[BulkPage]) -> BulkResult:
        result = BulkResult()
        now = utcnow()
        rows: dict[type, list[dict]] = {m: [] for m in (Site, Page, Capture, VersionText, Version, Change)}
        new_texts: list[tuple[int, str, str]] = []
        for page in pages:
            if page.hostname not in self.site_ids:
                self.site_ids[page.hostname] = self._ids(Site, 1)[0]
                rows[Site].append({"id": self.site_ids[page.hostname], "hostname": page.hostname, "created_at": now})
                result.sites += 1
            page_id = self._ids(Page, 1)[0]
            rows[Page].append({"id": page_id, "site_id": self.site_ids[page.hostname], "url": page.url, "created_at": now})
            previous: tuple[int, BulkVersion] | None = None
            for v, capture_id, version_id in zip(
                page.versions, self._ids(Capture, len(page.versions)), self._ids(Version, len(page.versions))
            ):
                sha = content_sha256(v.title, v.body)
                result.versions += 1
                result.raw_text_bytes += len(v.title.encode()) + len(v.body.encode())
                if sha not in self.text_ids:
                    self.text_ids[sha] = text_id = self._ids(VersionText, 1)[0]
                    new_texts.append((text_id, v.title, v.body))
                    rows[VersionText].append({
                        "id": text_id, "sha256": sha, "title": v.title, "body": v.body.encode(),
                        "compression": COMPRESSION, "chars": len(v.body), "words": len(v.body.split()),
                    })
                rows[Capture].append({
                    "id": capture_id, "page_id": page_id, "timestamp": v.timestamp, "original_url": page.url,
                    "status": 200, "mimetype": "text/html", "digest": sha[:32], "length": len(v.body),
                    "state": "fetched", "content_sha256": sha, "extraction": v.extraction,
                    "normalizer_version": NORMALIZER_VERSION, "updated_at": now,
                })
                rows[Version].append({
                    "id": version_id, "page_id": page_id, "text_id": self.text_ids[sha], "content_sha256": sha,
                    "first_seen": v.timestamp, "last_seen": v.timestamp, "first_capture_id": capture_id,
                    "last_capture_id": capture_id, "capture_count": 1, "extraction": v.extraction,
                    "normalizer_version": NORMALIZER_VERSION, "created_at": now,
                })
                if previous is not None:
                    added, removed = _line_changes(previous[1].body, v.body)
                    rows[Change].append({
                        "id": self._ids(Change, 1)[0], "page_id": page_id, "from_version_id": previous[0],
                        "to_version_id": version_id, "before_timestamp": previous[1].timestamp,
                        "after_timestamp": v.timestamp, "lines_added": added, "lines_removed": removed,
                        "technical": False, "created_at": now,
                    })
                previous = (version_id, v)
        # Compress the batch's new texts on every core at once (zstd releases the GIL).
        if rows[VersionText]:
            compressed = self.compressor.multi_compress_to_buffer(
                [r["body"] for r in rows[VersionText]], threads=self.threads or -1
            )
            for row, frame in zip(rows[VersionText], compressed):
                row["body"] = frame.tobytes()
                result.stored_text_bytes += len(row["body"])
        result.texts = len(rows[VersionText])
        for model in (Site, Page, Capture, VersionText, Version, Change):
            if rows[model]:
                self.session.execute(insert(model), rows[model])
        index_texts(self.session, new_texts)  # also takes them off the queue the trigger filled
        return result

    def finish(self) -> None:
        """PostgreSQL: move the id sequences past the ids assigned here."""
        if not self.postgres:
            return
        for model in (Site, Page, Capture, VersionText, Version, Change):
            table = model.__tablename__
            self.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )


def bulk_load(session: Session, pages: Iterable[BulkPage]) -> BulkResult:
    """Load ``pages`` (with their versions) in one go; see the module docstring for the conditions."""
    loader = BulkLoader(session)
    result = loader.load(pages)
    loader.finish()
    return result
