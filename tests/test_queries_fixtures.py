"""Shared by the query and export tests: databases on both backends, built through storage's write API.

No tests here; the test_queries*/test_exports* modules import from it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest

import storage
from policytrack.cli import main
from core.document import TIMESTAMP_SENTINEL, content_sha256


@pytest.fixture
def database(db):
    """A fresh, migrated database on each backend (the ``db`` fixture of tests/conftest.py)."""
    return db


@dataclass(frozen=True)
class Snap:
    """One capture of a page: its time and the normalized text it yields."""

    timestamp: str
    body: str
    title: str = "Privacy Policy"
    normalizer_version: str = "1"
    html: bytes | None = None  # the raw payload stored as the snapshot (default: derived from the body)


def record(database: storage.Database, site: str, snaps: Sequence[Snap], url: str | None = None,
           archive: str = "https://web.archive.org/web/") -> int:
    """Record captures of a page through storage's public write functions and rebuild its versions.

    ``archive``: the Wayback base the snapshots are recorded as fetched from."""
    url = url or f"https://{site}/privacy"
    with database.session() as session:
        page = storage.add_site(session, site, url)
        rows = []
        for snap in snaps:
            payload = snap.html or f"<html><body>{snap.body}</body></html>".encode()
            rows.append(storage.CdxRow(snap.timestamp, url, 200, "text/html",
                                       hashlib.sha1(payload).hexdigest(), len(payload)))
        storage.record_captures(session, page.page_id, rows, None)
        for snap, row in zip(snaps, rows):
            payload = snap.html or f"<html><body>{snap.body}</body></html>".encode()
            snapshot_id, _ = storage.store_snapshot(
                session, payload, http_status=200,
                headers=[("Content-Type", "text/html; charset=utf-8"), ("X-Archive-Orig-Server", "nginx"),
                         ("Memento-Datetime", "Mon, 01 Jan 2018 00:00:00 GMT")],
                url=f"{archive}{snap.timestamp}id_/{url}",
            )
            storage.record_normalized(
                session, storage.capture_id(session, page.page_id, snap.timestamp), snapshot_id=snapshot_id,
                content_sha256=content_sha256(snap.title, snap.body), title=snap.title, comparable_body=snap.body,
                extraction="readability", normalizer_version=snap.normalizer_version,
            )
        storage.rebuild_versions(session, page.page_id)
        return page.page_id


V2010 = """We collect your name and e-mail address when you register.

We do not sell, rent or trade your personal information.

Contact us at privacy@example.com.
"""
V2015 = """We collect your name, e-mail address and the pages you visit.

We do not sell, rent or trade your personal information.

We use cookies to remember you. See [our cookie page](https://web.archive.org/web/\ue000id_/https://example.com/cookies).

Contact us at privacy@example.com.
"""
V2019 = """We collect your name, e-mail address and the pages you visit.

Under the GDPR you may ask us for a copy of your data.

We use cookies to remember you and to measure our audience.

Contact us at privacy@example.com.
"""
V2021 = """We collect your name, e-mail address and the pages you visit.

Under the GDPR you may ask us for a copy of your data.

California residents: [Do Not Sell My Personal Information](https://example.com/dns).

Contact us at privacy@example.com.
"""
assert TIMESTAMP_SENTINEL in V2015

EXAMPLE_SNAPS = [
    Snap("20100301120000", V2010),
    Snap("20120101000000", V2010),  # same text: no new version
    Snap("20150615080000", V2015),
    Snap("20190110100000", V2019),
    Snap("20210201090000", V2021),
]
OTHER_SNAPS = [
    Snap("20110101000000", "We keep logs.\n\nWe do-not-sell anything.\n", title="Other"),
    Snap("20200101000000", "We keep logs.\n\nWe do not ever sell anything.\n", title="Other"),
]


def example_database(database: storage.Database) -> storage.Database:
    """example.com: 4 versions 2010-2021 (GDPR from 2019, "Do Not Sell" in 2021); other.org: 2 versions."""
    record(database, "example.com", EXAMPLE_SNAPS)
    record(database, "other.org", OTHER_SNAPS)
    return database


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def cli(database: storage.Database, *args: str) -> CliResult:
    """Run the policytrack CLI in-process on ``database``."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([*args, "--db", database.url])
    return CliResult(code, out.getvalue(), err.getvalue())
