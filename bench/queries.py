#!/usr/bin/env python3
"""Latency of the research queries and of every web page, and storage per version, on a realistic database.

    .venv/bin/python bench/queries.py [--sites 10000] [--versions 100] [--captures 60] [--no-snapshots]
                                      [--samples 200] [--backend sqlite] [--backend postgresql]
                                      [--workdir DIR] [--keep] [--reuse] [--load-only] [--level 3] [--cold]

Generates SITES sites × VERSIONS versions (defaults: 10,000 × 100 = 1,000,000 versions) through
``storage.bulkload`` and reports, per backend, p50/p95 latency of the storage functions behind
``history``, ``show --at``, ``search`` and ``changes --since`` (in-process, fresh session per call: what
the CLI pays after start-up), then server time of every page and API list of ``policytrack serve`` (in
process: routing, queries, rendering): its first request apart (``--cold``: on a cold cache, the file
dropped from the OS page cache), then p50/p95 of the others, flagging any over 200 ms; then the size of
each table and of the whole database per version, raw snapshots included.

Texts: each site starts from a real policy of the shared corpus (../shared/corpus/pllcpp, 1-18 KB of
markdown; a synthetic policy when it is absent), made site-specific (hostname, company name), and every
version edits the previous one like real revisions do: a sentence replaced, a paragraph added (policies
grow), now and then one removed, and 5% of versions revert to an earlier text (a shared body). Sites
adopt "GDPR" wording after May 2018 (40%) and a "Do Not Sell" link after 2020 (20%), so the searches
have realistic selectivity. Generation runs in a second process; compression uses every core.

Captures: each version is seen by tens to hundreds of captures (log-normal, median ``--captures``), as
a crawl records them: the first and the last fetched, with a raw snapshot each (the site's page chrome,
scripts and navigation around the policy, ~20 KB, with per-request bytes so no two captures' payloads are
equal), the ones between inferred by bisection. Every change is summarized as a crawl's rebuild does
(difflib: lines, similarity, sections). Loading costs, per version, the 60-odd capture rows, the
summary's diff, compression and the search index; ``--level`` is the zstd level of texts and snapshots
(default 3: the crawler's 10 makes payloads ~6% smaller for five times the CPU, and nothing read by a
query differs). The size is a parameter and every figure is printed with the size it was measured at.

``--keep --workdir DIR`` keeps the SQLite file; ``--reuse`` measures it again (after a code or index
change) without generating it anew, first loading the sites it lacks when it holds fewer than
``--sites`` (a build cut short continues where it stopped); ``--load-only`` builds without measuring
(a long build in the background, measured later with ``--reuse``). PostgreSQL runs when asked with ``--backend postgresql``: on
$POLICYTRACK_BENCH_POSTGRES (a URL), else on a throwaway cluster started from the Debian binaries
(storage.testing).
"""

from __future__ import annotations

import argparse
import functools
import html
import math
import multiprocessing
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import storage  # noqa: E402
from core.errors import NoVersion  # noqa: E402
from storage.bulkload import BulkLoader, BulkPage, BulkVersion  # noqa: E402
from storage.search import is_search_object  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "pllcpp"
BATCH_PAGES = 20
PAGE_BUDGET_MS = 200  # each page's server time at p95 (issue 12)
WINDOW_SITES = 100
START, END = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2024, 12, 31, tzinfo=timezone.utc)
GDPR = ("Under the General Data Protection Regulation (GDPR), residents of the European Economic Area have "
        "the right to access, correct and erase their personal data and to object to its processing.")
DO_NOT_SELL = ("California residents may opt out of the sale of their personal information at our "
               "[Do Not Sell My Personal Information](https://example.com/do-not-sell) page.")
SYNTHETIC_WORDS = ("we collect use share your personal information data cookies third parties services site "
                   "account email address privacy policy advertising partners law request access delete "
                   "security retain process consent opt out children browser device location").split()


# --- generation -----------------------------------------------------------------------------------


def _corpus_documents() -> list[list[str]]:
    """Paragraph lists of the corpus documents (header and title lines dropped)."""
    docs = []
    for path in sorted(CORPUS.glob("*.md")) if CORPUS.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        paragraphs = [p for p in text.split("\n\n")[2:] if p.strip()]
        if len(paragraphs) >= 3:
            docs.append(paragraphs)
    return docs


