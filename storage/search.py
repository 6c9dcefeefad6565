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

A search answers per site, so it does not map matching blocks to texts and versions (a common phrase is
in tens of thousands of texts at a million versions): ``search_mentions`` (migration
``0010_search_mentions``) holds per (block, site) the first and last version containing the block and
which versions do, as ranges of their ordinals in the site. Triggers on ``versions`` and ``pages`` queue
the sites a write touches, indexing a text queues the sites using it, and :func:`catch_up` recomputes the
queued sites' rows (:func:`refresh_mentions`): the same no-writer-knows design as the text queue.
A page of a common phrase's hits (the web view asks for 50) does not fold every matching row either: it
walks the mentions in order of first mention (``ix_search_mentions_first_at``, migration
``0015_search_speed``) and stops once the page is known (:func:`_walk_first_mentions`).

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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
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
MENTIONS_TABLE = "search_mentions"  # (block, site) -> first and last version containing the block
SITE_QUEUE_TABLE = "search_site_queue"  # sites whose mentions are out of date
# Every schema object of the search index: none has a model, so the models-vs-schema comparison
# (storage/migrations/env.py, tests/test_storage_migrations.py) leaves exactly these out.
SEARCH_SCHEMA_NAMES = frozenset({
    QUEUE_TABLE, BLOCKS_TABLE, BLOCK_TEXTS_TABLE, TEXT_BLOCKS_TABLE, FTS_TABLE, "search_enqueue",
    "ix_search_blocks_document", "ix_search_block_texts_text_id", "ix_search_text_blocks_block_ids",
    MENTIONS_TABLE, SITE_QUEUE_TABLE, "ix_search_mentions_site_id", "ix_search_mentions_first_at", "search_site_enqueue",
    "search_site_enqueue_insert", "search_site_enqueue_update", "search_site_enqueue_delete",
    "search_site_enqueue_page", "search_site_enqueue_page_move",
})
# The tables SQLite's FTS5 creates behind a virtual table.
_FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_docsize", "_config", "_content")

CHUNK_WORDS = 4000
MAX_TERM_WORDS = 64  # long blocks' windows overlap by this much, so no phrase is lost at a cut
CATCH_UP_BATCH = 500
_MATCHED = "policytrack_search_matches"  # SQLite: a temporary table, per connection, never in the schema
_CANDIDATES = "policytrack_search_candidates"  # SQLite: blocks whose membership is looked up in one pass...
_RANGES = "policytrack_search_ranges"  # ...in these ranges of block ids
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


def _in_batches(session: Session, sql: str, values: Sequence[Any], **params: Any) -> list[Any]:
    """Run ``sql`` (with ``IN :values``, and any other ``params``) over ``values`` in batches; the rows of all
    batches, if any."""
    rows: list[Any] = []
    statement = text(sql).bindparams(bindparam("values", expanding=True))
    for start in range(0, len(values), CATCH_UP_BATCH):
        result = session.execute(statement, {**params, "values": list(values[start : start + CATCH_UP_BATCH])})
        if result.returns_rows:
            rows.extend(result)
    return rows


def _empty_temporary(session: Session, table: str, columns: str) -> None:
    """SQLite: the connection's temporary ``table`` (created the first time it is needed), emptied. Never
    in the schema: a search's working sets live and die with the connection."""
    session.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({columns})"))
    session.execute(text(f"DELETE FROM {table}"))


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
    # The versions using these texts were stored before their blocks were known: their sites' mentions
    # must be computed again (see refresh_mentions).
    insert = "INSERT OR IGNORE INTO" if sqlite else "INSERT INTO"
    suffix = "" if sqlite else " ON CONFLICT DO NOTHING"
    _in_batches(session, f"""{insert} {SITE_QUEUE_TABLE} (site_id) SELECT DISTINCT p.site_id FROM versions v
        JOIN pages p ON p.id = v.page_id WHERE v.text_id IN :values{suffix}""", list(text_blocks))
    _in_batches(session, f"DELETE FROM {QUEUE_TABLE} WHERE text_id IN :values", list(text_blocks))
    return len(text_blocks)


