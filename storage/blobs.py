"""Raw snapshots and version texts: compressed with zstd, addressed by SHA-256, stored once each.

The same payload is served for many captures of a page that did not change (and the archive may return
byte-identical redirects or error pages across pages), so content addressing saves most of the space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.inserts import insert_ignoring_conflicts
from storage.models import Snapshot, VersionText
from storage.types import COMPRESSION, compress, decompress, sha256_hex, utcnow


def _header_pairs(headers: Sequence[tuple[Any, Any]]) -> list[list[str]]:
    def text(value: Any) -> str:
        return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)

    return [[text(name), text(value)] for name, value in headers]


def store_snapshot(
    session: Session, payload: bytes, *, http_status: int | None, headers: Sequence[tuple[str, str]], url: str
) -> tuple[int, bool]:
    """Store raw fetched bytes once per distinct payload; returns (snapshot_id, created).

    A payload seen before keeps the metadata of its first fetch.
    """
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"snapshot payload must be bytes, got {type(payload).__name__}")
    payload = bytes(payload)
    digest = sha256_hex(payload)
    existing = session.scalars(select(Snapshot.id).where(Snapshot.sha256 == digest)).first()
    if existing is not None:
        return existing, False
    row = {
        "sha256": digest,
        "payload": compress(payload),
        "compression": COMPRESSION,
        "size": len(payload),
        "http_status": http_status,
        "headers": _header_pairs(headers),
        "url": url,
        "fetched_at": utcnow(),
    }
    created = insert_ignoring_conflicts(session, Snapshot, [row], ["sha256"]) > 0
    snapshot_id = session.scalars(select(Snapshot.id).where(Snapshot.sha256 == digest)).one()
    return snapshot_id, created


def load_snapshot(session: Session, snapshot_id: int) -> tuple[bytes, Snapshot]:
    """The decompressed payload of a snapshot, with its row (for status, headers and URL)."""
    snapshot = session.get(Snapshot, snapshot_id)
    if snapshot is None:
        raise ValueError(f"no snapshot with id {snapshot_id}")
    return decompress(snapshot.payload, snapshot.compression), snapshot


def load_text(session: Session, sha256: str) -> tuple[str, str]:
    """(title, comparable body) of a stored version text."""
    text = session.scalars(select(VersionText).where(VersionText.sha256 == sha256)).one_or_none()
    if text is None:
        raise ValueError(f"no version text with sha256 {sha256!r}")
    return text.title, decompress(text.body, text.compression).decode("utf-8")
