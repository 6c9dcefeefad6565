"""Page listings: what the archive answered the last time each page's captures were listed.

Revision ID: 0004_page_listings
Revises: 0003_scheduler
Create Date: 2026-11-30

Matches storage.models.PageListing exactly; tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_page_listings"
down_revision: str | None = "0003_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # storage.types.UTCDateTime's column type


def upgrade() -> None:
    op.create_table(
        "page_listings",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", UTC, nullable=False),
        sa.Column("checked_at", UTC, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('listed', 'blocked', 'failed')", name=op.f("ck_page_listings_state")),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_page_listings_page_id_pages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_page_listings_run_id_crawl_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("page_id", name=op.f("pk_page_listings")),
    )


def downgrade() -> None:
    op.drop_table("page_listings")