# Per (block, site): the first and the last version containing the block (by first_seen, ties by id), how
# many do, and which: ``runs`` lists them as ranges "lo-hi" of their ordinals among the site's versions
# (in the same order), so a search can count the versions containing any of several blocks without
# reading texts -- a paragraph lives in consecutive versions, so there are one or two ranges per block.
# The same statement fills the table in migration 0010_search_mentions.
_BLOCK_VERSION_PAIRS = {
    "sqlite": f"""SELECT bt.block_id, p.site_id, v.id, v.first_seen FROM versions v
        JOIN pages p ON p.id = v.page_id JOIN {BLOCK_TEXTS_TABLE} bt ON bt.text_id = v.text_id""",
    "postgresql": f"""SELECT unnest(tb.block_ids) AS block_id, p.site_id, v.id, v.first_seen FROM versions v
        JOIN pages p ON p.id = v.page_id JOIN {TEXT_BLOCKS_TABLE} tb ON tb.text_id = v.text_id""",
}
_CONCAT = {"sqlite": "group_concat", "postgresql": "string_agg"}
_MENTIONS_OF_SITES = f"""
INSERT INTO {MENTIONS_TABLE} (block_id, site_id, first_at, first_version_id, last_at, last_version_id, versions, runs)
SELECT block_id, site_id, min(first_at), max(first_id), max(last_at), max(last_id), sum(hi - lo + 1),
       {{concat}}(CAST(lo AS VARCHAR(20)) || '-' || CAST(hi AS VARCHAR(20)), ',')
FROM (SELECT block_id, site_id, n - a AS island, min(n) AS lo, max(n) AS hi,
             min(first_seen) AS first_at, max(CASE WHEN a = 1 THEN id END) AS first_id,
             max(first_seen) AS last_at, max(CASE WHEN z = 1 THEN id END) AS last_id
      FROM (SELECT block_id, site_id, id, first_seen,
                   dense_rank() OVER (PARTITION BY site_id ORDER BY first_seen, id) AS n,
                   row_number() OVER (PARTITION BY block_id, site_id ORDER BY first_seen, id) AS a,
                   row_number() OVER (PARTITION BY block_id, site_id ORDER BY first_seen DESC, id DESC) AS z
            FROM ({{pairs}} WHERE p.site_id IN :values) pairs) ranked
      GROUP BY block_id, site_id, n - a) islands
GROUP BY block_id, site_id
"""
MENTIONS_BATCH = 50  # sites per statement: ~100 versions x ~40 blocks each


def refresh_mentions(session: Session, *, batch: int = MENTIONS_BATCH) -> int:
    """Recompute the mentions of every queued site (see migration ``0010_search_mentions``); returns how many.

    Call after the texts are indexed (:func:`catch_up` does): a site's mentions come from its versions'
    indexed blocks. Locking as :func:`catch_up`.
    """
    dialect = session.get_bind().dialect.name
    lock = " FOR UPDATE" if dialect == "postgresql" else ""
    fill = _MENTIONS_OF_SITES.format(pairs=_BLOCK_VERSION_PAIRS[dialect], concat=_CONCAT[dialect])
    done = 0
    while True:
        ids = list(session.execute(
            text(f"SELECT site_id FROM {SITE_QUEUE_TABLE} ORDER BY site_id LIMIT :n{lock}"), {"n": batch}
        ).scalars())
        if not ids:
            return done
        _in_batches(session, f"DELETE FROM {MENTIONS_TABLE} WHERE site_id IN :values", ids)
        _in_batches(session, fill, ids)
        _in_batches(session, f"DELETE FROM {SITE_QUEUE_TABLE} WHERE site_id IN :values", ids)
        done += len(ids)


def pending_count(session: Session) -> int:
    """How many stored texts wait to be indexed."""
    return int(session.execute(text(f"SELECT count(*) FROM {QUEUE_TABLE}")).scalar_one())


