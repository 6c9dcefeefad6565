"""Alembic, configured in code so migrations run from an installed package with no ``alembic.ini``.

Developers can still use every Alembic command through this module, which resolves the database the
same way the application does::

    python -m storage.migrate current
    python -m storage.migrate revision --autogenerate -m "add a column"
    POLICYTRACK_DB=postgresql://... python -m storage.migrate upgrade head
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import CommandLine, Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from core.errors import ConfigurationError
from storage.db import BEGIN_IMMEDIATE, resolve_db_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """An Alembic config for ``url`` (resolved as the app does), or for an already open ``connection``."""
    config = Config(stdout=sys.stdout)  # Alembic's default is the sys.stdout of import time
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    else:
        # ConfigParser interpolation would read '%' in a password as a reference.
        config.set_main_option("sqlalchemy.url", resolve_db_url(url).replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _at_head(engine: Engine) -> bool:
    """Whether the schema is current, checked without Alembic (which logs on every look)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return list(found) == [head_revision()]


def upgrade(engine: Engine, revision: str = "head", *, read_only: bool = False) -> None:
    """Bring the schema to ``revision`` in one transaction (SQLite DDL is transactional too)."""
    if revision == "head" and _at_head(engine):
        return
    if read_only:
        raise ConfigurationError(
            f"database {engine.url.render_as_string(hide_password=True)} is read-only and needs an upgrade "
            "to this version of policytrack: open it once with write access"
        )
    # IMMEDIATE: two processes opening a fresh SQLite file at once serialize here instead of racing.
    with engine.connect().execution_options(**{BEGIN_IMMEDIATE: True}) as connection:
        try:
            command.upgrade(alembic_config(connection=connection), revision)
        except CommandError as exc:
            # The usual cause: a database written by a newer policytrack than this one.
            raise ConfigurationError(
                f"cannot migrate database {engine.url.render_as_string(hide_password=True)}: {exc} "
                "(was it created by a newer version of policytrack?)"
            ) from exc
        connection.commit()


def main(argv: Sequence[str] | None = None) -> None:
    cli = CommandLine(prog="python -m storage.migrate")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    cli.run_cmd(alembic_config(), options)


if __name__ == "__main__":
    main(sys.argv[1:])
