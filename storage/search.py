"""Full-text search over every stored version: SQLite FTS5, or PostgreSQL's tsvector on PostgreSQL.

What researchers ask is *when* a site started (and stopped) saying something -- "GDPR", "do not sell" --
so a search answers per site with the first and last version containing the term, not with snippets.

The index holds *paragraphs* ("blocks": text between blank lines), each distinct one once, plus which
version texts contain which block: consecutive versions share most paragraphs, so this is a fraction of
the size of indexing every text whole (see migration ``0002_search``). A phrase therefore matches within
a paragraph, which is also what a reader would call a phrase. Blocks longer than CHUNK_WORDS words are
cut into overlapping windows (PostgreSQL's tsvector positions stop at 16383).

The index lives in tables without models (created by migration ``0002_search``): bodies are stored
zstd-compressed, so the database cannot index them itself and Python feeds the index. A trigger queues
every new ``version_texts`` row in the same transaction that inserts it; :func:`catch_up` drains the
queue and :func:`search_versions` calls it first, so a search is correct right after any write (crawl,
rebuild, bulk load) and no writer has to know the index exists.

Matching is a case-insensitive *phrase* match on words: ``"do not sell"`` finds "Do Not Sell",
"do-not-sell" and "do not\nsell", not "do not ever sell". Punctuation in the term only separates words.
With a capital letter in the term the match is case-sensitive (smart case), checked on the matching
blocks' text. The backends tokenize slightly differently at the edges (FTS5 folds diacritics, so
"resume" finds "résumé"; PostgreSQL's ``simple`` configuration does not, and keeps e-mail addresses as
one token).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from core.document import TIMESTAMP_SENTINEL
from core.errors import ConfigurationError, UnknownSite
from storage.types import decompress

QUEUE_TABLE = "search_queue"
BLOCKS_TABLE = "search_blocks"
BLOCK_TEXTS_TABLE = "search_block_texts"  # SQLite: (block_id, text_id) pairs
TEXT_BLOCKS_TABLE = "search_text_blocks"  # PostgreSQL: text_id -> block_ids array
FTS_TABLE = "search_blocks_fts"  # SQLite only
# Every schema object of the search index: none has a model, so the models-vs-schema comparison
# (storage/migrations/env.py, tests/test_storage_migrations.py) leaves exactly these out.
SEARCH_SCHEMA_NAMES = frozenset({
    QUEUE_TABLE, BLOCKS_TABLE, BLOCK_TEXTS_TABLE, TEXT_BLOCKS_TABLE, FTS_TABLE, "search_enqueue",
    "ix_search_blocks_document", "ix_search_block_texts_text_id", "ix_search_text_blocks_block_ids",
})
# The tables SQLite's FTS5 creates behind a virtual table.
_FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_docsize", "_config", "_content")

CHUNK_WORDS = 4000
MAX_TERM_WORDS = 64  # long blocks' windows overlap by this much, so no phrase is lost at a cut
CATCH_UP_BATCH = 500
_MATCHED = "policytrack_search_matches"  # SQLite: a temporary table, per connection, never in the schema
_WORD = re.compile(r"[^\W_]+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def is_search_object(name: str | None) -> bool:
    """Whether a table/index/trigger name belongs to the search index (FTS5 shadow tables included)."""
    if not name:
        return False
    if name in SEARCH_SCHEMA_NAMES:
        return True
    return any(name == FTS_TABLE + suffix for suffix in _FTS5_SHADOW_SUFFIXES)


@dataclass(frozen=True)
class Mention:
    """One version in a search result."""

    version_id: int
    page_url: str
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class SearchHit:
    """A site whose stored versions contain the term: the first and the last such version.

    ``current`` says whether the last matching version is still its page's latest version, i.e. the
    site still says it as far as the archive knows.
    """

    site: str
    first: Mention
    last: Mention
    versions_matching: int
    versions_total: int
    current: bool


# --- indexing ---------------------------------------------------------------------------------------


def blocks(title: str, body: str) -> list[str]:
    """The distinct blocks of a text, in order: the title, then each paragraph (long ones in windows)."""
    found: dict[str, None] = {}
    # The sentinel only sits inside snapshot URLs; PostgreSQL text cannot hold NUL.
    plain = (title + "\n\n" + body).replace(TIMESTAMP_SENTINEL, " ").replace("\x00", " ")
    for paragraph in _BLANK_LINE.split(plain):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        # A paragraph of n characters has at most n/2 + 1 words: most need no splitting to know.
        words = paragraph.split() if len(paragraph) > 2 * CHUNK_WORDS else ()
        if len(words) <= CHUNK_WORDS:
            found.setdefault(paragraph)
            continue
        step = CHUNK_WORDS - MAX_TERM_WORDS
        for start in range(0, len(words) - MAX_TERM_WORDS, step):
            found.setdefault(" ".join(words[start : start + CHUNK_WORDS]))
    return list(found)


def _digest(block: str) -> bytes:
    return hashlib.blake2b(block.encode("utf-8"), digest_size=16).digest()


def _in_batches(session: Session, sql: str, values: Sequence[Any]) -> list[Any]:
    """Run ``sql`` (with ``IN :values``) over ``values`` in batches; the rows of all batches, if any."""
    rows: list[Any] = []
    statement = text(sql).bindparams(bindparam("values", expanding=True))
    for start in range(0, len(values), CATCH_UP_BATCH):
        result = session.execute(statement, {"values": list(values[start : start + CATCH_UP_BATCH])})
        if result.returns_rows:
            rows.extend(result)
    return rows


def index_texts(session: Session, rows: Iterable[tuple[int, str, str]]) -> int:
    """Index ``(text_id, title, comparable body)`` rows and take them off the queue; returns how many.

    For callers that already hold the plain text (the bulk loader); others rely on :func:`catch_up`.
    """
    text_blocks = {tid: {_digest(b): b for b in blocks(title, body)} for tid, title, body in rows}
    if not text_blocks:
        return 0
    sqlite = session.get_bind().dialect.name == "sqlite"
    wanted: dict[bytes, str] = {}
    for found in text_blocks.values():
        wanted.update(found)
    digests = list(wanted)
    ids = {d: i for i, d in _in_batches(session, f"SELECT id, digest FROM {BLOCKS_TABLE} WHERE digest IN :values", digests)}
    new = [d for d in digests if d not in ids]
    if new:
        conflict = "OR IGNORE " if sqlite else ""
        suffix = "" if sqlite else " ON CONFLICT (digest) DO NOTHING"
        session.execute(
            text(f"INSERT {conflict}INTO {BLOCKS_TABLE} (digest, text) VALUES (:digest, :text){suffix}"),
            [{"digest": d, "text": wanted[d]} for d in new],
        )
        added = {d: i for i, d in _in_batches(session, f"SELECT id, digest FROM {BLOCKS_TABLE} WHERE digest IN :values", new)}
        ids.update(added)
        if sqlite:  # external-content FTS5 is fed explicitly (SQLite writers are serialized: these are ours)
            session.execute(
                text(f"INSERT INTO {FTS_TABLE} (rowid, text) VALUES (:id, :text)"),
                [{"id": added[d], "text": wanted[d]} for d in new],
            )
    # Tens of blocks per text: straight to the driver, SQLAlchemy's per-row parameter handling would
    # double the cost of a bulk load.
    if sqlite:
        pairs = [(ids[d], tid) for tid, found in text_blocks.items() for d in found]
        statement = f"INSERT OR IGNORE INTO {BLOCK_TEXTS_TABLE} (block_id, text_id) VALUES (?, ?)"
    else:
        pairs = [(tid, sorted(ids[d] for d in found)) for tid, found in text_blocks.items()]
        statement = (f"INSERT INTO {TEXT_BLOCKS_TABLE} (text_id, block_ids) VALUES (%s, %s::integer[]) "
                     "ON CONFLICT (text_id) DO NOTHING")
    if pairs:  # a text with neither title nor body has no blocks
        session.connection().exec_driver_sql(statement, pairs)
    _in_batches(session, f"DELETE FROM {QUEUE_TABLE} WHERE text_id IN :values", list(text_blocks))
    return len(text_blocks)


def pending_count(session: Session) -> int:
    """How many stored texts wait to be indexed."""
    return int(session.execute(text(f"SELECT count(*) FROM {QUEUE_TABLE}")).scalar_one())


def catch_up(session: Session, *, batch: int = CATCH_UP_BATCH) -> int:
    """Index every queued text; returns how many were indexed.

    Writes: on SQLite run it in ``Database.session(immediate=True)`` so it waits for a concurrent writer
    instead of failing. On PostgreSQL the queue rows are locked, so two concurrent catch-ups index each
    text once and the second waits for the first.
    """
    lock = " FOR UPDATE" if session.get_bind().dialect.name == "postgresql" else ""
    done = 0
    while True:
        ids = list(
            session.execute(
                text(f"SELECT text_id FROM {QUEUE_TABLE} ORDER BY text_id LIMIT :n{lock}"), {"n": batch}
            ).scalars()
        )
        if not ids:
            return done
        rows = _in_batches(session, "SELECT id, title, body, compression FROM version_texts WHERE id IN :values", ids)
        done += index_texts(
            session, ((tid, title, decompress(body, compression).decode("utf-8")) for tid, title, body, compression in rows)
        )
        # Queued ids without a text cannot exist (foreign key), but never loop on them.
        _in_batches(session, f"DELETE FROM {QUEUE_TABLE} WHERE text_id IN :values", ids)


# --- searching --------------------------------------------------------------------------------------


def term_words(term: str) -> list[str]:
    """The words of a search term, as both backends will match them; refuses terms with no words."""
    words = _WORD.findall(term or "")
    if not words:
        raise ConfigurationError(f"search term {term!r} has no words to search for")
    if len(words) > MAX_TERM_WORDS:
        raise ConfigurationError(f"search term too long: {len(words)} words (at most {MAX_TERM_WORDS})")
    return words


def _matching_blocks(session: Session, words: Sequence[str]) -> list[int]:
    """The blocks containing the phrase in any letter case."""
    if session.get_bind().dialect.name == "sqlite":
        # FTS5: a double-quoted string is a phrase; the words contain no quotes (see _WORD).
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :query"
        query = '"' + " ".join(words) + '"'
    else:
        sql = f"SELECT id FROM {BLOCKS_TABLE} WHERE to_tsvector('simple', text) @@ phraseto_tsquery('simple', :query)"
        query = " ".join(words)
    return list(session.execute(text(sql), {"query": query}).scalars())


def _exact_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """The phrase as the index matches it (words separated by anything but word characters), case-sensitive."""
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(re.escape(w) for w in words) + r"(?![^\W_])")


def _same_case(session: Session, block_ids: Sequence[int], words: Sequence[str]) -> list[int]:
    """The blocks whose text contains the phrase with exactly the term's letter case."""
    pattern = _exact_pattern(words)
    rows = _in_batches(session, f"SELECT id, text FROM {BLOCKS_TABLE} WHERE id IN :values", block_ids)
    return [bid for bid, block in rows if pattern.search(block)]