def catch_up(session: Session, *, batch: int = CATCH_UP_BATCH) -> int:
    """Index every queued text, then recompute the queued sites' mentions; returns how many texts were indexed.

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
            refresh_mentions(session)
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
    """PostgreSQL: the blocks containing the phrase in any letter case (SQLite: see _Matches.find)."""
    sql = f"SELECT id FROM {BLOCKS_TABLE} WHERE to_tsvector('simple', text) @@ phraseto_tsquery('simple', :query)"
    return list(session.execute(text(sql), {"query": " ".join(words)}).scalars())


def _fts_phrase(words: Sequence[str]) -> str:
    """FTS5: a double-quoted string is a phrase; the words contain no quotes (see _WORD)."""
    return '"' + " ".join(words) + '"'


def _exact_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """The phrase as the index matches it (words separated by anything but word characters), case-sensitive."""
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(re.escape(w) for w in words) + r"(?![^\W_])")


def _same_case(session: Session, block_ids: Sequence[int] | None, words: Sequence[str]) -> list[int]:
    """The blocks whose text contains the phrase with exactly the term's letter case: of ``block_ids``, or
    (SQLite, ``None``) of the matching blocks' temporary table (see _Matches.find), in one statement.

    The database first keeps the blocks containing the term's longest word in its case (a substring test:
    no tokenizing), so only those texts reach the regular expression; a common phrase matches thousands of
    blocks in any case and few in the term's."""
    pattern = _exact_pattern(words)
    longest = max(words, key=len)
    if block_ids is None:
        rows = list(session.execute(text(f"SELECT b.id, b.text FROM {_MATCHED} t CROSS JOIN {BLOCKS_TABLE} b "
                                         "WHERE b.id = t.block_id AND instr(b.text, :word) > 0"), {"word": longest}))
    else:
        position = "instr(text, :word)" if session.get_bind().dialect.name == "sqlite" else "strpos(text, :word)"
        statement = text(f"SELECT id, text FROM {BLOCKS_TABLE} WHERE id IN :values AND {position} > 0"
                         ).bindparams(bindparam("values", expanding=True))
        rows = [row for start in range(0, len(block_ids), CATCH_UP_BATCH) for row in session.execute(
            statement, {"values": list(block_ids[start:start + CATCH_UP_BATCH]), "word": longest})]
    return [bid for bid, block in rows if pattern.search(block)]


def search_versions(
    session: Session, term: str, sites: Sequence[str] | None = None, *, case_sensitive: bool | None = None,
    after: tuple[str, str] | None = None, limit: int | None = None,
) -> list[SearchHit]:
    """Sites whose versions contain ``term`` (a phrase), by date of first mention, then hostname.

    ``after`` (a hit's ``(first.first_seen, site)``) and ``limit`` ask for one page of that list: only the
    page's hits are looked up in full, so a page of a phrase most sites use costs a page's worth.

    ``case_sensitive=None`` is *smart case* (as ripgrep's ``--smart-case``): a term with a capital letter
    matches its exact case, so "Do Not Sell" finds the CCPA link and not "we do not sell, rent or
    trade"; an all-lowercase term matches any case.

    Indexes any queued texts first (see :func:`catch_up`), so the answer covers everything stored.
    """
    words = term_words(term)
    if case_sensitive is None:
        case_sensitive = term != term.lower()
    catch_up(session)
    site_ids: list[int] | None = None
    if sites:
        hosts = [h.strip().lower().rstrip(".") for h in sites]
        known = dict(_in_batches(session, "SELECT hostname, id FROM sites WHERE hostname IN :values", hosts))
        for host in hosts:
            if host not in known:
                raise UnknownSite(host)
        site_ids = [known[h] for h in hosts]
    matches = _Matches.find(session, words, case_sensitive, check_later=limit is not None or site_ids is not None)
    if not matches.count:
        return []
    if site_ids is not None:
        per_site = _mentions_of_sites(session, matches, site_ids)
    elif limit is not None and matches.count > FOLD_AT_MOST_BLOCKS:
        per_site = _walk_first_mentions(session, matches, after, limit)
        if per_site is None:  # the page was not found within the walk's bounds
            per_site = _page_of_mentions(session, matches.checked(session), after, limit)
        return _hits(session, per_site)
    else:
        return _hits(session, _page_of_mentions(session, matches.checked(session), after, limit))
    keys = sorted((found.first[0], found.host, site_id) for site_id, found in per_site.items())
    if after is not None:
        keys = [key for key in keys if key[:2] > tuple(after)]
    if limit is not None:
        keys = keys[:limit]
    return _hits(session, {site_id: per_site[site_id] for *_, site_id in keys})


@dataclass
class _SiteMentions:
    """A site's mention rows for the matching blocks, folded: the earliest first and the latest last."""

    host: str
    first: tuple[str, int]  # (first_seen, version id)
    last: tuple[str, int]
    runs: list[str]  # each matching block's ranges of version ordinals (see _MENTIONS_OF_SITES)


