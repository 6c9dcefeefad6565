"""CDX parsing against every dialect, including real recorded Internet Archive responses."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from crawler.archive import Archive
from crawler.cdx import CdxRecord, parse_cdx, unique_records
from core.errors import ConfigurationError, MalformedCdxRow

IA_TEXT = (
    "com,example)/privacy 20100101000000 http://example.com/privacy text/html 200 AAAA 1200\n"
    "com,example)/privacy 20110101000000 http://example.com/privacy text/html 301 BBBB -\n"
    "com,example)/privacy 20120101000000 http://example.com/privacy warc/revisit - AAAA 300\n"
)


def test_ia_plain_text_rows_are_typed():
    page = parse_cdx(IA_TEXT)
    assert page.errors == [] and page.resume_key is None
    first, redirect, revisit = page.records
    assert first == CdxRecord("20100101000000", "http://example.com/privacy", 200, "text/html", "AAAA", 1200,
                              "com,example)/privacy")
    assert redirect.is_redirect and redirect.length is None
    assert revisit.is_revisit and revisit.status is None
    assert first.captured_at.year == 2010 and first.captured_at.tzinfo is not None


def test_ia_plain_text_resume_key_after_blank_line():
    page = parse_cdx(IA_TEXT + "\ncom%2Cexample%29%2Fprivacy+20120101000001\n")
    assert len(page.records) == 3
    assert page.resume_key == "com%2Cexample%29%2Fprivacy+20120101000001"


def test_ia_json_array_with_header_and_resume_key():
    rows = [
        ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"],
        ["com,example)/p", "20100101000000", "http://example.com/p", "text/html", "200", "AAAA", "10"],
        [],
        ["next-key"],
    ]
    page = parse_cdx(json.dumps(rows))
    assert [r.timestamp for r in page.records] == ["20100101000000"]
    assert page.resume_key == "next-key"


def test_pywb_json_lines_use_url_mime_status():
    line = {"urlkey": "com,example)/p", "timestamp": "20100101000000", "url": "https://example.com/p",
            "mime": "text/html", "status": "200", "digest": "AAAA", "length": "362"}
    page = parse_cdx(json.dumps(line) + "\n" + json.dumps({**line, "timestamp": "20110101000000"}) + "\n")
    assert [(r.original_url, r.mimetype, r.status) for r in page.records] == [("https://example.com/p", "text/html", 200)] * 2


def test_cdxj_text_lines():
    page = parse_cdx('com,example)/p 20100101000000 {"url": "https://example.com/p", "mime": "text/html", "status": "200"}\n')
    assert page.records[0].status == 200 and page.records[0].digest is None


def test_malformed_rows_are_reported_with_the_line_and_good_rows_kept():
    text = IA_TEXT + "garbage line\ncom,example)/p 2010130199 http://example.com/p text/html 200 X 1\n"
    page = parse_cdx(text)
    assert len(page.records) == 3
    assert len(page.errors) == 2
    assert all(isinstance(e, MalformedCdxRow) for e in page.errors)
    assert page.errors[0].line == "garbage line"
    assert "2010130199" in str(page.errors[1])


def test_short_timestamps_are_padded_like_wayback():
    page = parse_cdx("com,example)/p 2010 http://example.com/p text/html 200 X 1\n")
    assert page.records[0].timestamp == "20100101000000"


def test_unique_records_drops_repeats_and_sorts():
    records = parse_cdx(IA_TEXT + IA_TEXT.splitlines()[0] + "\n").records
    assert [r.timestamp for r in unique_records(reversed(records))] == ["20100101000000", "20110101000000", "20120101000000"]


def test_archive_specs():
    ia = Archive.parse(None)
    assert ia.cdx_url("https://example.com/privacy").startswith("https://web.archive.org/cdx/search/cdx?url=https%3A%2F%2Fexample.com%2Fprivacy")
    assert "showResumeKey=true" in ia.cdx_url("x") and "resumeKey=k" in ia.cdx_url("x", "k")
    assert ia.capture_url("20100101000000", "https://e.com/p") == "https://web.archive.org/web/20100101000000id_/https://e.com/p"
    pywb = Archive.parse("pywb:http://127.0.0.1:8080/coll/")
    assert pywb.cdx_url("https://e.com/p") == "http://127.0.0.1:8080/coll/cdx?url=https%3A%2F%2Fe.com%2Fp&output=json"
    assert pywb.capture_url("20100101000000", "https://e.com/p") == "http://127.0.0.1:8080/coll/20100101000000id_/https://e.com/p"
    for bad in ("ftp://x", "pywb:http://127.0.0.1:8080", "https://web.archive.org/web", "nonsense", "", " "):  # blank: not the default
        with pytest.raises(ConfigurationError):
            Archive.parse(bad)


# --- recorded Internet Archive responses (../shared/wayback-recordings) ------------------------------
def _cassette_bodies(shared: Path, name: str) -> list[tuple[int, str]]:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load((shared / "wayback-recordings" / "cassettes" / f"{name}.yaml").read_text())
    bodies = []
    for interaction in data["interactions"]:
        body = interaction["response"]["body"]["string"]
        if isinstance(body, bytes):
            try:
                body = gzip.decompress(body)
            except OSError:
                pass
            body = body.decode("utf-8", errors="replace")
        bodies.append((interaction["response"]["status"]["code"], body))
    return bodies


def test_recorded_multipage_search_pages_chain_by_resume_key(shared_dir):
    pages = [parse_cdx(body) for _, body in _cassette_bodies(shared_dir, "test_search_multipage")]
    assert all(not p.errors for p in pages)
    assert all(p.resume_key for p in pages[:-1])
    records = unique_records(r for p in pages for r in p.records)
    timestamps = [r.timestamp for r in records]
    assert timestamps == sorted(set(timestamps))
    # the archive repeats rows within and across pages; unique_records removes exactly those
    assert len(records) < sum(len(p.records) for p in pages)


def test_recorded_malformed_cdx_file(shared_dir):
    text = (shared_dir / "wayback-recordings" / "cdx-files" / "malformed_cdx.txt").read_text()
    page = parse_cdx(text)
    assert page.records, "the good rows survive"
    assert page.errors and all(e.line for e in page.errors)


def test_recorded_bad_timestamp_and_zero_length_files(shared_dir):
    folder = shared_dir / "wayback-recordings" / "cdx-files"
    bad = parse_cdx((folder / "bad_timestamp_cdx.txt").read_text())
    assert bad.errors
    zero = parse_cdx((folder / "zero_length_cdx.txt").read_text())
    assert zero.records and not zero.errors
