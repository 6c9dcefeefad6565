"""``policytrack demo``: the whole pipeline on the bundled sample archive, nothing from the internet.

Builds WARCs from ``sample/``, serves them with pywb on a free loopback port, crawls them into a fresh
SQLite file, prints each site's change history, and stops pywb.

The work folder is the user's: the demo marks a folder it made with :data:`MARKER` and, when run again,
removes only what it created there (:data:`CREATED`). A non-empty folder without the mark is refused
-- ``demo --workdir .`` must never wipe the current folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.errors import ConfigurationError
from policytrack.commands.queries import render_history

MARKER = ".policytrack-demo"
CREATED = ("archive", "policytrack.db", "policytrack.db-wal", "policytrack.db-shm", "policytrack.db-journal")


def prepare_workdir(workdir: Path) -> None:
    """Make ``workdir`` ready for a fresh demo, removing only the demo's own files from an earlier run."""
    if workdir.exists() and not workdir.is_dir():
        raise ConfigurationError(f"cannot use {str(workdir)!r} for the demo: it is a file")
    # A folder of an earlier demo that predates the mark holds only the demo's own names: accepted too.
    foreign = workdir.is_dir() and any(p.name not in CREATED for p in workdir.iterdir())
    if foreign and not (workdir / MARKER).is_file():
        raise ConfigurationError(
            f"refusing to use {str(workdir)!r} for the demo: it is not empty and was not made by "
            "'policytrack demo' (give an empty or new folder with --workdir)"
        )
    for name in CREATED:
        path = workdir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by 'policytrack demo': it may remove " + ", ".join(CREATED) + " here\n")


def run_demo(workdir: Path) -> int:
    import storage
    from crawler.runner import run_crawl
    from policytrack.localarchive import LocalArchive, build_sample_collection, sample_sites

    prepare_workdir(workdir)
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
    print(f"the sample archive stopped with the demo; to keep it running (until Ctrl-C) and crawl it again:\n"
          f"  policytrack archive serve {workdir / 'archive'}")
    return 0 if result.ok else 1