@dataclass(frozen=True)
class _Matches:
    """The matching blocks, as SQL for statements over their mention rows ``m``.

    SQLite: a temporary table (there can be more ids than a statement takes; per connection, never in the
    schema) that ``joined`` walks first, seeking each block's rows (CROSS JOIN: no statistics on it, so
    the order is spelled out). PostgreSQL: an array parameter.

    A capitalized term matches its exact case, checked on the blocks' text. Up to CASE_CHECKED_UP_FRONT
    blocks in any case are checked when found; beyond that (a capitalized common word: "Privacy" is in
    490,000 blocks, 10 s of reading) the set holds the blocks in any case and ``case`` records the check of
    each block a walk or a site's rows meet (:meth:`keep`), so a page reads the texts it needs.

    SQLite, a page of a phrase in more than MATCHED_UP_FRONT_AT_MOST blocks: the fill stops there, at the
    block ``filled_to`` ("privacy": filling its 490,000 ids cost ~100 ms, most of a page). ``member``
    records, for each block a walk or a site's rows meet, whether the index matches it (:meth:`keep`:
    blocks up to ``filled_to`` are known from the table, the others looked up in the index), and the
    temporary table gets the matching blocks met, so the statements over it read only rows known to
    match. A fold asks for the whole set (:meth:`checked`).
    """

    count: int  # of a set looked up as met: MATCHED_UP_FRONT_AT_MOST + 1 (a lower bound)
    joined: str  # the FROM of the matching blocks' mention rows ``m``...
    where: str  # ...and its condition
    condition: str  # a condition on a column ``{column}`` holding a block id
    params: dict[str, object]
    words: Sequence[str]
    case: dict[int, bool] | None = None  # block id -> in the term's case, for a set not checked up front
    member: dict[int, bool] | None = None  # block id -> matched by the index, for a set not filled up front
    filled_to: int | None = None  # ...whose blocks up to this id are all in the temporary table

    @classmethod
    def find(cls, session: Session, words: Sequence[str], case_sensitive: bool, *, check_later: bool = False
             ) -> _Matches:
        """The blocks containing the phrase (in the term's letter case if ``case_sensitive``: with
        ``check_later``, a set too large to fill or check up front is looked up block by block as it is read)."""
        case: dict[int, bool] | None = {} if case_sensitive else None
        if session.get_bind().dialect.name != "sqlite":
            block_ids = _matching_blocks(session, words)
            found = cls(len(block_ids), f"{MENTIONS_TABLE} m", "m.block_id = ANY(:blocks)", "{column} = ANY(:blocks)",
                        {"blocks": block_ids}, words, case)
        else:
            found = cls(0, f"{_MATCHED} b CROSS JOIN {MENTIONS_TABLE} m", "m.block_id = b.block_id",
                        f"{{column}} IN (SELECT block_id FROM {_MATCHED})", {}, words, case)
            found = replace(found, count=found._fill(session, MATCHED_UP_FRONT_AT_MOST + 1 if check_later else None))
            if check_later and found.count > MATCHED_UP_FRONT_AT_MOST:
                # The fill stopped: the blocks up to the last one it took are known, the others looked up as met.
                filled_to = session.execute(text(f"SELECT max(block_id) FROM {_MATCHED}")).scalar_one()
                return replace(found, member={}, filled_to=filled_to)
        if case is not None and not (check_later and found.count > CASE_CHECKED_UP_FRONT):
            return found.checked(session)
        return found

    def _fill(self, session: Session, most: int | None = None) -> int:
        """SQLite: the temporary table filled with the matching blocks (at most ``most``: the first by id),
        from the index without a round trip (the ids of a word in a third of all blocks cost more as Python
        objects than the rest of a page)."""
        _empty_temporary(session, _MATCHED, "block_id INTEGER PRIMARY KEY")
        return session.execute(text(f"INSERT INTO {_MATCHED} (block_id) SELECT rowid FROM {FTS_TABLE} "
                                    f"WHERE {FTS_TABLE} MATCH :query ORDER BY rowid LIMIT :most"),
                               {"query": _fts_phrase(self.words), "most": -1 if most is None else most}).rowcount

    def checked(self, session: Session) -> _Matches:
        """The set with every block found and its case checked now (the exact set: what a fold needs)."""
        if self.member is not None:
            return replace(self, count=self._fill(session), member=None, filled_to=None).checked(session)
        if self.case is None:
            return self
        if "blocks" in self.params:
            block_ids = _same_case(session, self.params["blocks"], self.words) if self.count else []
            return replace(self, count=len(block_ids), params={"blocks": block_ids}, case=None)
        block_ids = _same_case(session, None, self.words) if self.count else []
        _empty_temporary(session, _MATCHED, "block_id INTEGER PRIMARY KEY")
        if block_ids:
            session.connection().exec_driver_sql(f"INSERT INTO {_MATCHED} (block_id) VALUES (?)",
                                                 [(b,) for b in block_ids])
        return replace(self, count=len(block_ids), case=None)

    def keep(self, session: Session, block_ids: Iterable[int], *, case: bool = True) -> set[int]:
        """Those of ``block_ids`` that match (all in the set unless it is looked up as met): each looked up in
        the index and (unless not ``case``) its case checked, once, if need be."""
        wanted = set(block_ids)
        if self.member is not None:
            unknown = [b for b in wanted if b not in self.member]
            if unknown:
                indexed = self._look_up(session, unknown)
                self.member.update((b, b in indexed) for b in unknown)
            wanted = {b for b in wanted if self.member[b]}
        if self.case is None or not case:
            return wanted
        unknown = [b for b in wanted if b not in self.case]
        if unknown:
            same = set(_same_case(session, unknown, self.words))
            self.case.update((b, b in same) for b in unknown)
        return {b for b in wanted if self.case[b]}

    def _look_up(self, session: Session, block_ids: Sequence[int]) -> set[int]:
        """Which of ``block_ids`` the index matches (SQLite), added to the temporary table of those met.

        A few blocks are sought one by one (~20 us each: FTS5 restarts the phrase for each rowid). Many go
        into a table that the phrase's matches probe, in ranges of block ids: a site's blocks were indexed
        together, so its ids cluster, and FTS5 seeks each range's start in the phrase's matches (~35 us)
        and passes its matches (~0.2 us each). A gap between two blocks starts a new range when passing
        it would cost more than a seek; ranges covering most ids are one pass over all the matches."""
        filled = [b for b in block_ids if self.filled_to is not None and b <= self.filled_to]
        block_ids = [b for b in block_ids if self.filled_to is None or b > self.filled_to]
        known = {bid for bid, in _in_batches(session, f"SELECT block_id FROM {_MATCHED} WHERE block_id IN :values", filled)}
        if not block_ids:
            return known
        query = _fts_phrase(self.words)
        if len(block_ids) * LOOK_UP_ONE_BY_ONE_COST < self.count or len(block_ids) <= LOOK_UP_ONE_BY_ONE_AT_MOST:
            indexed = {bid for bid, in _in_batches(
                session, f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :query AND rowid IN :values",
                block_ids, query=query)}
        else:
            ids = sorted(block_ids)
            span = session.execute(text(f"SELECT max(id) FROM {BLOCKS_TABLE}")).scalar_one() or 1
            gap = LOOK_UP_ONE_BY_ONE_COST * span / self.count  # ids whose matches cost a seek to pass
            ranges: list[list[int]] = []
            for bid in ids:
                if ranges and bid - ranges[-1][1] <= gap:
                    ranges[-1][1] = bid
                else:
                    ranges.append([bid, bid])
            _empty_temporary(session, _CANDIDATES, "block_id INTEGER PRIMARY KEY")
            _empty_temporary(session, _RANGES, "lo INTEGER, hi INTEGER")
            session.connection().exec_driver_sql(f"INSERT INTO {_CANDIDATES} (block_id) VALUES (?)", [(b,) for b in ids])
            if sum(hi - lo + 1 for lo, hi in ranges) > RANGES_COVER_AT_MOST * span:
                sql = (f"SELECT f.rowid FROM {FTS_TABLE} f CROSS JOIN {_CANDIDATES} c "
                       f"WHERE {FTS_TABLE} MATCH :query AND c.block_id = f.rowid")
            else:
                session.connection().exec_driver_sql(f"INSERT INTO {_RANGES} (lo, hi) VALUES (?, ?)",
                                                     [(lo, hi) for lo, hi in ranges])
                sql = (f"SELECT f.rowid FROM {_RANGES} r CROSS JOIN {FTS_TABLE} f CROSS JOIN {_CANDIDATES} c "
                       f"WHERE {FTS_TABLE} MATCH :query AND f.rowid BETWEEN r.lo AND r.hi AND c.block_id = f.rowid")
            indexed = set(session.execute(text(sql), {"query": query}).scalars())
        if indexed:
            session.connection().exec_driver_sql(f"INSERT OR IGNORE INTO {_MATCHED} (block_id) VALUES (?)",
                                                 [(b,) for b in indexed])
        return known | indexed


