"""Discovery inside the crawl: how far each site's homepage history has been read.

Revision ID: 0012_discovery_crawl
Revises: 0010_search_mentions
Create Date: 2026-12-07

``discovery_sites.homepage_seen_until``: the newest homepage capture the site's last complete discovery read;
the crawl lists only the homepage captures from there on (storage.discovery). Matches
storage.models.DiscoverySite; tests/test_storage_migrations.py compares them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_discovery_crawl"
down_revision: str | None = "0011_change_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("discovery_sites") as batch:
        batch.add_column(sa.Column("homepage_seen_until", sa.String(length=14), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("discovery_sites") as batch:
        batch.drop_column("homepage_seen_until")
