"""Schema and connections: the migration matches the models, database URLs resolve, SQLite is tuned."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from core.errors import ConfigurationError
from storage import DEFAULT_DB_URL, Base, add_site, open_database, resolve_db_url
from storage.db import ENV_VAR
from storage.migrate import alembic_config, current_revision, head_revision, main
from storage.search import is_search_object
from storage.testing import _free_port


def test_migrated_schema_matches_the_models(backend_db_url):
    database = open_database(backend_db_url)
    try:
        with database.engine.connect() as connection:
            # The search index has no model on purpose; storage.search registers its names (as env.py uses).
            include_name = lambda name, type_, parents: not is_search_object(name)  # noqa: E731
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            )
            assert compare_metadata(context, Base.metadata) == []
            # Autogenerate does not compare CHECK constraints: compare their names directly.
            inspector = inspect(connection)
            for table in Base.metadata.sorted_tables:
                wanted = {c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"}
                found = {c["name"] for c in inspector.get_check_constraints(table.name)}
                assert found == wanted, table.name
        assert current_revision(database.engine) == head_revision()
    finally:
        database.dispose()


def test_sqlite_ddl_from_migration_is_identical_to_the_models(tmp_path):
    """Stricter than autogenerate on SQLite: byte-identical CREATE statements (incl. AUTOINCREMENT)."""
    open_database(str(tmp_path / "migrated.db")).dispose()
    engine = create_engine(f"sqlite:///{tmp_path / 'created.db'}")
    Base.metadata.create_all(engine)
    engine.dispose()

    def ddl(path: Path) -> dict[str, tuple[list[str], set[str]]]:
        """name -> (column definitions in order, table constraints in any order)."""
        with sqlite3.connect(path) as connection:
            rows = connection.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        result = {}
        for name, sql in rows:
            if "alembic" in name or is_search_object(name):
                continue
            head, _, body = sql.partition("(")
            parts = [" ".join(p.split()) for p in _top_level_items(body.rstrip().removesuffix(")"))]
            # A table rebuilt by batch mode is renamed into place, which SQLite records quoted.
            columns = [head.strip().replace('"', "")] + [p for p in parts if not p.startswith("CONSTRAINT")]
            result[name] = (columns, {p for p in parts if p.startswith("CONSTRAINT")})
        return result

    migrated, created = ddl(tmp_path / "migrated.db"), ddl(tmp_path / "created.db")
    assert migrated == created
    assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in migrated["versions"][0]
    assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in migrated["changes"][0]
    assert len(migrated["captures"][1]) == 6


def _top_level_items(body: str) -> list[str]:
    """The comma-separated items of a CREATE TABLE body (commas inside parentheses or quotes excluded).

    Not a split on commas before newlines: SQLite's ALTER TABLE ADD COLUMN writes the new column on the
    line of the column before it.
    """
    items: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in body:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


def test_upgrade_is_idempotent_and_downgrade_removes_everything(backend_db_url):
    open_database(backend_db_url).dispose()
    database = open_database(backend_db_url)  # second open: nothing to do, data intact
    try:
        with database.session() as session:
            add_site(session, "example.com", "https://example.com/privacy")
        with database.engine.connect() as connection:
            command.downgrade(alembic_config(connection=connection), "base")
            connection.commit()
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        assert current_revision(database.engine) is None
    finally:
        database.dispose()
    open_database(backend_db_url).dispose()  # and back up again


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    database = open_database(str(tmp_path / "p.db"))
    try:
        with database.engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("foreign_keys") == 1
            assert pragma("journal_mode") == "wal"
            assert pragma("busy_timeout") >= 1000
        with pytest.raises(Exception, match="FOREIGN KEY"):
            with database.session() as session:
                session.execute(text("INSERT INTO pages (site_id, url, created_at) VALUES (999, 'x', '2020-01-01')"))
    finally:
        database.dispose()


def test_sqlite_savepoints_roll_back_only_their_part(tmp_path):
    """pysqlite's own transaction handling breaks SAVEPOINT; db.py takes it over."""
    database = open_database(str(tmp_path / "p.db"))
    try:
        with database.session() as session:
            add_site(session, "kept.example", "https://kept.example/p")
            nested = session.begin_nested()
            add_site(session, "dropped.example", "https://dropped.example/p")
            nested.rollback()
        with database.session() as session:
            hosts = session.execute(text("SELECT hostname FROM sites")).scalars().all()
        assert hosts == ["kept.example"]
    finally:
        database.dispose()


# --- URL resolution ---------------------------------------------------------------------------------


def test_resolve_db_url_prefers_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_db_url() == DEFAULT_DB_URL == "sqlite:///policytrack.db"
    monkeypatch.setenv(ENV_VAR, "sqlite:////var/env.db")
    assert resolve_db_url() == "sqlite:////var/env.db"
    assert resolve_db_url("sqlite:////var/arg.db") == "sqlite:////var/arg.db"
    monkeypatch.setenv(ENV_VAR, "  ")
    assert resolve_db_url() == DEFAULT_DB_URL


def test_resolve_db_url_reads_paths_as_sqlite_and_postgres_as_psycopg(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_db_url("data/p.db") == "sqlite:///data/p.db"
    assert resolve_db_url("/abs/p.db") == "sqlite:////abs/p.db"
    assert resolve_db_url("postgresql://u:pw@db.example/pt") == "postgresql+psycopg://u:pw@db.example/pt"
    assert resolve_db_url("postgres://u@db.example/pt") == "postgresql+psycopg://u@db.example/pt"
    with pytest.raises(ConfigurationError, match="unsupported database"):
        resolve_db_url("mysql://u@db.example/pt")
    with pytest.raises(ConfigurationError, match="invalid database URL"):
        resolve_db_url("not a url://")


def test_open_database_creates_the_default_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    open_database().dispose()
    assert (tmp_path / "policytrack.db").is_file()


def test_open_database_errors_are_one_line_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        open_database(str(tmp_path / "missing-dir" / "p.db"))
    with pytest.raises(ConfigurationError, match="cannot open database"):
        open_database(f"postgresql://nobody@127.0.0.1:{_free_port()}/none")


def test_open_database_refuses_a_schema_newer_than_this_code(tmp_path):
    path = tmp_path / "future.db"
    open_database(str(path)).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ConfigurationError, match="newer version of policytrack"):
        open_database(str(path))


def test_migrate_module_runs_alembic_commands_without_an_ini_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "cli.db"))
    main(["upgrade", "head"])
    main(["current"])
    assert f"{head_revision()} (head)" in capsys.readouterr().out


def test_in_memory_sqlite_keeps_one_database_across_sessions():
    database = open_database("sqlite://")
    try:
        with database.session() as session:
            add_site(session, "example.com", "https://example.com/privacy")
        with database.session() as session:
            assert session.execute(text("SELECT hostname FROM sites")).scalars().all() == ["example.com"]
    finally:
        database.dispose()


def test_passwords_stay_out_of_messages():
    port = _free_port()
    with pytest.raises(ConfigurationError) as error:
        open_database(f"postgresql://user:s3cret@127.0.0.1:{port}/db")
    assert "s3cret" not in str(error.value) and "***" in str(error.value)
    assert "s3cret" not in repr(open_database(f"postgresql://user:s3cret@127.0.0.1:{port}/db", migrate=False))
