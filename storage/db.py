"""Where the database is, and how connections to it behave.

One resolution rule for the whole application (CLI, crawler, scheduler, Alembic's env.py): an explicit
URL, else ``$POLICYTRACK_DB``, else ``policytrack.db`` in the working directory. SQLite is tuned once, in
a connect event, for a crawler that writes from worker threads while the CLI reads: WAL so readers never
block the writer, a busy timeout so a second writer waits instead of failing, foreign keys enforced.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from core.errors import ConfigurationError

DEFAULT_DB_URL = "sqlite:///policytrack.db"
ENV_VAR = "POLICYTRACK_DB"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
BUSY_TIMEOUT_MS = 30_000
# Connection execution option read by the SQLite "begin" hook: take the write lock at BEGIN.
BEGIN_IMMEDIATE = "policytrack_begin_immediate"


def resolve_db_url(url: str | None = None) -> str:
    """The database URL to use: ``url`` > ``$POLICYTRACK_DB`` > :data:`DEFAULT_DB_URL`.

    A value without ``://`` is a path to a SQLite file. ``postgresql://`` and ``postgres://`` get the
    psycopg 3 driver, the one policytrack installs.
    """
    chosen = next((c.strip() for c in (url, os.environ.get(ENV_VAR)) if c and c.strip()), DEFAULT_DB_URL)
    if "://" not in chosen:
        chosen = "sqlite:///" + str(Path(chosen).expanduser())
    try:
        parsed = make_url(chosen)
    except ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL {chosen!r}: {exc}") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ConfigurationError(
            f"unsupported PostgreSQL driver {parsed.get_driver_name()!r} in "
            f"{parsed.render_as_string(hide_password=True)!r}: policytrack uses psycopg 3, "
            "write postgresql://... or postgresql+psycopg://..."
        )
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigurationError(
            f"unsupported database {parsed.render_as_string(hide_password=True)!r}: use a SQLite path "
            "or a postgresql:// URL"
        )
    return parsed.render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for another backend, an in-memory or a ``file:`` URI database."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def require_existing(url: str | None = None) -> str:
    """The resolved URL, refusing a SQLite file that does not exist: only ``init``/``add`` create one,
    so a mistyped ``--db`` is an error rather than a new empty database."""
    resolved = resolve_db_url(url)
    path = sqlite_file(resolved)
    if path is not None and not path.exists():
        raise ConfigurationError(
            f"database {str(path)!r} does not exist (check --db or $POLICYTRACK_DB; "
            "'policytrack init' or 'policytrack add SITE URL' creates one)"
        )
    return resolved


def _read_only(path: Path) -> bool:
    """A SQLite file this process cannot write: it is opened read-only (queries work, writes are refused)."""
    return path.exists() and not os.access(path, os.W_OK)


# Rows sampled per index by refresh_statistics (SQLite's recommended range is 100-1000).
ANALYSIS_LIMIT = 400


def is_read_only(engine: Engine) -> bool:
    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    return path is not None and _read_only(path)


def _sqlite_connect(dbapi_connection: Any, _record: Any, *, read_only: bool = False) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_begin): pysqlite's own implicit BEGIN breaks
    # SAVEPOINT and would keep journal_mode from being set.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not read_only:  # the journal mode is written into the file: a writer's job
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, and much faster
    finally:
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(url: str | None = None) -> Engine:
    """An engine for the resolved URL, with the SQLite connection behaviour installed. No schema work."""
    resolved = resolve_db_url(url)
    parsed = make_url(resolved)
    kwargs: dict[str, Any] = {}
    read_only = False
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        path = sqlite_file(resolved)
        if database in ("", ":memory:"):
            # One shared connection, or every checkout would see a different, empty database.
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        elif path is not None and _read_only(path):
            read_only = True
            # SQLite's own read-only mode. A WAL database still needs its -shm file, which SQLite creates
            # beside it; where it cannot (a read-only folder, and no writer has one open), the file can
            # change only through someone with more rights than us, so it is read as immutable.
            frozen = "" if os.access(path.resolve().parent, os.W_OK) else "&immutable=1"
            kwargs["creator"] = functools.partial(
                sqlite3.connect, f"{path.resolve().as_uri()}?mode=ro{frozen}", uri=True, check_same_thread=False
            )
        elif path is not None:
            parent = path.resolve().parent
            if not parent.is_dir():
                raise ConfigurationError(f"cannot create database {database!r}: directory {str(parent)!r} does not exist")
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(resolved, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", functools.partial(_sqlite_connect, read_only=read_only))
        event.listen(engine, "begin", _sqlite_begin)
    return engine


class Database:
    """An engine plus the session discipline every caller uses."""

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url
        # Objects stay readable after commit: callers often log what they just wrote.
        self._sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
        self._immediate_sessionmaker = sessionmaker(
            bind=engine.execution_options(**{BEGIN_IMMEDIATE: True}), expire_on_commit=False
        )

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for logs and messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self, *, immediate: bool = False) -> Iterator[Session]:
        """A session that commits on success, rolls back on exception and is always closed.

        ``immediate=True`` takes SQLite's write lock at BEGIN. Use it for read-then-write work that may
        race another process: a deferred transaction that read an older snapshot cannot upgrade to a
        writer and fails at once instead of waiting out the busy timeout. No effect on PostgreSQL.
        """
        factory = self._immediate_sessionmaker if immediate else self._sessionmaker
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def unreachable(self) -> str | None:
        """None if the database answers now; else why not, in one line (no URL, so no password).

        For long-running processes that must wait out a database restart instead of failing work."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        return None

    def refresh_statistics(self) -> None:
        """Refresh SQLite's query-planner statistics, sampled (``analysis_limit``: a few hundred rows per
        index: 1.3 s cold, 0.09 s warm on a 49 GB database of a million versions).

        The read queries were tuned, and are benchmarked, on a database with statistics; a user's
        database built by crawls has none unless someone runs ANALYZE, and SQLite before 3.46 only
        analyzes tables the same connection has queried. Called after each crawl run. PostgreSQL's
        autovacuum keeps its statistics itself; a read-only SQLite file is left as it is.
        """
        if self.engine.dialect.name != "sqlite" or is_read_only(self.engine):
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"


def open_database(url: str | None = None, *, migrate: bool = True, create: bool = True) -> Database:
    """Open the database; with ``migrate`` bring its schema to the latest revision.

    A SQLite file is created only with ``create`` (see :func:`require_existing`); one this process cannot
    write is opened read-only, and must already be at the latest revision. Failures to reach or upgrade
    the database become :class:`ConfigurationError` with a one-line message.
    """
    from storage.migrate import upgrade  # migrate imports this module

    engine = create_db_engine(url if create else require_existing(url))
    database = Database(engine, engine.url.render_as_string(hide_password=False))
    if migrate:
        try:
            upgrade(engine, read_only=is_read_only(engine))
        except ConfigurationError:
            database.dispose()
            raise
        except SQLAlchemyError as exc:
            database.dispose()
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__]
            first_line = detail[0]
            raise ConfigurationError(f"cannot open database {database.display_url}: {first_line}") from exc
    return database
