"""Truthful runs: counters for complete and blocked pages and 429 answers on each run, and per page the
run that last crawled it to the end (a page whose last crawl did not complete has provisional history).

Revision ID: 0005_truthful_runs
Revises: 0004_page_listings
Create Date: 2026-12-07

Matches storage.models exactly; tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_truthful_runs"
down_revision: str | None = "0004_page_listings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_COUNTERS = ("pages_complete", "pages_blocked", "rate_limited")


def upgrade() -> None:
    for name in RUN_COUNTERS:
        op.add_column("crawl_runs", sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    op.add_column("page_listings", sa.Column("complete_run_id", sa.Integer(), nullable=True))
    # Pages last listed by a run that succeeded were crawled to the end; the others stay provisional.
    op.execute("UPDATE page_listings SET complete_run_id = run_id WHERE state = 'listed' AND run_id IN "
               "(SELECT id FROM crawl_runs WHERE status = 'succeeded')")


def downgrade() -> None:
    with op.batch_alter_table("page_listings") as batch:
        batch.drop_column("complete_run_id")
    with op.batch_alter_table("crawl_runs") as batch:
        for name in reversed(RUN_COUNTERS):
            batch.drop_column(name)
