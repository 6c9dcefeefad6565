"""Bulk loading of ready-made histories, for benchmarks and imports: millions of versions in minutes.

The normal write path (``record_captures`` → ``record_normalized`` → ``rebuild_versions``) is built for a
crawler: small idempotent transactions, diffs computed per change. Filling a database with 1,000,000
versions that way takes hours. :func:`bulk_load` writes the same rows (site, page, the captures of each
version, raw snapshots, shared texts, versions, changes with their summaries, per-site totals, search index) with multi-row inserts through
SQLAlchemy Core (captures, tens per version, straight to the driver) and ids assigned up front, so it needs
the database to itself (SQLite: it takes the write lock; PostgreSQL: sequences are moved past the ids it
used). Every change is summarized exactly as a rebuild does (``storage.summary.summarize``: difflib's line
counts, similarity, sections touched), so a bulk-loaded history reads like a crawled one.

``level``: the zstd level of texts and raw snapshots. The crawler's (``storage.types``) is the default;
compression is most of a load's CPU time, and a benchmark filling a million versions may choose a faster
level (payloads ~6% larger, nothing else differs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import zstandard
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from core.document import content_sha256
from storage.models import Capture, Change, Page, Site, Snapshot, Version, VersionText
from storage.search import index_texts, refresh_mentions
from storage.summary import document_lines, summarize
from storage.types import COMPRESSION, ZSTD_LEVEL, sha256_hex, utcnow
from storage.versions import refresh_site_totals

NORMALIZER_VERSION = "bulk"
MODELS = (Site, Page, Snapshot, Capture, VersionText, Version, Change)  # in foreign-key order


@dataclass(frozen=True)
class BulkVersion:
    timestamp: str  # 14 digits: the version's first capture
    title: str
    body: str  # comparable form
    extraction: str = "readability"
    # Later captures with the same text, in time order, before the next version's first: a crawl
    # fetches the last one and infers those between (bisection).
    later_captures: Sequence[str] = ()
    # Raw bytes fetched for the first capture and, when there are later captures, for the last one.
    snapshots: Sequence[bytes] = ()


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
    captures: int = 0
    snapshots: int = 0
    raw_snapshot_bytes: int = 0
    stored_snapshot_bytes: int = 0

    def add(self, other: "BulkResult") -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class BulkLoader:
    """Loads pages batch by batch; ids continue from what the database already holds."""

    def __init__(self, session: Session, *, threads: int = 0, level: int = ZSTD_LEVEL):
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.compressor = zstandard.ZstdCompressor(level=level)
        self.threads = threads  # zstd threads for batch compression (0: one per core)
        self.next_id = {
            model: (session.scalar(select(func.max(model.id))) or 0) + 1
            for model in MODELS
        }
        self.text_ids: dict[str, int] = {sha: i for sha, i in session.execute(select(VersionText.sha256, VersionText.id))}
        self.site_ids: dict[str, int] = {host: i for host, i in session.execute(select(Site.hostname, Site.id))}
        self.snapshot_ids: dict[str, int] = {}  # only this loader's: bulk payloads are new by construction

    def _ids(self, model: type, count: int) -> range:
        start = self.next_id[model]
        self.next_id[model] = start + count
        return range(start, start + count)

    def load(self, pages: Iterable[BulkPage]) -> BulkResult:
        result = BulkResult()
        now = utcnow()
        rows: dict[type, list] = {m: [] for m in MODELS}  # dicts, but tuples for captures (see _insert)
        new_texts: list[tuple[int, str, str]] = []
        sites: set[int] = set()
        for page in pages:
            if page.hostname not in self.site_ids:
                self.site_ids[page.hostname] = self._ids(Site, 1)[0]
                rows[Site].append({"id": self.site_ids[page.hostname], "hostname": page.hostname, "created_at": now})
                result.sites += 1
            sites.add(self.site_ids[page.hostname])
            page_id = self._ids(Page, 1)[0]
            rows[Page].append({"id": page_id, "site_id": self.site_ids[page.hostname], "url": page.url, "created_at": now})
            previous: tuple[int, BulkVersion, list[str]] | None = None
            for v, capture_id, version_id in zip(
                page.versions, self._ids(Capture, len(page.versions)), self._ids(Version, len(page.versions))
            ):
                sha = content_sha256(v.title, v.body)
                lines = document_lines(v.title, v.body)
                result.versions += 1
                result.raw_text_bytes += len(v.title.encode()) + len(v.body.encode())
                if sha not in self.text_ids:
                    self.text_ids[sha] = text_id = self._ids(VersionText, 1)[0]
                    new_texts.append((text_id, v.title, v.body))
                    rows[VersionText].append({
                        "id": text_id, "sha256": sha, "title": v.title, "body": v.body.encode(),
                        "compression": COMPRESSION, "chars": len(v.body), "words": len(v.body.split()),
                    })
                stamps = [v.timestamp, *v.later_captures]
                snapshot_ids = self._snapshots(rows[Snapshot], page.url, v.snapshots, result)
                fetched = {0: snapshot_ids[0] if snapshot_ids else None}
                if len(snapshot_ids) > 1 and len(stamps) > 1:
                    fetched[len(stamps) - 1] = snapshot_ids[-1]
                capture_ids = [capture_id, *self._ids(Capture, len(v.later_captures))]
                length, digest = len(v.body), sha[:32]
                rows[Capture].extend(
                    (cid, page_id, stamp, page.url, digest if k in fetched else None, length,
                     "fetched" if k in fetched else "inferred", fetched.get(k), sha, v.extraction)
                    for k, (cid, stamp) in enumerate(zip(capture_ids, stamps))
                )
                result.captures += len(stamps)
                rows[Version].append({
                    "id": version_id, "page_id": page_id, "text_id": self.text_ids[sha], "content_sha256": sha,
                    "first_seen": v.timestamp, "last_seen": stamps[-1], "first_capture_id": capture_id,
                    "last_capture_id": capture_ids[-1], "capture_count": len(stamps), "extraction": v.extraction,
                    "normalizer_version": NORMALIZER_VERSION, "created_at": now,
                })
                if previous is not None:
                    summary = summarize(previous[2], lines)
                    rows[Change].append({
                        "id": self._ids(Change, 1)[0], "page_id": page_id, "from_version_id": previous[0],
                        "to_version_id": version_id,
                        "before_timestamp": (list(previous[1].later_captures) or [previous[1].timestamp])[-1],
                        "after_timestamp": v.timestamp, "lines_added": summary.lines_added,
                        "lines_removed": summary.lines_removed, "similarity": summary.similarity,
                        "sections": summary.sections, "technical": False, "created_at": now,
                    })
                previous = (version_id, v, lines)
        result.stored_text_bytes += self._compress(rows[VersionText], "body")
        result.stored_snapshot_bytes += self._compress(rows[Snapshot], "payload")
        result.texts = len(rows[VersionText])
        for model in MODELS:
            if rows[model]:
                self._insert(model, rows[model], now)
        refresh_site_totals(self.session, sites)
        index_texts(self.session, new_texts)  # also takes them off the queue the trigger filled
        refresh_mentions(self.session)  # this batch's sites: a first search need not compute them all
        return result

    # Every capture of a version has these columns (the rest are the same for all: see _insert).
    _CAPTURE_COLUMNS = ("id", "page_id", "timestamp", "original_url", "digest", "length", "state", "snapshot_id",
                        "content_sha256", "extraction")

    def _insert(self, model: type, rows: list, now: datetime) -> None:
        """Multi-row insert through SQLAlchemy Core. Captures (tens per version) go straight to the driver as
        tuples: SQLAlchemy's per-row parameter processing would take most of the load time; their constant
        columns (and the one datetime, converted once) are written into the statement's parameters."""
        if model is not Capture:
            self.session.connection().execute(insert(model.__table__), rows)
            return
        convert = Capture.__table__.c.updated_at.type.bind_processor(self.session.get_bind().dialect)
        constants = {"status": 200, "mimetype": "text/html", "normalizer_version": NORMALIZER_VERSION,
                     "updated_at": convert(now) if convert else now}
        columns = [*self._CAPTURE_COLUMNS, *constants]
        marks = ", ".join(["%s" if self.postgres else "?"] * len(columns))
        tail = tuple(constants.values())
        self.session.connection().exec_driver_sql(
            f"INSERT INTO captures ({', '.join(columns)}) VALUES ({marks})", [row + tail for row in rows],
        )

    def _compress(self, rows: list[dict], column: str) -> int:
        """Compress ``column`` of the batch's rows on every core at once (zstd releases the GIL); bytes stored."""
        if not rows:
            return 0
        compressed = self.compressor.multi_compress_to_buffer([r[column] for r in rows], threads=self.threads or -1)
        for row, frame in zip(rows, compressed):
            row[column] = frame.tobytes()
        return sum(len(r[column]) for r in rows)

    def _snapshots(self, rows: list[dict], url: str, payloads: Sequence[bytes], result: BulkResult) -> list[int]:
        """Snapshot ids for these payloads (new ones added to ``rows`` uncompressed: see :meth:`_compress`)."""
        ids = []
        for payload in payloads:
            sha = sha256_hex(payload)
            if sha not in self.snapshot_ids:
                self.snapshot_ids[sha] = self._ids(Snapshot, 1)[0]
                rows.append({"id": self.snapshot_ids[sha], "sha256": sha, "payload": payload, "compression": COMPRESSION,
                             "size": len(payload), "http_status": 200,
                             "headers": [["Content-Type", "text/html; charset=utf-8"]], "url": url,
                             "fetched_at": utcnow()})
                result.snapshots += 1
                result.raw_snapshot_bytes += len(payload)
            ids.append(self.snapshot_ids[sha])
        return ids

    def finish(self) -> None:
        """PostgreSQL: move the id sequences past the ids assigned here."""
        if not self.postgres:
            return
        for model in MODELS:
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
