"""Initial schema: sites, pages, crawl runs, captures, snapshots, version texts, versions, changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-30

Written to match storage/models.py exactly (tests/test_storage_migrations.py compares them). Types are
spelled out with plain SQLAlchemy types so that this file never changes when the models do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # storage.types.UTCDateTime's column type


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("hostname", name=op.f("uq_sites_hostname")),
    )
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_pages_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("site_id", "url", name=op.f("uq_pages_site_id_url")),
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("archive", sa.Text(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=True),
        sa.Column("captures_seen", sa.Integer(), nullable=False),
        sa.Column("captures_new", sa.Integer(), nullable=False),
        sa.Column("captures_fetched", sa.Integer(), nullable=False),
        sa.Column("captures_reused", sa.Integer(), nullable=False),
        sa.Column("captures_inferred", sa.Integer(), nullable=False),
        sa.Column("captures_skipped", sa.Integer(), nullable=False),
        sa.Column("captures_failed", sa.Integer(), nullable=False),
        sa.Column("snapshots_new", sa.Integer(), nullable=False),
        sa.Column("versions_new", sa.Integer(), nullable=False),
        sa.Column("changes_new", sa.Integer(), nullable=False),
        sa.Column("pages_failed", sa.Integer(), nullable=False),
        sa.Column("errors_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'interrupted')", name=op.f("ck_crawl_runs_status")
        ),
        sa.CheckConstraint("trigger IN ('manual', 'schedule')", name=op.f("ck_crawl_runs_trigger")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_runs")),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("compression", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fetched_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
        sa.UniqueConstraint("sha256", name=op.f("uq_snapshots_sha256")),
    )
    op.create_table(
        "captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.String(length=14), nullable=False),
        sa.Column("original_url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("mimetype", sa.String(length=255), nullable=True),
        sa.Column("digest", sa.String(length=128), nullable=True),
        sa.Column("length", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("final_timestamp", sa.String(length=14), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("extraction", sa.String(length=64), nullable=True),
        sa.Column("normalizer_version", sa.String(length=64), nullable=True),
        sa.Column("first_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'fetched', 'reused', 'inferred', 'failed', 'skipped')",
            name=op.f("ck_captures_state"),
        ),
        sa.ForeignKeyConstraint(
            ["first_run_id"], ["crawl_runs.id"], name=op.f("fk_captures_first_run_id_crawl_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name=op.f("fk_captures_page_id_pages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_captures_snapshot_id_snapshots"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captures")),
        sa.UniqueConstraint("page_id", "timestamp", name=op.f("uq_captures_page_id_timestamp")),
    )
    op.create_index(op.f("ix_captures_page_id_digest"), "captures", ["page_id", "digest"], unique=False)
    op.create_table(
        "version_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("compression", sa.String(length=16), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_texts")),
        sa.UniqueConstraint("sha256", name=op.f("uq_version_texts_sha256")),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("text_id", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.String(length=14), nullable=False),
        sa.Column("last_seen", sa.String(length=14), nullable=False),
        sa.Column("first_capture_id", sa.Integer(), nullable=False),
        sa.Column("last_capture_id", sa.Integer(), nullable=False),
        sa.Column("capture_count", sa.Integer(), nullable=False),
        sa.Column("extraction", sa.String(length=64), nullable=False),
        sa.Column("normalizer_version", sa.String(length=64), nullable=False),
        sa.Column("created_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_run_id"], ["crawl_runs.id"], name=op.f("fk_versions_created_run_id_crawl_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["first_capture_id"], ["captures.id"], name=op.f("fk_versions_first_capture_id_captures")
        ),
        sa.ForeignKeyConstraint(["last_capture_id"], ["captures.id"], name=op.f("fk_versions_last_capture_id_captures")),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name=op.f("fk_versions_page_id_pages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["text_id"], ["version_texts.id"], name=op.f("fk_versions_text_id_version_texts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
        sa.UniqueConstraint("page_id", "first_seen", name=op.f("uq_versions_page_id_first_seen")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("from_version_id", sa.Integer(), nullable=False),
        sa.Column("to_version_id", sa.Integer(), nullable=False),
        sa.Column("before_timestamp", sa.String(length=14), nullable=False),
        sa.Column("after_timestamp", sa.String(length=14), nullable=False),
        sa.Column("lines_added", sa.Integer(), nullable=False),
        sa.Column("lines_removed", sa.Integer(), nullable=False),
        sa.Column("technical", sa.Boolean(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("announced_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["from_version_id"], ["versions.id"], name=op.f("fk_changes_from_version_id_versions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name=op.f("fk_changes_page_id_pages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_changes_run_id_crawl_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["to_version_id"], ["versions.id"], name=op.f("fk_changes_to_version_id_versions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
        sa.UniqueConstraint("page_id", "to_version_id", name=op.f("uq_changes_page_id_to_version_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_changes_from_version_id"), "changes", ["from_version_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_changes_from_version_id"), table_name="changes")
    op.drop_table("changes")
    op.drop_table("versions")
    op.drop_table("version_texts")
    op.drop_index(op.f("ix_captures_page_id_digest"), table_name="captures")
    op.drop_table("captures")
    op.drop_table("snapshots")
    op.drop_table("crawl_runs")
    op.drop_table("pages")
    op.drop_table("sites")
