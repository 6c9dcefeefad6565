"""Full-text search over version texts, paragraph by paragraph: SQLite FTS5 / PostgreSQL tsvector.

Revision ID: 0002_search
Revises: 0001
Create Date: 2026-12-01

Consecutive versions of a policy share most of their paragraphs, so the index holds each distinct
paragraph ("block") once: ``search_blocks`` (keyed by a 16-byte digest of its text) is indexed, and
``search_block_texts`` (SQLite: one row per pair) / ``search_text_blocks`` (PostgreSQL: one array of
block ids per text) say which version texts contain which block. Indexing whole texts instead made
the index ~40% of the raw text of a 100-version history; by blocks it is a few percent.

Version bodies are stored zstd-compressed, so the database cannot index them by itself: Python feeds
the index (``storage.search.catch_up``). A trigger puts every new ``version_texts`` row in
``search_queue`` in the same transaction that inserts it, so nothing that writes texts has to remember
the index, and a search first drains the queue: it is correct right after any write, bulk loads
included. Texts that existed before this migration are queued here.

None of these objects has a model: they are registered in ``storage.search.SEARCH_SCHEMA_NAMES`` and
excluded from the models-vs-schema comparison by name (``storage/migrations/env.py``). The names are
spelled out here rather than imported so that this file never changes.

Also two ordinary indexes, declared in storage/models.py like any other: ``changes.after_timestamp``
(``changes --since`` lists the newest changes of all sites) and ``versions.text_id`` (matching texts to
versions).

SQLite: ``search_blocks_fts`` is an external-content FTS5 table over ``search_blocks.text``.
PostgreSQL: a GIN index on ``to_tsvector('simple', text)`` of ``search_blocks``.
Caution for later migrations: a batch ("move and copy") rebuild of ``version_texts`` on SQLite drops the
trigger with the old table; such a migration must recreate it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_search"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Modelled (storage/models.py): for `changes --since` and for mapping matching texts to versions.
    op.create_index(op.f("ix_changes_after_timestamp"), "changes", ["after_timestamp"], unique=False)
    op.create_index(op.f("ix_versions_text_id"), "versions", ["text_id"], unique=False)
    op.execute(
        "CREATE TABLE search_queue ("
        "text_id INTEGER NOT NULL PRIMARY KEY REFERENCES version_texts (id) ON DELETE CASCADE)"
    )
    if sqlite:
        op.execute(
            "CREATE TABLE search_blocks (id INTEGER NOT NULL PRIMARY KEY, digest BLOB NOT NULL UNIQUE, "
            "text TEXT NOT NULL)"
        )
        op.execute(
            "CREATE VIRTUAL TABLE search_blocks_fts USING fts5(text, content='search_blocks', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TABLE search_block_texts (block_id INTEGER NOT NULL, "
            "text_id INTEGER NOT NULL REFERENCES version_texts (id) ON DELETE CASCADE, "
            "PRIMARY KEY (block_id, text_id)) WITHOUT ROWID"
        )
        op.execute("CREATE INDEX ix_search_block_texts_text_id ON search_block_texts (text_id)")
        op.execute(
            "CREATE TRIGGER search_enqueue AFTER INSERT ON version_texts BEGIN "
            "INSERT OR IGNORE INTO search_queue (text_id) VALUES (NEW.id); END"
        )
    else:
        # The tsvector is not stored: the GIN index is on the expression, which queries repeat.
        op.execute(
            "CREATE TABLE search_blocks (id SERIAL PRIMARY KEY, digest BYTEA NOT NULL UNIQUE, text TEXT NOT NULL)"
        )
        op.execute("CREATE INDEX ix_search_blocks_document ON search_blocks USING gin (to_tsvector('simple', text))")
        # One row per text with its blocks as an array (GIN-indexed): a row per (block, text) pair costs
        # PostgreSQL ~40 bytes of tuple header and two btree entries, ten times the array.
        op.execute(
            "CREATE TABLE search_text_blocks ("
            "text_id INTEGER NOT NULL PRIMARY KEY REFERENCES version_texts (id) ON DELETE CASCADE, "
            "block_ids INTEGER[] NOT NULL)"
        )
        op.execute("CREATE INDEX ix_search_text_blocks_block_ids ON search_text_blocks USING gin (block_ids)")
        op.execute(
            "CREATE FUNCTION search_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO search_queue (text_id) VALUES (NEW.id) ON CONFLICT DO NOTHING; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER search_enqueue AFTER INSERT ON version_texts "
            "FOR EACH ROW EXECUTE FUNCTION search_enqueue()"
        )
    op.execute(sa.text("INSERT INTO search_queue (text_id) SELECT id FROM version_texts"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_enqueue")
        op.execute("DROP TABLE search_blocks_fts")
        op.execute("DROP TABLE search_block_texts")
    else:
        op.execute("DROP TRIGGER IF EXISTS search_enqueue ON version_texts")
        op.execute("DROP FUNCTION IF EXISTS search_enqueue()")
        op.execute("DROP TABLE search_text_blocks")
    op.execute("DROP TABLE search_blocks")
    op.execute("DROP TABLE search_queue")
    op.drop_index(op.f("ix_versions_text_id"), table_name="versions")
    op.drop_index(op.f("ix_changes_after_timestamp"), table_name="changes")
