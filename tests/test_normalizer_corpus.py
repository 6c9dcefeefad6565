"""Byte-exactness on the real corpus pairs in ../shared/corpus/pllcpp (skipped when that is absent).

Each ``.html`` is the dataset's saved copy of a capture, stored as UTF-8 whatever the page's own
``<meta charset>`` says, so it is handed over with ``Content-Type: text/html; charset=utf-8`` (see
bench/fidelity.py for the details).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crawler.normalizer import CaptureMeta, Normalizer

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO.parent / "shared" / "corpus" / "pllcpp"
CORPUS = CORPUS_DIR if (CORPUS_DIR / "index.tsv").is_file() else None
STORED_AS = (("Content-Type", "text/html; charset=utf-8"),)


def _rows() -> list[dict[str, str]]:
    if CORPUS is None:
        return []
    with open(CORPUS / "index.tsv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _rows()


def _strip_added_comment(raw: bytes) -> bytes:
    if not raw.lstrip().startswith(b"<!--The following"):
        return raw
    return raw[raw.index(b"-->") + 3:].lstrip(b"\r\n")


@pytest.fixture(scope="module")
def normalizer():
    with Normalizer(timeout=120) as instance:
        yield instance


@pytest.mark.skipif(CORPUS is None, reason=f"corpus pairs not found in {CORPUS_DIR}")
@pytest.mark.parametrize("row", ROWS or [None], ids=[row["md_file"] for row in ROWS] or ["no-corpus"])
def test_corpus_pair_is_reproduced_byte_for_byte(normalizer, row):
    assert CORPUS is not None and row is not None
    payload = _strip_added_comment((CORPUS / row["html_file"]).read_bytes())
    meta = CaptureMeta(site=row["domain"], original_url=row["original_url"], timestamp=row["timestamp"],
                       headers=STORED_AS)
    expected = (CORPUS / row["md_file"]).read_text(encoding="utf-8")
    result = normalizer.normalize(payload, meta)
    assert row["wayback_url"] in result.document
    assert result.document == expected
