"""``policytrack demo``: the whole pipeline on the bundled sample archive, nothing from the internet.

Builds WARCs from ``sample/``, serves them with pywb on a free loopback port, crawls them into a fresh
SQLite file, prints each site's change history, and stops pywb.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from policytrack.commands.queries import render_history


def run_demo(workdir: Path) -> int:
    import storage
    from crawler.runner import run_crawl
    from policytrack.localarchive import LocalArchive, build_sample_collection, sample_sites

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    db_url = f"sqlite:///{(workdir / 'policytrack.db').resolve()}"
    with LocalArchive(workdir / "archive") as archive:
        spec = build_sample_collection(archive)
        print(f"sample archive served by pywb at {archive.archive_spec('sample')}")
        db = storage.open_database(db_url)
        with db.session() as session:
            for hostname, url in sample_sites():
                storage.add_site(session, hostname, url)
        db.dispose()
        result = run_crawl(db_url, archive=spec, overrides={"LOG_LEVEL": "WARNING"})
    counts = result.counts
    print(
        f"\ncrawl run {result.run_id} {result.status}: {counts.get('captures_seen', 0)} captures, "
        f"{counts.get('captures_fetched', 0)} fetched, {counts.get('versions_new', 0)} versions, "
        f"{counts.get('changes_new', 0)} changes\n"
    )
    db = storage.open_database(db_url)
    with db.session() as session:
        for hostname, _ in sample_sites():
            print(render_history(hostname, storage.site_history(session, hostname)))
            print()
    db.dispose()
    print(f"database: {db_url}\ntry: policytrack history {sample_sites()[0][0]} --db {db_url}")
    return 0 if result.ok else 1
