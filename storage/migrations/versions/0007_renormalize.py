"""Re-normalization: per-page progress of ``policytrack renormalize`` and the technical boundaries it found.

Revision ID: 0007_renormalize
Revises: 0004_page_listings
Create Date: 2026-12-07

Matches storage.models.Renormalization and TechnicalBoundary exactly; tests/test_storage_migrations.py
compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_renormalize"
down_revision: str | None = "0006_cli_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # storage.types.UTCDateTime's column type


def upgrade() -> None:
    op.create_table(
        "renormalizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("normalizer_version", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_renormalizations_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renormalizations")),
        sa.UniqueConstraint("page_id", "normalizer_version",
                            name=op.f("uq_renormalizations_page_id_normalizer_version")),
    )
    op.create_table(
        "technical_boundaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("before_timestamp", sa.String(length=14), nullable=False),
        sa.Column("after_timestamp", sa.String(length=14), nullable=False),
        sa.Column("normalizer_version", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.CheckConstraint("kind IN ('appeared', 'disappeared')", name=op.f("ck_technical_boundaries_kind")),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_technical_boundaries_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technical_boundaries")),
        sa.UniqueConstraint("page_id", "kind", "after_timestamp",
                            name=op.f("uq_technical_boundaries_page_id_kind_after_timestamp")),
    )


def downgrade() -> None:
    op.drop_table("technical_boundaries")
    op.drop_table("renormalizations")