def _statement(sql: str, params: dict[str, object]) -> Any:
    statement = text(sql)
    if "blocks" in params:
        statement = statement.bindparams(bindparam("blocks", type_=postgresql.ARRAY(Integer)))
    if "sites" in params:
        statement = statement.bindparams(bindparam("sites", expanding=True))
    return statement


# A version's (moment, id) as one text that sorts like the pair, so that SQL's min/max pick first and last.
_MOMENT_KEY = {"sqlite": "{at} || printf('%020d', {id})",
               "postgresql": "{at} || lpad(CAST({id} AS TEXT), 20, '0')"}
# Up to this many matching blocks a page of sites comes from folding all their mention rows
# (:func:`_page_of_mentions`: a few milliseconds); beyond it from a walk in order of first mention.
FOLD_AT_MOST_BLOCKS = 1_000
# Up to this many blocks in any case, a capitalized term's case is checked for all of them at once
# (~50 ms warm for "Do Not Sell"'s 12,700); beyond, block by block as a page meets them (see _Matches).
CASE_CHECKED_UP_FRONT = 20_000
CASE_CHECKED_PER_STATEMENT = 64  # a walk's rows read ahead to check their blocks (case, index) in one statement
# SQLite: beyond this many matching blocks a page's set is looked up as met, not filled (see _Matches).
MATCHED_UP_FRONT_AT_MOST = 100_000
# Seeking one block in the index costs about as much as passing this many of the phrase's matches; up to
# so many blocks (a walk's rows read ahead) are always sought one by one.
LOOK_UP_ONE_BY_ONE_COST = 200
LOOK_UP_ONE_BY_ONE_AT_MOST = 64
RANGES_COVER_AT_MOST = 0.5  # of all block ids; ranges covering more are one pass over all the phrase's matches
# A walk over a set looked up as met reads this many rows ahead: a site's first version puts its blocks
# side by side in the walk, and one of the first few usually matches (the rest of the site's are skipped).
LOOKED_UP_PER_STATEMENT = 8
# The walk's bounds (:func:`_walk_first_mentions`): index entries it may step, as a floor plus so many per
# matching block (stepping an entry costs a tenth of folding a matching row), and matching rows it may
# read per site of the page (rows of sites already met are skipped: a deep page meets many).
WALK_MIN_ENTRIES = 50_000
WALK_ENTRIES_PER_BLOCK = 16
WALK_ROWS_PER_SITE = 40


