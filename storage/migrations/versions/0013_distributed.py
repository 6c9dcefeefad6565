"""Distributed workers: runs started by `policytrack worker` say so (trigger ``worker``) and name the worker.

Revision ID: 0013_distributed
Revises: 0010_search_mentions
Create Date: 2026-12-07

Matches storage.models.CrawlRun exactly (the trigger's CHECK constraint and the ``worker`` column);
tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_distributed"
down_revision: str | None = "0012_discovery_crawl"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS_BEFORE = "trigger IN ('manual', 'schedule')"
TRIGGERS_AFTER = "trigger IN ('manual', 'schedule', 'worker')"


def upgrade() -> None:
    # Batch mode: SQLite changes a CHECK constraint only by rebuilding the table (env.py runs migrations
    # with foreign keys off), and the rebuilt DDL then matches the models' exactly.
    with op.batch_alter_table("crawl_runs", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_crawl_runs_trigger"), type_="check")
        batch.create_check_constraint(op.f("ck_crawl_runs_trigger"), TRIGGERS_AFTER)
        batch.add_column(sa.Column("worker", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE crawl_runs SET trigger = 'manual' WHERE trigger = 'worker'")
    with op.batch_alter_table("crawl_runs", recreate="auto") as batch:
        batch.drop_column("worker")
        batch.drop_constraint(op.f("ck_crawl_runs_trigger"), type_="check")
        batch.create_check_constraint(op.f("ck_crawl_runs_trigger"), TRIGGERS_BEFORE)