def search_versions(
    session: Session, term: str, sites: Sequence[str] | None = None, *, case_sensitive: bool | None = None
) -> list[SearchHit]:
    """Sites whose versions contain ``term`` (a phrase), by date of first mention, then hostname.

    ``case_sensitive=None`` is *smart case* (as ripgrep's ``--smart-case``): a term with a capital letter
    matches its exact case, so "Do Not Sell" finds the CCPA link and not "we do not sell, rent or
    trade"; an all-lowercase term matches any case.

    Indexes any queued texts first (see :func:`catch_up`), so the answer covers everything stored.
    """
    words = term_words(term)
    if case_sensitive is None:
        case_sensitive = term != term.lower()
    catch_up(session)
    site_filter = ""
    params: dict[str, object] = {}
    if sites:
        hosts = [h.strip().lower().rstrip(".") for h in sites]
        known = {row[0] for row in _in_batches(session, "SELECT hostname FROM sites WHERE hostname IN :values", hosts)}
        for host in hosts:
            if host not in known:
                raise UnknownSite(host)
        site_filter = "AND s.hostname IN :hosts"
        params["hosts"] = hosts
    block_ids = _matching_blocks(session, words)
    if case_sensitive and block_ids:
        block_ids = _same_case(session, block_ids, words)
    if not block_ids:
        return []
    if session.get_bind().dialect.name == "sqlite":
        # The matching blocks go through a temporary table: there can be more than a statement takes.
        session.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_MATCHED} (block_id INTEGER PRIMARY KEY)"))
        session.execute(text(f"DELETE FROM {_MATCHED}"))
        session.execute(text(f"INSERT INTO {_MATCHED} (block_id) VALUES (:id)"), [{"id": b} for b in block_ids])
        if sites:
            # Few texts: walk them to their blocks (text_id index) and look each up among the matches.
            hits_sql = f"""SELECT DISTINCT v.text_id FROM versions v JOIN pages p ON p.id = v.page_id
                JOIN sites s ON s.id = p.site_id WHERE s.hostname IN :hosts AND EXISTS (
                    SELECT 1 FROM {BLOCK_TEXTS_TABLE} bt WHERE bt.text_id = v.text_id
                    AND bt.block_id IN (SELECT block_id FROM {_MATCHED}))"""
        else:
            # No statistics on the temporary table: without CROSS JOIN SQLite scans every (block, text)
            # pair instead of walking the matching blocks and seeking their texts.
            hits_sql = f"""SELECT DISTINCT bt.text_id FROM {_MATCHED} m CROSS JOIN {BLOCK_TEXTS_TABLE} bt
                WHERE bt.block_id = m.block_id"""
    else:
        params["blocks"] = block_ids  # one array parameter; the GIN index answers the overlap (&&)
        if sites:
            hits_sql = f"""SELECT DISTINCT v.text_id FROM versions v JOIN pages p ON p.id = v.page_id
                JOIN sites s ON s.id = p.site_id JOIN {TEXT_BLOCKS_TABLE} tb ON tb.text_id = v.text_id
                WHERE s.hostname IN :hosts AND tb.block_ids && :blocks"""
        else:
            hits_sql = f"SELECT text_id FROM {TEXT_BLOCKS_TABLE} WHERE block_ids && :blocks"
    statement = text(
        f"""
        WITH hits AS ({hits_sql}),
        per_site AS (
            SELECT p.site_id, min(v.first_seen) AS first_at, max(v.first_seen) AS last_at, count(*) AS n
            FROM versions v JOIN pages p ON p.id = v.page_id JOIN sites s ON s.id = p.site_id
            WHERE v.text_id IN (SELECT text_id FROM hits) {site_filter}
            GROUP BY p.site_id
        )
        SELECT s.hostname, p.url, v.id, v.first_seen, v.last_seen, per_site.first_at, per_site.last_at, per_site.n,
               (SELECT count(*) FROM versions t JOIN pages q ON q.id = t.page_id WHERE q.site_id = s.id),
               NOT EXISTS (SELECT 1 FROM versions w WHERE w.page_id = v.page_id AND w.first_seen > v.first_seen)
        FROM per_site
        JOIN sites s ON s.id = per_site.site_id
        JOIN pages p ON p.site_id = per_site.site_id
        JOIN versions v ON v.page_id = p.id AND v.first_seen IN (per_site.first_at, per_site.last_at)
        WHERE v.text_id IN (SELECT text_id FROM hits)
        """
    )
    if sites:
        statement = statement.bindparams(bindparam("hosts", expanding=True))
    if "blocks" in params:
        statement = statement.bindparams(bindparam("blocks", type_=postgresql.ARRAY(Integer)))
    # Two pages of a site can share a first_seen: the first mention is the lowest id, the last the highest.
    postgres = "blocks" in params
    if postgres:
        # The planner prices `block_ids && :blocks` as cheap and scans the table, but on a seq scan it
        # compares every element with every element (a common phrase: seconds); the GIN index answers
        # the overlap exactly, with no recheck. Only for this statement.
        session.execute(text("SET LOCAL enable_seqscan = off"))
    rows = session.execute(statement, params).all()
    if postgres:
        session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
    firsts: dict[str, tuple[int, Mention]] = {}
    lasts: dict[str, tuple[int, Mention, int, int, bool]] = {}
    for host, url, vid, first_seen, last_seen, first_at, last_at, n, total, latest in rows:
        mention = Mention(version_id=vid, page_url=url, first_seen=first_seen, last_seen=last_seen)
        if first_seen == first_at and (host not in firsts or vid < firsts[host][0]):
            firsts[host] = (vid, mention)
        if first_seen == last_at and (host not in lasts or vid > lasts[host][0]):
            lasts[host] = (vid, mention, int(n), int(total), bool(latest))
    hits = [
        SearchHit(site=host, first=firsts[host][1], last=last, versions_matching=n, versions_total=total,
                  current=current)
        for host, (_, last, n, total, current) in lasts.items()
    ]
    return sorted(hits, key=lambda h: (h.first.first_seen, h.site))
