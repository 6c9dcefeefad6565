"""The listing watermark: a page's daily refresh lists only the captures newer than its last complete crawl.

Revision ID: 0014_listing_watermark
Revises: 0013_distributed
Create Date: 2026-12-07

``page_listings.listed_until``: the newest capture of the last listing whose crawl of the page completed;
``page_listings.listed_windows``: the policy periods that listing was cut to (storage.watermark). Matches
storage.models.PageListing; tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_listing_watermark"
down_revision: str | None = "0013_distributed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("page_listings") as batch:
        batch.add_column(sa.Column("listed_until", sa.String(length=14), nullable=True))
        batch.add_column(sa.Column("listed_windows", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("page_listings") as batch:
        batch.drop_column("listed_windows")
        batch.drop_column("listed_until")
