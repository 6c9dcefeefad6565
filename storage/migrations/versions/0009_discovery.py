"""Discovery: sites tracked by discovery, and the periods in which each page was its site's policy page.

Revision ID: 0009_discovery
Revises: 0008_web_indexes
Create Date: 2026-12-07

Matches storage.models.DiscoverySite and PolicyPeriod exactly; tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_discovery"
down_revision: str | None = "0008_web_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # storage.types.UTCDateTime's column type


def upgrade() -> None:
    op.create_table(
        "discovery_sites",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_discovery_sites_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_discovery_sites")),
    )
    op.create_table(
        "policy_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.String(length=14), nullable=False),
        sa.Column("valid_until", sa.String(length=14), nullable=True),
        sa.Column("found_on", sa.String(length=14), nullable=False),
        sa.Column("cross_site", sa.Boolean(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_policy_periods_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_policy_periods_page_id_pages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_policy_periods_run_id_crawl_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_periods")),
        sa.UniqueConstraint("site_id", "valid_from", name=op.f("uq_policy_periods_site_id_valid_from")),
    )
    op.create_index(op.f("ix_policy_periods_page_id"), "policy_periods", ["page_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_policy_periods_page_id"), table_name="policy_periods")
    op.drop_table("policy_periods")
    op.drop_table("discovery_sites")