def _synthetic_documents(rng: random.Random) -> list[list[str]]:
    def sentence() -> str:
        return " ".join(rng.choice(SYNTHETIC_WORDS) for _ in range(rng.randint(8, 25))).capitalize() + "."

    return [[" ".join(sentence() for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(10, 40))]
            for _ in range(30)]


class Generator:
    def __init__(self, versions: int, seed: int = 6, captures: int = 0, snapshots: bool = True):
        self.versions = versions
        self.captures = captures  # mean captures per version (log-normal); 0: one capture per version
        self.snapshots = snapshots
        self.seed = seed
        rng = random.Random(seed)
        self.documents = _corpus_documents() or _synthetic_documents(rng)
        self.sentences = [s for doc in self.documents for p in doc for s in re.split(r"(?<=\.) ", p) if len(s) > 40]

    def hostname(self, index: int) -> str:
        return f"site{index:05d}.example"

    def page(self, index: int) -> BulkPage:
        rng = random.Random(self.seed * 1_000_003 + index)
        host = self.hostname(index)
        company = f"Company {index:05d}"
        base = self.documents[index % len(self.documents)]
        paragraphs = [f"This policy describes how {company} ({host}) handles your information."] + [
            p.replace("we ", f"{company} ", 1) if i % 7 == 0 else p for i, p in enumerate(base)
        ]
        seconds = int((END - START).total_seconds())
        moments = sorted(rng.sample(range(seconds), self.versions))
        gdpr = rng.random() < 0.4
        do_not_sell = rng.random() < 0.2
        history: list[list[str]] = []
        versions = []
        for n, offset in enumerate(moments):
            when = START + timedelta(seconds=offset)
            if n >= 2 and rng.random() < 0.05 and history[-2] != history[-1]:
                paragraphs = list(history[-2])  # a revert: the same body as two versions ago
            elif n:
                paragraphs = self._edit(rng, paragraphs)
                if gdpr and when.year >= 2018 and GDPR not in paragraphs:
                    paragraphs.insert(rng.randint(1, len(paragraphs)), GDPR)
                if do_not_sell and when.year >= 2020 and DO_NOT_SELL not in paragraphs:
                    paragraphs.append(DO_NOT_SELL)
            if history and paragraphs == history[-1]:
                paragraphs = paragraphs + [rng.choice(self.sentences)]
            history.append(paragraphs)
            end = moments[n + 1] if n + 1 < len(moments) else seconds
            later = self._later_captures(rng, offset, end)
            body = "\n\n".join(paragraphs) + "\n"
            raw = [self._html(host, company, paragraphs, stamp) for stamp in [offset, *later[-1:]]] if self.snapshots else []
            versions.append(BulkVersion(_stamp(offset), f"{company} Privacy Policy", body,
                                        later_captures=[_stamp(t) for t in later], snapshots=raw))
        return BulkPage(host, f"https://{host}/privacy", versions)

    def _later_captures(self, rng: random.Random, start: int, end: int) -> list[int]:
        """The moments of a version's later captures: tens to hundreds (log-normal around the mean)."""
        if not self.captures:
            return []
        count = min(int(rng.lognormvariate(math.log(self.captures), 0.7)), end - start - 1)
        return sorted(rng.sample(range(start + 1, end), max(count - 1, 0)))

    def _html(self, host: str, company: str, paragraphs: list[str], moment: int) -> bytes:
        """A page as an archive returns it: the site's chrome (scripts, navigation, footer: ~10 KB) around
        the policy, with the per-request bits (a nonce, the render time) that make each capture's bytes differ."""
        links, script = self._chrome(host)
        nonce = random.Random(moment).getrandbits(64)
        return (f'<!DOCTYPE html><html><head><title>{company} Privacy Policy</title>'
                f'<script nonce="{nonce:x}">var config = "{script}";</script></head><body>'
                f'<nav><ul>{links}</ul></nav><main><h1>{company} Privacy Policy</h1>'
                + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
                + f'</main><footer>&copy; {company} <!-- rendered {moment} --></footer></body></html>').encode()

    @functools.lru_cache(maxsize=4)
    def _chrome(self, host: str) -> tuple[str, str]:
        """A site's navigation and script: the same on every page of the site."""
        rng = random.Random(host)
        links = "".join(f'<li><a href="/{w}">{w.title()}</a></li>' for w in rng.sample(SYNTHETIC_WORDS, 20))
        return links, " ".join(rng.choice(SYNTHETIC_WORDS) for _ in range(1200))

    def _edit(self, rng: random.Random, paragraphs: list[str]) -> list[str]:
        paragraphs = list(paragraphs)
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            i = rng.randrange(1, len(paragraphs)) if len(paragraphs) > 1 else 0
            if roll < 0.5:  # a sentence replaced inside a paragraph
                parts = re.split(r"(?<=\.) ", paragraphs[i])
                parts[rng.randrange(len(parts))] = rng.choice(self.sentences)
                paragraphs[i] = " ".join(parts)
            elif roll < 0.9:  # a new paragraph: policies grow
                paragraphs.insert(i, " ".join(rng.choice(self.sentences) for _ in range(rng.randint(1, 4))))
            elif len(paragraphs) > 5:
                del paragraphs[i]
        return paragraphs


