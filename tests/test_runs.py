"""``policytrack runs``: the record of every crawl run, as a user and a script read it."""

from __future__ import annotations

from datetime import datetime, timezone

import storage
from policytrack.commands.queries import JSON_FIELDS
from storage.scheduling import link_scheduled_run
from tests.clihelp import run_cli

ARCHIVE = "https://web.archive.org"


def make_runs(db_url: str) -> dict[str, int]:
    """A manual run that succeeded, a scheduled one interrupted with notes, one still running."""
    database = storage.open_database(db_url)
    try:
        with database.session() as s:
            storage.add_site(s, "example.com", "https://example.com/privacy")
            manual = storage.start_run(s, trigger="manual", archive=ARCHIVE, sites=None)
            storage.finish_run(s, manual, status="succeeded", counts={"captures_seen": 12, "captures_fetched": 5,
                                                                      "versions_new": 3, "changes_new": 2})
            scheduled = storage.start_run(s, trigger="schedule", archive=ARCHIVE, sites=["example.com", "b.example"])
            link_scheduled_run(s, scheduled, "s1", datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc))
            long_error = "example.com: CDX query failed with HTTP 503 " + "x" * 200
            storage.finish_run(s, scheduled, status="interrupted", counts={"captures_seen": 4, "errors_count": 1},
                               errors=[long_error, "skipped b.example: being crawled by pid 7 on host since now"])
            running = storage.start_run(s, trigger="manual", archive=ARCHIVE, sites=["example.com"])
        return {"manual": manual, "scheduled": scheduled, "running": running}
    finally:
        database.dispose()


def test_runs_lists_newest_first_with_trigger_schedule_duration_and_first_error(db_url):
    ids = make_runs(db_url)
    listed = run_cli("runs", "--json", db=db_url).json()
    assert [r["id"] for r in listed] == [ids["running"], ids["scheduled"], ids["manual"]]
    assert all(set(r) == set(JSON_FIELDS["runs"]) for r in listed)
    running, scheduled, manual = listed
    assert (running["status"], running["finished_at"], running["duration_seconds"]) == ("running", None, None)
    assert scheduled["schedule_id"] == "s1" and scheduled["scheduled_for"] == "2026-11-30T03:00:00+00:00"
    assert scheduled["sites"] == ["example.com", "b.example"] and len(scheduled["errors"]) == 2
    assert manual["schedule_id"] is None and manual["sites"] is None and manual["duration_seconds"] >= 0
    assert manual["counts"]["versions_new"] == 3 and manual["archive"] == ARCHIVE

    table = run_cli("runs", db=db_url).out.splitlines()
    assert table[0].split()[:5] == ["ID", "STARTED", "(UTC)", "TOOK", "TRIGGER"]
    by_id = {int(line.split()[0]): line for line in table[1:]}
    assert "schedule s1" in by_id[ids["scheduled"]] and "interrupted" in by_id[ids["scheduled"]]
    assert "example.com, b.example" in by_id[ids["scheduled"]]
    assert "example.com: CDX query failed with HTTP 503" in by_id[ids["scheduled"]]
    assert by_id[ids["scheduled"]].endswith("… (+1)")  # the first error, cut; and how many more
    assert " running " in by_id[ids["running"]] and " all " in by_id[ids["manual"]]


def test_runs_filters_by_status_and_schedule_and_limits(db_url):
    ids = make_runs(db_url)
    assert [r["id"] for r in run_cli("runs", "--status", "interrupted", "--json", db=db_url).json()] == [
        ids["scheduled"]]
    assert [r["id"] for r in run_cli("runs", "--schedule", "s1", "--json", db=db_url).json()] == [ids["scheduled"]]
    assert run_cli("runs", "--schedule", "s9", db=db_url).out.strip() == "no such runs"
    assert [r["id"] for r in run_cli("runs", "--limit", "1", "--json", db=db_url).json()] == [ids["running"]]
    csv = run_cli("runs", "--format", "csv", db=db_url).out.splitlines()
    assert csv[0].startswith("id,status,trigger,schedule_id,") and "counts.captures_seen" in csv[0]
    assert len(csv) == 4
    bad = run_cli("runs", "--limit", "0", db=db_url)
    assert bad.code == 1 and bad.err.strip() == "policytrack: error: --limit must be at least 1"


def test_one_run_whole_with_every_error_and_note(db_url):
    ids = make_runs(db_url)
    shown = run_cli("runs", str(ids["scheduled"]), db=db_url)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0] == f"run {ids['scheduled']}: interrupted (schedule s1, fire time 2026-11-30 03:00:00 UTC)"
    assert "sites     example.com, b.example" in lines and f"archive   {ARCHIVE}" in lines
    assert "errors and notes (2):" in lines
    assert any(line.startswith("  - example.com: CDX query failed with HTTP 503 xxx") and line.endswith("x" * 20)
               for line in lines)  # whole, not cut
    assert lines[-1] == "  - skipped b.example: being crawled by pid 7 on host since now"
    as_json = run_cli("runs", str(ids["manual"]), "--json", db=db_url).json()
    assert as_json["id"] == ids["manual"] and as_json["errors"] == []
    missing = run_cli("runs", "999", db=db_url)
    assert missing.code == 1 and missing.err.strip() == "policytrack: error: no crawl run with id 999 (see policytrack runs)"
