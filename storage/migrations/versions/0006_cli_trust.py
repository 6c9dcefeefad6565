"""CLI trust: sites removed with their history kept, and schedule ids that are never issued twice.

Revision ID: 0006_cli_trust
Revises: 0004_page_listings
Create Date: 2026-12-07

Matches storage.models.Site.removed_at and storage.models.IssuedScheduleId exactly;
tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_cli_trust"
down_revision: str | None = "0005_truthful_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # storage.types.UTCDateTime's column type


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Rebuilt (env.py runs migrations with foreign keys off), so the DDL matches the models' exactly.
        with op.batch_alter_table("sites", recreate="always") as batch:
            batch.add_column(sa.Column("removed_at", UTC, nullable=True))
    else:
        op.add_column("sites", sa.Column("removed_at", UTC, nullable=True))
    op.create_table(
        "issued_schedule_ids",
        sa.Column("id", sa.String(length=191), nullable=False),
        sa.Column("issued_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_schedule_ids")),
    )
    # Schedules that already ran have used their ids: record them so none is issued again.
    op.execute(
        "INSERT INTO issued_schedule_ids (id, issued_at) "
        "SELECT schedule_id, MIN(r.started_at) FROM scheduled_runs s JOIN crawl_runs r ON r.id = s.run_id "
        "GROUP BY schedule_id"
    )


def downgrade() -> None:
    op.drop_table("issued_schedule_ids")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("removed_at")
