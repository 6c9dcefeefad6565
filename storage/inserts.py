"""Idempotent inserts: ``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL alike.

Unique constraints define what "the same row" means (a capture per page+timestamp, a snapshot per
payload hash, ...); inserting through them makes every write safe to repeat, and safe when two writers
race, without a read-then-write window.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from storage.models import Base


def insert_ignoring_conflicts(session: Session, model: type[Base], rows: list[dict[str, Any]], keys: list[str]) -> int:
    """Insert ``rows``, silently skipping any that collide on the unique ``keys``; returns rows inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    table = cast(Table, model.__table__)
    statement: postgresql.Insert | sqlite.Insert
    if dialect.name == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    elif dialect.name == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    else:  # resolve_db_url refuses other databases; this guards direct engine use
        raise ConfigurationError(f"unsupported database dialect {dialect.name!r}")
    if len(rows) > 1:
        session.execute(statement, rows)
        return len(rows)
    if dialect.name == "postgresql" or dialect.insert_returning:
        # PostgreSQL adds an implicit RETURNING that hides the rowcount; ask for the row explicitly.
        returning = statement.returning(*table.primary_key.columns)
        return int(session.execute(returning, rows[0]).first() is not None)
    result = cast(CursorResult[Any], session.execute(statement, rows[0]))
    return max(result.rowcount, 0)
