"""Indexes for the web view's reads at a million versions.

Revision ID: 0008_web_indexes
Revises: 0004_page_listings
Create Date: 2026-12-07

- ``version_texts (id, words, chars)``: a change listing reads the word counts of both sides' texts; the
  counts sit after the compressed body in the row, so without a covering index every lookup walks the
  body's overflow pages (``changes --since 90 days``: half the time at 50,000 versions).
- ``versions (text_id, page_id, first_seen)``: a search maps matching texts to versions and sites without
  reading version rows.
- ``changes (created_at)``: the Atom feeds list the most recently detected changes.

Matches the indexes at the end of storage/models.py; tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_web_indexes"
down_revision: str | None = "0007_renormalize"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_version_texts_id_words_chars": ("version_texts", ["id", "words", "chars"]),
    "ix_versions_text_id_page_id_first_seen": ("versions", ["text_id", "page_id", "first_seen"]),
    "ix_changes_created_at": ("changes", ["created_at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table, if_exists=True)