def _page_of_mentions(session: Session, matches: _Matches, after: tuple[str, str] | None,
                      limit: int | None) -> dict[int, _SiteMentions]:
    """The matching blocks' mentions folded per site in SQL, and only one page of sites (by first mention,
    then hostname, after ``after``; every site without ``limit``) brought back: a phrase thousands of sites
    use costs one aggregate over their mention rows, not a Python object per row."""
    assert matches.case is None, "a fold needs the exact set"
    dialect = session.get_bind().dialect.name
    params = dict(matches.params)
    first = _MOMENT_KEY[dialect].format(at="m.first_at", id="m.first_version_id")
    last = _MOMENT_KEY[dialect].format(at="m.last_at", id="m.last_version_id")
    where = ""
    if after is not None:
        where = "WHERE substr(first_key, 1, 14) > :at OR (substr(first_key, 1, 14) = :at AND hostname > :host)"
        params.update(at=after[0], host=after[1])
    # No limit: LIMIT -1 on SQLite, LIMIT NULL on PostgreSQL.
    params["n"] = limit if limit is not None else (-1 if dialect == "sqlite" else None)
    rows = session.execute(_statement(f"""
        SELECT site_id, hostname, first_key, last_key, runs FROM (
            SELECT m.site_id AS site_id, s.hostname AS hostname, min({first}) AS first_key, max({last}) AS last_key,
                   {_CONCAT[dialect]}(m.runs, ',') AS runs
            FROM {matches.joined} JOIN sites s ON s.id = m.site_id WHERE {matches.where}
            GROUP BY m.site_id, s.hostname) folded
        {where} ORDER BY substr(first_key, 1, 14), hostname LIMIT :n""", params), params)
    return {site_id: _SiteMentions(host, (first_key[:14], int(first_key[14:])), (last_key[:14], int(last_key[14:])),
                                   [runs])
            for site_id, host, first_key, last_key, runs in rows}


