"""Per-(block, site) first and last mention, so a search reads a row per matching site, not every text.

Revision ID: 0010_search_mentions
Revises: 0008_web_indexes
Create Date: 2026-12-07

A common phrase ("do not sell") is in tens of thousands of version texts at a million versions; mapping
each to its versions and sites made such a search cost seconds. ``search_mentions`` keeps, per block and
site, the first and the last version containing the block (by ``first_seen``, ties by id), how many and
which versions contain it (``runs``: ranges of their ordinals among the site's versions, so the versions
containing any of several blocks are counted without reading texts); a search reads these rows (see
``storage.search.search_versions``).

Kept current the way the search index is: triggers on ``versions`` (insert, delete, update of its page,
text or first capture) and on ``pages`` (delete, site change) put the site in ``search_site_queue`` in the
writer's own transaction, and ``storage.search.catch_up`` recomputes the queued sites' rows before a
search; indexing a text queues the sites whose versions use it. No writer has to know the table exists.

The rows of existing data are computed here with the same statement ``storage.search`` uses (spelled
out so that this file never changes). None of these objects has a model; their names are registered in
``storage.search.SEARCH_SCHEMA_NAMES``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_search_mentions"
down_revision: str | None = "0009_discovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAIRS = {
    "sqlite": "SELECT bt.block_id, p.site_id, v.id, v.first_seen FROM versions v "
              "JOIN pages p ON p.id = v.page_id JOIN search_block_texts bt ON bt.text_id = v.text_id",
    "postgresql": "SELECT unnest(tb.block_ids) AS block_id, p.site_id, v.id, v.first_seen FROM versions v "
                  "JOIN pages p ON p.id = v.page_id JOIN search_text_blocks tb ON tb.text_id = v.text_id",
}
_CONCAT = {"sqlite": "group_concat", "postgresql": "string_agg"}
BACKFILL = """
INSERT INTO search_mentions (block_id, site_id, first_at, first_version_id, last_at, last_version_id, versions, runs)
SELECT block_id, site_id, min(first_at), max(first_id), max(last_at), max(last_id), sum(hi - lo + 1),
       {concat}(CAST(lo AS VARCHAR(20)) || '-' || CAST(hi AS VARCHAR(20)), ',')
FROM (SELECT block_id, site_id, n - a AS island, min(n) AS lo, max(n) AS hi,
             min(first_seen) AS first_at, max(CASE WHEN a = 1 THEN id END) AS first_id,
             max(first_seen) AS last_at, max(CASE WHEN z = 1 THEN id END) AS last_id
      FROM (SELECT block_id, site_id, id, first_seen,
                   dense_rank() OVER (PARTITION BY site_id ORDER BY first_seen, id) AS n,
                   row_number() OVER (PARTITION BY block_id, site_id ORDER BY first_seen, id) AS a,
                   row_number() OVER (PARTITION BY block_id, site_id ORDER BY first_seen DESC, id DESC) AS z
            FROM ({pairs}) pairs) ranked
      GROUP BY block_id, site_id, n - a) islands
GROUP BY block_id, site_id
"""
_VERSION_EVENTS = {"insert": ["NEW"], "update": ["OLD", "NEW"], "delete": ["OLD"]}
# What a mention row is computed from: a crawl moving last_seen on does not queue the site.
_MENTIONED_COLUMNS = "page_id, text_id, first_seen"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    op.execute(
        "CREATE TABLE search_mentions (block_id INTEGER NOT NULL, "
        "site_id INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE, "
        "first_at VARCHAR(14) NOT NULL, first_version_id INTEGER NOT NULL, "
        "last_at VARCHAR(14) NOT NULL, last_version_id INTEGER NOT NULL, versions INTEGER NOT NULL, "
        "runs TEXT NOT NULL, "
        "PRIMARY KEY (block_id, site_id))" + (" WITHOUT ROWID" if sqlite else "")
    )
    op.execute("CREATE INDEX ix_search_mentions_site_id ON search_mentions (site_id)")
    op.execute("CREATE TABLE search_site_queue (site_id INTEGER NOT NULL PRIMARY KEY)")
    enqueue_page = "INSERT INTO search_site_queue (site_id) SELECT site_id FROM pages WHERE id = {row}.page_id"
    if sqlite:
        for event, rows in _VERSION_EVENTS.items():
            body = " ".join(enqueue_page.replace("INSERT", "INSERT OR IGNORE").format(row=r) + ";" for r in rows)
            when = f"{event.upper()} OF {_MENTIONED_COLUMNS}" if event == "update" else event.upper()
            op.execute(f"CREATE TRIGGER search_site_enqueue_{event} AFTER {when} ON versions BEGIN {body} END")
        op.execute(
            "CREATE TRIGGER search_site_enqueue_page AFTER DELETE ON pages BEGIN "
            "INSERT OR IGNORE INTO search_site_queue (site_id) VALUES (OLD.site_id); END"
        )
        op.execute(
            "CREATE TRIGGER search_site_enqueue_page_move AFTER UPDATE OF site_id ON pages BEGIN "
            "INSERT OR IGNORE INTO search_site_queue (site_id) VALUES (OLD.site_id), (NEW.site_id); END"
        )
    else:
        op.execute(
            "CREATE FUNCTION search_site_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_TABLE_NAME = 'pages' THEN "
            "INSERT INTO search_site_queue (site_id) VALUES (OLD.site_id) ON CONFLICT DO NOTHING; "
            "IF TG_OP = 'UPDATE' THEN INSERT INTO search_site_queue (site_id) VALUES (NEW.site_id) "
            "ON CONFLICT DO NOTHING; END IF; "
            "ELSE "
            "IF TG_OP <> 'INSERT' THEN INSERT INTO search_site_queue (site_id) SELECT site_id FROM pages "
            "WHERE id = OLD.page_id ON CONFLICT DO NOTHING; END IF; "
            "IF TG_OP <> 'DELETE' THEN INSERT INTO search_site_queue (site_id) SELECT site_id FROM pages "
            "WHERE id = NEW.page_id ON CONFLICT DO NOTHING; END IF; "
            "END IF; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER search_site_enqueue AFTER INSERT OR UPDATE OF {_MENTIONED_COLUMNS} OR DELETE ON versions "
            "FOR EACH ROW EXECUTE FUNCTION search_site_enqueue()"
        )
        op.execute(
            "CREATE TRIGGER search_site_enqueue_page AFTER DELETE OR UPDATE OF site_id ON pages "
            "FOR EACH ROW EXECUTE FUNCTION search_site_enqueue()"
        )
    op.execute(BACKFILL.format(pairs=_PAIRS[dialect], concat=_CONCAT[dialect]))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in [*_VERSION_EVENTS, "page", "page_move"]:
            op.execute(f"DROP TRIGGER IF EXISTS search_site_enqueue_{event}")
    else:
        op.execute("DROP TRIGGER IF EXISTS search_site_enqueue ON versions")
        op.execute("DROP TRIGGER IF EXISTS search_site_enqueue_page ON pages")
        op.execute("DROP FUNCTION IF EXISTS search_site_enqueue()")
    op.execute("DROP TABLE search_site_queue")
    op.execute("DROP TABLE search_mentions")