def _stamp(offset: int) -> str:
    return (START + timedelta(seconds=offset)).strftime("%Y%m%d%H%M%S")


_generator: Generator | None = None


def _init(options: dict) -> None:
    global _generator
    _generator = Generator(**options)


def _make(index: int) -> BulkPage:
    assert _generator is not None
    return _generator.page(index)


def generate(database: storage.Database, sites: int, options: dict, *, first: int = 0, level: int = 3
             ) -> dict[str, float]:
    """Fill the database with sites ``first`` to ``sites - 1``; returns load figures (``cpu_s``: the loading
    process's CPU time, generation apart: on a shared machine wall time says more about the others)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    totals = storage.bulkload.BulkResult()
    context = multiprocessing.get_context("fork")
    windows = [range(start, min(start + WINDOW_SITES, sites)) for start in range(first, sites, WINDOW_SITES)]
    if not windows:
        return {"load_s": 0.0, "cpu_s": 0.0, **vars(totals)}
    done = first
    with context.Pool(1, initializer=_init, initargs=(options,)) as pool, database.session(immediate=True) as session:
        loader = BulkLoader(session, level=level)
        # The next window is generated while this one loads; never more than two in memory.
        pending = pool.map_async(_make, windows[0], chunksize=4)
        for k in range(len(windows)):
            pages = pending.get()
            if k + 1 < len(windows):
                pending = pool.map_async(_make, windows[k + 1], chunksize=4)
            for start in range(0, len(pages), BATCH_PAGES):
                totals.add(loader.load(pages[start : start + BATCH_PAGES]))
                session.commit()
            done += len(pages)
            if done % 500 == 0 or done == sites:
                rate = totals.versions / (time.perf_counter() - started)
                print(f"  loaded {done:,}/{sites:,} sites, {totals.versions:,} versions ({rate:,.0f}/s)",
                      file=sys.stderr, flush=True)
        loader.finish()
    return {"load_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu_started, **vars(totals)}


# --- measurement ----------------------------------------------------------------------------------


def _percentiles(times: list[float]) -> tuple[float, float]:
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def timed(database: storage.Database, samples: int, call: Callable[[object, random.Random], object]) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``call(session, rng)``, each in a fresh session."""
    rng = random.Random(42)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        with database.session() as session:
            call(session, rng)
        times.append((time.perf_counter() - start) * 1000)
    return _percentiles(times)