def _walk_first_mentions(session: Session, matches: _Matches, after: tuple[str, str] | None,
                         limit: int) -> dict[int, _SiteMentions] | None:
    """One page of sites by first mention, found by walking the mention rows in order of ``first_at``
    (``ix_search_mentions_first_at``, migration ``0015_search_speed``) and stopping once the page is known;
    ``None`` when the walk's bounds are reached first (the caller folds instead).

    The first matching row of a site met in that order is its first mention from ``after`` on; a site
    whose rows all come later cannot overtake it. So once ``limit`` sites are settled and the walk has
    moved past their moment, they are the page. A site met on a later page's walk may have mentioned the
    term before the cursor: settling reads each site's matching rows, which say so, and drops it.
    The walk steps the index entries (no row reads); a phrase in most texts settles a page within a few
    hundred entries, a phrase in 1% of them within thousands, and one whose mentions all come late (a
    paragraph adopted in 2020) reaches the bound and is folded.
    """
    params = dict(matches.params)
    params.update(at=after[0] if after else "", entries=WALK_MIN_ENTRIES + WALK_ENTRIES_PER_BLOCK * matches.count,
                  rows=WALK_ROWS_PER_SITE * limit + 1000)
    # A set looked up as met is not in SQL yet: the walk reads every entry and the loop looks its blocks up.
    condition = "1 = 1" if matches.member is not None else matches.condition.format(column="w.block_id")
    # The subquery walks the index in order (SQLite: a co-routine; PostgreSQL: an index-only scan under a
    # filter), which the loop below checks rather than trusts: an outer ORDER BY would sort every row.
    walk = session.execute(_statement(f"""
        SELECT w.first_at, w.site_id, w.block_id FROM (
            SELECT first_at, site_id, block_id FROM {MENTIONS_TABLE} WHERE first_at >= :at
            ORDER BY first_at, site_id LIMIT :entries) w
        WHERE {condition}""", params), params)
    settled: dict[int, _SiteMentions] = {}
    pending: list[int] = []
    met: set[int] = set()
    previous, walked = "", 0  # walked: matching rows (in any case), bounded by params["rows"]

    def settle() -> dict[int, _SiteMentions]:
        for site_id, found in _mentions_of_sites(session, matches, pending).items():
            if after is None or (found.first[0], found.host) > tuple(after):
                settled[site_id] = found
        pending.clear()
        keys = sorted((found.first[0], found.host, site_id) for site_id, found in settled.items())[:limit]
        return {site_id: settled[site_id] for *_, site_id in keys}

    def looked_up(ahead: list[Any]) -> list[tuple[str, int]]:
        """Of the walk's rows read ahead, those whose block matches; the matching rows (in any case) are
        counted against the bound and none past it is kept."""
        nonlocal walked
        indexed = matches.keep(session, {block_id for *_, block_id in ahead}, case=False)
        ahead = [row for row in ahead if row[2] in indexed][:params["rows"] + 1 - walked]
        walked += len(ahead)
        kept = matches.keep(session, {block_id for *_, block_id in ahead})
        return [(first_at, site_id) for first_at, site_id, block_id in ahead if block_id in kept]

    def matching() -> Iterator[tuple[str, int]]:
        """The walk's matching rows, up to the bound: a set not filled or checked up front is looked up a few
        dozen rows at a time."""
        size = (1 if matches.case is None and matches.member is None
                else LOOKED_UP_PER_STATEMENT if matches.member is not None else CASE_CHECKED_PER_STATEMENT)
        ahead: list[Any] = []
        for row in walk:
            if row[1] in met:  # a site met already: its later rows cannot change the page (see the loop)
                continue
            ahead.append(row)
            if len(ahead) == size:
                yield from looked_up(ahead)
                ahead = []
                if walked > params["rows"]:
                    return
        yield from looked_up(ahead)

    try:
        for first_at, site_id in matching():
            if first_at < previous:
                return None
            # Every site first mentioned before first_at has been met: settle them once there may be enough.
            if site_id not in met and first_at > previous and len(settled) + len(pending) >= limit:
                page = settle()
                if len(page) >= limit:
                    return page
            previous = first_at
            if site_id not in met:
                met.add(site_id)
                pending.append(site_id)
    finally:
        walk.close()
    # The walk ended: at the end of the index (every later site met: the page is what there is), or at a bound.
    beyond = session.execute(text(f"SELECT 1 FROM {MENTIONS_TABLE} WHERE first_at >= :at "
                                  "ORDER BY first_at, site_id LIMIT 1 OFFSET :entries"), params).first()
    return settle() if walked <= params["rows"] and beyond is None else None


