"""Change summaries and per-site totals, stored so that feeds, timelines and the sites list never compute them.

Revision ID: 0011_change_summaries
Revises: 0010_search_mentions
Create Date: 2026-12-07

- ``changes.similarity``, ``changes.sections``: the rest of a change's summary (``storage.summary``; the
  line counts were stored already). An Atom feed or a timeline describing changes read two texts and diffed
  them per entry (300-600 ms a feed at 100,000 versions); the rebuild that creates a change has both texts
  at hand and now stores the summary (``storage.versions.rebuild_versions``, ``storage.bulkload``).
- ``sites.version_count``, ``sites.last_change``: kept by the functions that write versions
  (``storage.versions.refresh_site_totals``), with descending indexes, so the sites list sorted by versions
  or by last change reads an index instead of counting every site's versions per request.

Existing rows are filled here: the totals by one statement, the summaries by diffing each change's two texts
once, in batches, with the same function the rebuild uses (``storage.summary.summarize`` over the texts'
comparable lines). Matches storage.models exactly; tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import zstandard
from alembic import op

from storage.summary import document_lines, summarize

revision: str = "0011_change_summaries"
down_revision: str | None = "0010_search_mentions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_sites_version_count_hostname": "sites (version_count DESC, hostname)",
    "ix_sites_last_change_hostname": "sites (last_change DESC, hostname)",
}
BATCH = 500

# The changes of one batch with both texts (compressed bodies: zstd, the only codec storage writes).
_PAIRS = """
SELECT c.id, bt.title, bt.body, bt.compression, at.title, at.body, at.compression
FROM changes c
JOIN versions bv ON bv.id = c.from_version_id JOIN version_texts bt ON bt.id = bv.text_id
JOIN versions av ON av.id = c.to_version_id JOIN version_texts at ON at.id = av.text_id
WHERE c.similarity IS NULL AND c.id > :after ORDER BY c.id LIMIT :n
"""


def _lines(title: str, body: bytes, compression: str, decompressor: zstandard.ZstdDecompressor) -> list[str]:
    if compression != "zstd":
        raise ValueError(f"unsupported compression {compression!r}")
    return document_lines(title, decompressor.decompress(body).decode("utf-8"))


def fill_summaries(connection: sa.Connection) -> int:
    """Summarize every change stored without a summary; returns how many."""
    decompressor = zstandard.ZstdDecompressor()
    changes = sa.table("changes", sa.column("id"), sa.column("lines_added"), sa.column("lines_removed"),
                       sa.column("similarity"), sa.column("sections", sa.JSON()))
    done, after = 0, 0
    while True:
        rows = connection.execute(sa.text(_PAIRS), {"after": after, "n": BATCH}).all()
        if not rows:
            return done
        for change_id, title_a, body_a, comp_a, title_b, body_b, comp_b in rows:
            summary = summarize(_lines(title_a, body_a, comp_a, decompressor),
                                _lines(title_b, body_b, comp_b, decompressor))
            connection.execute(
                changes.update().where(changes.c.id == change_id).values(
                    lines_added=summary.lines_added, lines_removed=summary.lines_removed,
                    similarity=summary.similarity, sections=summary.sections)
            )
        done += len(rows)
        after = rows[-1][0]


def upgrade() -> None:
    op.add_column("sites", sa.Column("version_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("sites", sa.Column("last_change", sa.String(length=14), server_default="", nullable=False))
    op.add_column("changes", sa.Column("similarity", sa.Float(), nullable=True))
    op.add_column("changes", sa.Column("sections", sa.JSON(none_as_null=True), nullable=True))
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")
    # As storage.versions.refresh_site_totals, for every site (spelled out so that this file never changes).
    op.execute(
        "UPDATE sites SET "
        "version_count = (SELECT count(*) FROM pages p CROSS JOIN versions v WHERE v.page_id = p.id "
        "AND p.site_id = sites.id), "
        "last_change = coalesce((SELECT max(c.after_timestamp) FROM pages p CROSS JOIN changes c "
        "WHERE c.page_id = p.id AND p.site_id = sites.id), '')"
    )
    fill_summaries(op.get_bind())


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("sections")
        batch.drop_column("similarity")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("last_change")
        batch.drop_column("version_count")
