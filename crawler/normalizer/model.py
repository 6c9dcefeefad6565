"""What goes into the normalizer (one capture's metadata) and what comes out (one document)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_TIMESTAMP = re.compile(r"\d{14}")


@dataclass(frozen=True)
class CaptureMeta:
    """Everything about a capture that shapes its document, besides the bytes.

    ``site`` is the tracked hostname written in the header (it can differ from the URL's host);
    ``original_url`` and ``timestamp`` make the snapshot URL that relative links resolve against.
    """

    site: str
    original_url: str
    timestamp: str
    headers: Sequence[tuple[str, str]] = ()
    mimetype: str | None = None

    def __post_init__(self) -> None:
        if not _TIMESTAMP.fullmatch(self.timestamp or ""):
            raise ValueError(f"capture timestamp must be 14 digits, got {self.timestamp!r}")
        if not self.site:
            raise ValueError("capture site must not be empty")
        if not self.original_url:
            raise ValueError("capture original_url must not be empty")


@dataclass(frozen=True)
class Normalized:
    """One capture as a corpus document, plus the timestamp-neutral form versions are compared in."""

    title: str
    body: str
    document: str
    extraction: str  # "readability" | "fallback" | "pdf", "-oversize" appended when reduced (oversize.py)
    comparable_title: str
    comparable_body: str
    content_sha256: str
    encoding: str | None
    normalizer_version: str