def _mentions_of_sites(session: Session, matches: _Matches, site_ids: Sequence[int]) -> dict[int, _SiteMentions]:
    """The given sites' mention rows of the matching blocks, folded per site.

    Found through each site's entries in ``ix_search_mentions_site_id`` (~200 per site at a million
    versions). SQLite: the entries (``k``, the index alone) are walked first, the matching blocks sought,
    and only the matching rows read (CROSS JOIN: with the blocks first the planner would seek every matching
    block once per site; reading every row of the sites first costs 20 times more)."""
    columns = "m.site_id, s.hostname, m.first_at, m.first_version_id, m.last_at, m.last_version_id, m.runs, m.block_id"
    params = {**matches.params, "sites": list(site_ids)}
    if matches.member is not None:  # the sites' blocks looked up first: the temporary table then has them
        matches.keep(session, session.execute(_statement(
            f"SELECT DISTINCT block_id FROM {MENTIONS_TABLE} WHERE site_id IN :sites", params), params).scalars(),
            case=False)
    if session.get_bind().dialect.name == "sqlite":
        source = (f"{MENTIONS_TABLE} k CROSS JOIN {_MATCHED} b CROSS JOIN {MENTIONS_TABLE} m "
                  "JOIN sites s ON s.id = m.site_id WHERE k.site_id IN :sites AND b.block_id = k.block_id "
                  "AND m.block_id = k.block_id AND m.site_id = k.site_id")
    else:
        source = f"{MENTIONS_TABLE} m JOIN sites s ON s.id = m.site_id WHERE m.site_id IN :sites AND m.block_id = ANY(:blocks)"
    rows = session.execute(_statement(f"SELECT {columns} FROM {source}", params), params).all()
    kept = matches.keep(session, {row[-1] for row in rows})
    per_site: dict[int, _SiteMentions] = {}
    for site_id, host, first_at, first_id, last_at, last_id, runs, block_id in rows:
        if block_id not in kept:
            continue
        found = per_site.setdefault(site_id, _SiteMentions(host, (first_at, first_id), (last_at, last_id), []))
        found.first = min(found.first, (first_at, first_id))
        found.last = max(found.last, (last_at, last_id))
        found.runs.append(runs)
    return per_site


def _versions_matching(found: _SiteMentions) -> int:
    """How many of a site's versions contain a matching block: the size of the union of the blocks' ranges."""
    ranges = sorted((int(lo), int(hi)) for runs in found.runs for lo, hi in (r.split("-") for r in runs.split(",")))
    count, reached = 0, -1
    for lo, hi in ranges:
        if hi > reached:
            count += hi - max(lo, reached + 1) + 1
            reached = hi
    return count


def _hits(session: Session, per_site: dict[int, _SiteMentions]) -> list[SearchHit]:
    """The search hits of the sites' folded mentions: the first and last versions' details, the counts."""
    if not per_site:
        return []
    totals = dict(_in_batches(session, "SELECT id, version_count FROM sites WHERE id IN :values", list(per_site)))
    wanted = {vid for found in per_site.values() for vid in (found.first[1], found.last[1])}
    details = {
        vid: (host, Mention(version_id=vid, page_url=url, first_seen=first_seen, last_seen=last_seen), bool(latest))
        for vid, host, url, first_seen, last_seen, latest in _in_batches(session, """
            SELECT v.id, s.hostname, p.url, v.first_seen, v.last_seen,
                   NOT EXISTS (SELECT 1 FROM versions w WHERE w.page_id = v.page_id AND w.first_seen > v.first_seen)
            FROM versions v JOIN pages p ON p.id = v.page_id JOIN sites s ON s.id = p.site_id
            WHERE v.id IN :values""", sorted(wanted))
    }
    hits = []
    for site_id, found in per_site.items():
        host, first, _ = details[found.first[1]]
        _, last, current = details[found.last[1]]
        hits.append(SearchHit(site=host, first=first, last=last, versions_matching=_versions_matching(found),
                              versions_total=int(totals[site_id]), current=current))
    return sorted(hits, key=lambda h: (h.first.first_seen, h.site))
