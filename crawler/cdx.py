"""CDX rows: one typed record, one parser for every dialect a Wayback-compatible archive speaks.

Dialects seen in the wild:

* Internet Archive, plain text (default output): space-separated ``urlkey timestamp original mimetype
  statuscode digest length``. With ``showResumeKey=true`` the last page line is followed by a blank line
  and the resume key.
* Internet Archive, ``output=json``: an array of arrays whose first row is the header (field names); with
  ``showResumeKey=true`` an empty array then ``[resume_key]`` close it.
* pywb, ``output=json``: one JSON object per line with ``url``/``mime``/``status`` names.
* pywb CDXJ text: ``urlkey timestamp {json}``.

A malformed line never aborts the parse: it becomes a :class:`~core.errors.MalformedCdxRow`
in :attr:`CdxPage.errors` with the line attached, and the good rows are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from core.errors import MalformedCdxRow

_TIMESTAMP = re.compile(r"^\d{4,14}$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")

# Internet Archive field names -> ours; pywb's names are mapped in _from_mapping.
IA_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")


@dataclass(frozen=True, order=True)
class CdxRecord:
    """One capture as the archive lists it. Optional fields are ``None`` when the archive says ``-``."""

    timestamp: str
    original_url: str
    status: int | None = None
    mimetype: str | None = None
    digest: str | None = None
    length: int | None = None
    urlkey: str | None = None

    @property
    def captured_at(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)

    @property
    def is_revisit(self) -> bool:
        return self.mimetype == "warc/revisit"

    @property
    def is_redirect(self) -> bool:
        return self.status is not None and 300 <= self.status < 400

    @property
    def is_error(self) -> bool:
        return self.status is not None and self.status >= 400


@dataclass
class CdxPage:
    """The parsed rows of one CDX response, the resume key for the next page, and bad lines."""

    records: list[CdxRecord] = field(default_factory=list)
    resume_key: str | None = None
    errors: list[MalformedCdxRow] = field(default_factory=list)


def _optional_int(value: Any) -> int | None:
    if value in (None, "", "-"):
        return None
    return int(value)


def _optional_str(value: Any) -> str | None:
    if value in (None, "", "-"):
        return None
    return str(value)


def _normalize_timestamp(value: str) -> str:
    """Archives may shorten timestamps; pad to 14 digits the way Wayback does (missing parts = earliest)."""
    if not _TIMESTAMP.match(value):
        raise ValueError(f"bad timestamp {value!r}")
    padded = value + "0101000000"[len(value) - 4 :] if len(value) < 14 else value
    datetime.strptime(padded, "%Y%m%d%H%M%S")  # rejects month 13, second 61 ...
    return padded


def _record(timestamp: str, url: str, mimetype: Any, status: Any, digest: Any, length: Any,
            urlkey: Any = None) -> CdxRecord:
    if not _URL.match(url or ""):
        raise ValueError(f"bad original URL {url!r}")
    return CdxRecord(
        timestamp=_normalize_timestamp(str(timestamp)),
        original_url=url,
        status=_optional_int(status),
        mimetype=_optional_str(mimetype),
        digest=_optional_str(digest),
        length=_optional_int(length),
        urlkey=_optional_str(urlkey),
    )


def _from_mapping(row: dict[str, Any]) -> CdxRecord:
    return _record(
        row["timestamp"],
        row.get("original") or row.get("url"),
        row.get("mimetype", row.get("mime")),
        row.get("statuscode", row.get("status")),
        row.get("digest"),
        row.get("length"),
        row.get("urlkey"),
    )


def parse_cdx(body: bytes | str) -> CdxPage:
    """Parse one CDX response body in any supported dialect."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    stripped = text.strip()
    if stripped.startswith("["):
        return _parse_json_array(stripped)
    return _parse_lines(text)


def _parse_json_array(text: str) -> CdxPage:
    page = CdxPage()
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        page.errors.append(MalformedCdxRow(f"CDX response is not valid JSON ({exc.msg})", text[:200]))
        return page
    if not rows:
        return page
    header = [str(name) for name in rows[0]]
    body_rows = rows[1:]
    # showResumeKey: ..., [], ["key"]
    if len(body_rows) >= 2 and body_rows[-2] == [] and len(body_rows[-1]) == 1:
        page.resume_key = str(body_rows[-1][0])
        body_rows = body_rows[:-2]
    for row in body_rows:
        try:
            page.records.append(_from_mapping(dict(zip(header, row, strict=True))))
        except (ValueError, KeyError, TypeError) as exc:
            page.errors.append(MalformedCdxRow(f"malformed CDX row ({exc})", json.dumps(row)))
    return page


def _parse_lines(text: str) -> CdxPage:
    page = CdxPage()
    lines = text.splitlines()
    # Plain-text resume key: the last non-empty line follows a blank line and has no spaces.
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) >= 2 and not lines[-2].strip() and " " not in lines[-1].strip():
        page.resume_key = lines[-1].strip()
        lines = lines[:-2]
    for line in lines:
        if not line.strip():
            continue
        try:
            page.records.append(_parse_line(line))
        except (ValueError, KeyError, TypeError) as exc:
            page.errors.append(MalformedCdxRow(f"malformed CDX row ({exc})", line))
    return page


def _parse_line(line: str) -> CdxRecord:
    stripped = line.strip()
    if stripped.startswith("{"):
        return _from_mapping(json.loads(stripped))
    parts = stripped.split(" ", 2)
    if len(parts) == 3 and parts[2].startswith("{"):  # CDXJ: urlkey timestamp {json}
        data = json.loads(parts[2])
        return _from_mapping({"urlkey": parts[0], "timestamp": parts[1], **data})
    fields = stripped.split(" ")
    if len(fields) != len(IA_FIELDS):
        raise ValueError(f"expected {len(IA_FIELDS)} fields, got {len(fields)}")
    return _from_mapping(dict(zip(IA_FIELDS, fields)))


def unique_records(records: Iterable[CdxRecord]) -> list[CdxRecord]:
    """Drop repeated rows (the Internet Archive repeats rows across and within pages) keeping first
    occurrences, and sort by timestamp. One capture per timestamp: the first listed wins."""
    seen: set[str] = set()
    unique: list[CdxRecord] = []
    for record in records:
        if record.timestamp in seen:
            continue
        seen.add(record.timestamp)
        unique.append(record)
    unique.sort(key=lambda r: r.timestamp)
    return unique
