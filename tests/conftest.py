"""Shared fixtures: one real pywb server per test session, one collection per test.

pywb discovers collections dynamically, so a collection added while the server runs is served at
once (tests/test_localarchive.py checks it); sharing the server saves ~1 s of start-up per test.
The logic lives in policytrack.localarchive; this file only wires it into pytest.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from policytrack.localarchive import LocalArchive, WarcCapture, build_sample_collection

REPO_ROOT = Path(__file__).resolve().parents[1]
_collection_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def local_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalArchive]:
    """A started LocalArchive in a temporary root, stopped at the end of the session."""
    with LocalArchive(tmp_path_factory.mktemp("pywb")) as archive:
        yield archive


@pytest.fixture
def archive_factory(local_archive: LocalArchive, request: pytest.FixtureRequest) -> Callable[..., str]:
    """``archive_factory(captures, warcs=()) -> "pywb:http://127.0.0.1:PORT/COLL"`` (a new collection each call)."""

    def make(captures: Iterable[WarcCapture] = (), *, warcs: Iterable[Path] = ()) -> str:
        # The test's name in the collection name makes pywb.log and the archive root easy to read.
        label = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60].strip("-")
        name = f"t{next(_collection_numbers):04d}-{label}"
        return local_archive.add_collection(name, list(captures) or None, warcs=warcs)

    return make


@pytest.fixture(scope="session")
def sample_archive(local_archive: LocalArchive) -> str:
    """Archive spec of the bundled sample archive (sample/), served by the session's pywb."""
    return build_sample_collection(local_archive, "sample")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, migrated storage.Database on each backend; the PostgreSQL run is skipped, with the reason,
    where no server can be started here (storage.testing starts one throwaway cluster per session)."""
    from storage.testing import PostgresUnavailable, shared_server, temporary_database

    if request.param == "postgresql":
        try:
            shared_server()
        except PostgresUnavailable as exc:
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
    with temporary_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL (no schema yet) on each backend: for the migrations, and for end-to-end
    runs of the CLI (crawl, scheduler). The PostgreSQL run is skipped, with the reason, where no server can
    be started here."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    yield from _postgres_database()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database URL (skipped, with the reason, where no server can be started)."""
    yield from _postgres_database()


def _postgres_database() -> Iterator[str]:
    from storage.testing import PostgresUnavailable, shared_server

    try:
        server = shared_server()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database URL in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def shared_dir() -> Path:
    """The read-only shared data (corpus, recorded Wayback responses); skips the test when absent."""
    path = Path(os.environ.get("POLICYTRACK_SHARED") or REPO_ROOT.parent / "shared").resolve()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set POLICYTRACK_SHARED to its location)")
    return path