def evict(database: storage.Database, path: Path | None) -> None:
    """Make the next query cold: close the pooled connections (SQLite's page cache goes with them) and drop
    the database file from the operating system's page cache (this file only: posix_fadvise DONTNEED)."""
    database.engine.dispose()
    for name in (path, Path(f"{path}-wal")) if path else ():
        if name.exists():
            with open(name, "rb") as handle:
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def measure_pages(database: storage.Database, gen: Generator, sites: int, samples: int,
                  cold: Path | None = None) -> list[tuple[str, float, float, float]]:
    """The first request's time, then p50/p95 of the others, in server time of every page and API list of
    the web view (``policytrack serve``), in process: routing, every query the page makes, markdown/diff/
    template rendering; no network. ``cold`` (the SQLite file): each page's first request runs on a cold
    cache (see :func:`evict`); otherwise it comes after the pages before it, in this process."""
    from fastapi.testclient import TestClient

    from web import create_app

    client = TestClient(create_app(database))
    rng = random.Random(7)

    def some_site() -> str:
        return gen.hostname(rng.randrange(sites))

    def some_day() -> str:
        return (START + timedelta(days=rng.randrange((END - START).days))).date().isoformat()

    def some_version() -> tuple[str, int]:
        host = some_site()
        items = client.get(f"/api/sites/{host}/versions", params={"limit": 500}).json()["items"]
        return host, rng.choice(items)["id"]

    deep = client.get("/api/sites", params={"limit": 500}).json()["next_cursor"]  # a cursor 500 sites down
    dns_next = client.get("/api/search", params={"q": "do not sell", "limit": 50}).json()["next_cursor"]
    since = (END.date() - timedelta(days=90)).isoformat()
    pages: list[tuple[str, Callable[[], str], int]] = [
        ("page: sites (first page)", lambda: "/", samples),
        ("page: sites (500 sites down)", lambda: f"/?cursor={deep}" if deep else "/", samples),
        ("page: sites by last change", lambda: "/?sort=last_change", max(5, samples // 10)),
        ("page: sites by versions", lambda: "/?sort=versions", max(5, samples // 10)),
        ("page: site timeline", lambda: f"/sites/{some_site()}", samples),
        ("page: version", lambda: "/sites/{}/versions/{}".format(*some_version()), samples),
        ("page: version ?at=DATE", lambda: f"/sites/{some_site()}/version?at={some_day()}", samples),
        ("page: diff (latest change, side by side)", lambda: f"/sites/{some_site()}/diff", samples),
        ("page: diff (a change, inline)",
         lambda: (lambda h, v: f"/sites/{h}/diff?to={v}&view=inline")(*some_version()), samples),
        ("page: changes (latest)", lambda: "/changes", samples),
        ("page: changes since 90 days", lambda: f"/changes?since={since}", samples),
        ("page: search rare word", lambda: "/search?q=xylophone", max(5, samples // 10)),
        ("page: search GDPR (common)", lambda: "/search?q=GDPR", max(5, samples // 10)),
        ("page: search 'do not sell' (common)", lambda: "/search?q=do+not+sell", max(20, samples // 4)),
        ("page: search 'do not sell', next page", lambda: "/search?q=do+not+sell" + (f"&cursor={dns_next}" if dns_next else ""),
         max(20, samples // 4)),
        ("page: search 'Do Not Sell' (smart case)", lambda: "/search?q=Do+Not+Sell", max(20, samples // 4)),
        ("page: search 'privacy' (most blocks)", lambda: "/search?q=privacy", max(20, samples // 4)),
        ("page: search 'Privacy' (most blocks, case)", lambda: "/search?q=Privacy", max(20, samples // 4)),
        ("api: search 'do not sell'", lambda: "/api/search?q=do+not+sell", max(20, samples // 4)),
        ("feed: all sites", lambda: "/feed.atom", max(5, samples // 10)),
        ("feed: one site", lambda: f"/sites/{some_site()}/feed.atom", samples),
        ("api: sites", lambda: "/api/sites", samples),
        ("api: versions of a site", lambda: f"/api/sites/{some_site()}/versions", samples),
        ("api: changes since 90 days", lambda: f"/api/changes?since={since}", samples),
    ]
    results = []
    for label, url, count in pages:
        times = []
        if cold:
            evict(database, cold)
        for _ in range(count + 1):
            target = url()
            start = time.perf_counter()
            response = client.get(target)
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code not in (200, 303, 404):  # 404: a date before the site's first version
                raise RuntimeError(f"{target}: {response.status_code} {response.text[:200]}")
        results.append((label, times[0], *_percentiles(times[1:])))
    return results


def measure(database: storage.Database, gen: Generator, sites: int, samples: int) -> list[tuple[str, float, float]]:
    def some_site(rng: random.Random) -> str:
        return gen.hostname(rng.randrange(sites))

    def some_day(rng: random.Random) -> date:
        return (START + timedelta(days=rng.randrange((END - START).days))).date()

    def show_at(session: object, rng: random.Random) -> None:
        try:
            storage.version_at(session, some_site(rng), some_day(rng))
        except NoVersion:
            pass  # a date before the site's first version: answered with a message, also timed

    latest = END.date()
    with database.session(immediate=True) as session:
        storage.catch_up(session)  # nothing queued after a bulk load; a crawl's texts would be indexed here
    results = [
        ("history SITE", *timed(database, samples, lambda s, r: storage.site_history(s, some_site(r)))),
        ("show SITE --at DATE", *timed(database, samples, show_at)),
        ("changes --since (last 7 days)", *timed(database, max(5, samples // 10),
                                                 lambda s, r: storage.list_changes(s, since=latest - timedelta(days=7)))),
        ("changes --since (last 90 days)", *timed(database, max(5, samples // 10),
                                                  lambda s, r: storage.list_changes(s, since=latest - timedelta(days=90)))),
        ("changes --site SITE", *timed(database, samples, lambda s, r: storage.list_changes(s, sites=[some_site(r)]))),
    ]
    searches = [("rare word", "xylophone"), ("'do not sell' (any case)", "do not sell"), ("GDPR (smart case)", "GDPR"),
                ("'Do Not Sell' (smart case)", "Do Not Sell"), ("GDPR, one site", None)]
    for label, term in searches:
        n = max(3, samples // 40)
        if term is None:
            call = lambda s, r: storage.search_versions(s, "GDPR", [some_site(r)])  # noqa: E731
        else:
            call = lambda s, r, t=term: storage.search_versions(s, t)  # noqa: E731
        results.append((f"search {label}", *timed(database, n, call)))
    # What the search page and /api/search ask for: the first 51 hits (one more: is there a next page).
    for label, term in [("'do not sell'", "do not sell"), ("'privacy'", "privacy")]:
        results.append((f"search {label}, a page (51 hits)",
                        *timed(database, max(20, samples // 4), lambda s, r, t=term: storage.search_versions(s, t, limit=51))))
    return results


def sizes(database: storage.Database, backend: str, path: Path | None) -> dict[str, int]:
    from sqlalchemy import text

    with database.session() as session:
        if backend == "sqlite":
            session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            page_size = session.execute(text("PRAGMA page_size")).scalar_one()
            try:
                per_object = {n: s for n, s in session.execute(text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))}
            except Exception:
                per_object = {}
            total = path.stat().st_size if path else session.execute(text("PRAGMA page_count")).scalar_one() * page_size
            fts = sum(v for k, v in per_object.items() if is_search_object(k) or k.startswith("sqlite_autoindex_search_"))
            texts = per_object.get("version_texts", 0)
            snapshots = per_object.get("snapshots", 0)
            captures = sum(v for k, v in per_object.items() if k == "captures" or k.startswith("ix_captures")
                           or k.startswith("sqlite_autoindex_captures"))
        else:
            total = session.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            fts = session.execute(text("SELECT pg_total_relation_size('search_blocks') + "
                                       "pg_total_relation_size('search_text_blocks') + "
                                       "pg_total_relation_size('search_queue')")).scalar_one()
            texts = session.execute(text("SELECT pg_total_relation_size('version_texts')")).scalar_one()
            snapshots = session.execute(text("SELECT pg_total_relation_size('snapshots')")).scalar_one()
            captures = session.execute(text("SELECT pg_total_relation_size('captures')")).scalar_one()
    return {"total": int(total), "search_index": int(fts), "version_texts": int(texts), "snapshots": int(snapshots),
            "captures": int(captures)}


def open_backend(backend: str, workdir: Path, reuse: bool) -> tuple[storage.Database, Path | None, Callable[[], None]]:
    if backend == "sqlite":
        path = workdir / "bench.db"
        if not reuse:
            path.unlink(missing_ok=True)
        return storage.open_database(str(path)), path, lambda: None
    url = os.environ.get("POLICYTRACK_BENCH_POSTGRES")
    if url:
        return storage.open_database(url), None, lambda: None
    from storage.testing import shared_server

    server = shared_server()
    url = server.create_database()
    return storage.open_database(url), None, lambda: server.drop_database(url)


def run(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    reuse = args.reuse and backend == "sqlite" and (workdir / "bench.db").exists()
    database, path, cleanup = open_backend(backend, workdir, reuse)
    options = {"versions": args.versions, "captures": args.captures, "snapshots": not args.no_snapshots}
    try:
        print(f"\n== {backend}: {args.sites:,} sites x {args.versions} versions, ~{args.captures} captures per version, "
              f"{'no ' if args.no_snapshots else ''}raw snapshots ==", flush=True)
        if reuse:
            present = int(_counted(database)["sites"])
            if present < args.sites:
                print(f"reusing {path} (--reuse): {present:,} sites there, loading the {args.sites - present:,} missing")
                grown = generate(database, args.sites, options, first=present, level=args.level)
                print(_load_figures(grown, args.level))
            else:
                print(f"reusing {path} (--reuse): load figures not measured")
            load = _counted(database)
        else:
            load = generate(database, args.sites, options, level=args.level)
            print(_load_figures(load, args.level))
        if args.load_only:
            return
        sites = int(_counted(database)["sites"])
        if sites != args.sites:
            print(f"measured at the size the database has: {sites:,} sites")
        with database.engine.connect() as connection:
            if backend == "sqlite":  # statistics from a sample of each index: a full ANALYZE reads gigabytes
                connection.exec_driver_sql("PRAGMA analysis_limit=2000")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        versions = int(load["versions"])
        print(f"{versions:,} versions, {int(load['texts']):,} distinct texts, {int(load['captures']):,} captures "
              f"({load['captures'] / versions:,.0f} per version), {int(load['snapshots']):,} raw snapshots")
        gen = Generator(**options)
        print(f"{'query':<44}{'p50 ms':>10}{'p95 ms':>10}")
        for label, p50, p95 in measure(database, gen, sites, args.samples):
            print(f"{label:<44}{p50:>10.1f}{p95:>10.1f}", flush=True)
        print(f"{'page (first request' + (', cold cache)' if args.cold else ')'):<44}{'first ms':>10}{'p50 ms':>10}{'p95 ms':>10}")
        for label, first, p50, p95 in measure_pages(database, gen, sites, args.samples, path if args.cold else None):
            over = "" if max(p95, first) < PAGE_BUDGET_MS else "  over budget"
            print(f"{label:<44}{first:>10.1f}{p50:>10.1f}{p95:>10.1f}{over}", flush=True)
        size = sizes(database, backend, path)
        if load.get("raw_text_bytes"):
            raw = load["raw_text_bytes"]
            print(f"raw text (every version stored alone, uncompressed): {raw / 1e6:,.0f} MB = {raw / versions:,.0f} B/version")
            print(f"stored texts (zstd, shared bodies once): {load['stored_text_bytes'] / 1e6:,.0f} MB = "
                  f"{load['stored_text_bytes'] / versions:,.0f} B/version ({load['stored_text_bytes'] / raw:.1%} of raw)")
        if load.get("raw_snapshot_bytes"):
            print(f"raw snapshots: {load['raw_snapshot_bytes'] / 1e6:,.0f} MB fetched, "
                  f"{load['stored_snapshot_bytes'] / 1e6:,.0f} MB stored (zstd)")
        for name in ("version_texts", "snapshots", "captures", "search_index"):
            print(f"{name + ' (with indexes)' if name == 'captures' else name}: {size[name] / 1e6:,.0f} MB "
                  f"= {size[name] / versions:,.0f} B/version")
        print(f"database on disk, snapshots included: {size['total'] / 1e6:,.0f} MB = "
              f"{size['total'] / versions:,.0f} B/version")
    finally:
        database.dispose()
        cleanup()


def _load_figures(load: dict[str, float], level: int) -> str:
    versions = load["versions"] or 1
    return (f"load: {load['load_s']:.0f} s ({load['versions'] / max(load['load_s'], 1e-9):,.0f} versions/s wall; "
            f"loader CPU {load['cpu_s'] / versions * 1000:.2f} ms/version = {versions / max(load['cpu_s'], 1e-9):,.0f} "
            f"versions per CPU-second; zstd level {level})")


def _counted(database: storage.Database) -> dict[str, float]:
    """The row counts of a database loaded earlier (``--reuse``)."""
    from sqlalchemy import text

    with database.session() as session:
        count = lambda table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: E731
        return {"sites": count("sites"), "versions": count("versions"), "texts": count("version_texts"),
                "captures": count("captures"), "snapshots": count("snapshots")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200, help="timed calls per query (search: /40)")
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"),
                        help="repeatable (default: sqlite)")
    parser.add_argument("--workdir", type=Path, help="where the SQLite file goes (default: a temporary directory)")
    parser.add_argument("--captures", type=int, default=60,
                        help="mean captures per version (log-normal: tens to hundreds; 0: one per version)")
    parser.add_argument("--no-snapshots", action="store_true", help="store no raw snapshots")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--reuse", action="store_true",
                        help="SQLite: measure the bench.db already in --workdir instead of generating one "
                             "(loading the sites it lacks first)")
    parser.add_argument("--load-only", action="store_true", help="build the database, measure nothing")
    parser.add_argument("--cold", action="store_true",
                        help="SQLite: each page's first request on a cold cache (pooled connections closed, the "
                             "file dropped from the OS page cache)")
    parser.add_argument("--level", type=int, default=3,
                        help="zstd level of stored texts and snapshots (default 3; the crawler stores at 10)")
    args = parser.parse_args(argv)
    # A killed run still stops the PostgreSQL cluster it started (storage.testing stops it at exit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="policytrack-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"texts from {'the shared corpus' if _corpus_documents() else 'a synthetic generator'}; workdir {workdir}")
    try:
        for backend in args.backend or ["sqlite"]:
            run(backend, args, workdir)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
