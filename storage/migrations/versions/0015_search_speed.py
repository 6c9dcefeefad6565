"""An index of search mentions in order of first mention, so a page of a common phrase's hits reads a page.

Revision ID: 0015_search_speed
Revises: 0014_listing_watermark
Create Date: 2026-12-07

A search lists sites by the date they first used the phrase. Folding every matching mention row per site
to find the first page costs what the matching rows cost: ~4,000 sites and 12,700 blocks for "do not sell"
at a million versions, and every site for a word such as "privacy". With
``search_mentions (first_at, site_id, block_id)`` a search walks the mentions in order of first mention and
stops once a page of sites is known (``storage.search._walk_first_mentions``): the first row of a site met
in that order is its first mention. The index holds the key columns only, so the walk never reads rows.

Registered in ``storage.search.SEARCH_SCHEMA_NAMES`` (the search index has no models).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_search_speed"
down_revision: str | None = "0014_listing_watermark"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_search_mentions_first_at ON search_mentions (first_at, site_id, block_id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_search_mentions_first_at")
