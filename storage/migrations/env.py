"""Alembic environment for policytrack.

The database comes from the application's own resolution (``storage.db.resolve_db_url``) or from a
connection handed over by ``storage.migrate.upgrade``; there is no ``alembic.ini``. On SQLite, migrations
use batch mode (SQLite cannot ALTER most things in place), run with foreign keys off as batch table
rebuilds require, and are checked with ``PRAGMA foreign_key_check`` before they commit.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base
from storage.search import is_search_object
from storage.scheduling import is_scheduler_object

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """Leave out what has no model on purpose: the full-text search index (storage.search) and
    APScheduler's job table, which APScheduler creates and owns (storage.scheduling)."""
    return not (is_search_object(name) or is_scheduler_object(name))


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # The pragma is a no-op inside a transaction, so it is sent on the raw connection before BEGIN.
    raw = connection.connection.driver_connection if sqlite and not connection.in_transaction() else None
    if raw is not None:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            transactional_ddl=True,  # SQLite supports it too: a failed migration leaves nothing half-done
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"migration broke foreign keys: {problems[:5]}")
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from storage.db import create_db_engine

    engine = create_db_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=config.get_main_option("sqlalchemy.url", "").startswith("sqlite"),
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
