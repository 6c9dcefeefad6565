"""Scheduler: leases, runs by schedule, live checks, announcement channels and deliveries.

Revision ID: 0003_scheduler
Revises: 0002_search
Create Date: 2026-12-01

Written to match the models appended to storage/models.py (Lease, ScheduledRun, LiveSite, LiveCapture,
Channel, Delivery) exactly; tests/test_storage_migrations.py compares them. APScheduler's job table is
*not* created here: APScheduler creates and owns it (storage.scheduling.JOBS_TABLE), and env.py leaves
it out of the models-vs-schema comparison.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_scheduler"
down_revision: str | None = "0002_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # storage.types.UTCDateTime's column type


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("acquired_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_leases_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_index(op.f("ix_leases_owner"), "leases", ["owner"], unique=False)
    op.create_table(
        "scheduled_runs",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.String(length=191), nullable=False),
        sa.Column("scheduled_for", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_scheduled_runs_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_scheduled_runs")),
    )
    op.create_index(op.f("ix_scheduled_runs_schedule_id"), "scheduled_runs", ["schedule_id"], unique=False)
    op.create_table(
        "live_sites",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enabled_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_live_sites_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_live_sites")),
    )
    op.create_table(
        "live_captures",
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("requested_url", sa.Text(), nullable=False),
        sa.Column("fetched_at", UTC, nullable=False),
        sa.Column("matched_capture_id", sa.Integer(), nullable=True),
        sa.Column("matched_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name=op.f("fk_live_captures_capture_id_captures"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["matched_capture_id"], ["captures.id"], name=op.f("fk_live_captures_matched_capture_id_captures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("capture_id", name=op.f("pk_live_captures")),
    )
    op.create_index(
        op.f("ix_live_captures_matched_capture_id"), "live_captures", ["matched_capture_id"], unique=False
    )
    op.create_table(
        "announce_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("since", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("kind IN ('webhook', 'apprise', 'feed')", name=op.f("ck_announce_channels_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announce_channels")),
        sa.UniqueConstraint("kind", "target", name=op.f("uq_announce_channels_kind_target")),
    )
    op.create_table(
        "announce_deliveries",
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_announce_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["change_id"], ["changes.id"], name=op.f("fk_announce_deliveries_change_id_changes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["announce_channels.id"],
            name=op.f("fk_announce_deliveries_channel_id_announce_channels"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_id", "channel_id", name=op.f("pk_announce_deliveries")),
    )
    op.create_index(
        op.f("ix_announce_deliveries_channel_id"), "announce_deliveries", ["channel_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_announce_deliveries_channel_id"), table_name="announce_deliveries")
    op.drop_table("announce_deliveries")
    op.drop_table("announce_channels")
    op.drop_index(op.f("ix_live_captures_matched_capture_id"), table_name="live_captures")
    op.drop_table("live_captures")
    op.drop_table("live_sites")
    op.drop_index(op.f("ix_scheduled_runs_schedule_id"), table_name="scheduled_runs")
    op.drop_table("scheduled_runs")
    op.drop_index(op.f("ix_leases_owner"), table_name="leases")
    op.drop_table("leases")
