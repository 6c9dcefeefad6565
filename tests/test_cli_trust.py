"""The CLI a careful user can trust (issue 14): right answers, safe defaults, no secrets on screen.

Each test drives the real CLI (in-process through ``policytrack.cli.main``, or as a subprocess where the
process itself matters: broken pipes, file permissions, signals) on real SQLite/PostgreSQL databases.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import storage
from core.document import SNAPSHOT_BASE, content_sha256, header_line, live_header_line
from storage.live import LiveNormalized, record_live_capture
from tests.clihelp import crawl, run_cli
from tests.test_queries_fixtures import (  # noqa: F401  (database is a fixture)
    Snap,
    cli,
    database,
    example_database,
    record,
)

LINKED = "Intro.\n\nSee [our cookies](https://web.archive.org/web/\ue000id_/https://links.org/cookies).\n\n{}\n"


def feed_of(database, tmp_path, *args):
    path = tmp_path / "feed.atom"
    result = cli(database, "feed", "-o", str(path), *args)
    assert result.code == 0, result.err
    return path.read_text()


def json_out(database, *args):
    result = cli(database, *args, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


# --- wrong answers ---------------------------------------------------------------------------------------


def test_the_diff_command_printed_in_feed_entries_works(database, tmp_path):
    example_database(database)
    # Two versions on the same day: a date-based hint would compare a version with itself.
    record(database, "sameday.org", [Snap("20200101080000", "Old.\n"), Snap("20200101200000", "New.\n")])
    feed = feed_of(database, tmp_path, "--technical")
    commands = re.findall(r"policytrack diff \S+ --from v\d+ --to v\d+", feed)
    assert len(commands) == 5, feed
    for command in commands:
        site, _, frm, _, to = command.split()[2:]
        result = cli(database, "diff", site, "--from", frm, "--to", to, "--json")
        assert result.code == 0, (command, result.err)
        diff = json.loads(result.out)
        assert diff["from"]["id"] != diff["to"]["id"] and diff["lines_added"] + diff["lines_removed"] > 0


def test_dates_and_version_ids_read_the_same_way_in_every_command(database):
    example_database(database)
    ids = [v["id"] for v in json_out(database, "history", "example.com")]
    # YYYYMMDD is a date everywhere (diff used to read it as a version id).
    assert json_out(database, "diff", "example.com", "--from", "20150615", "--to", "20190110")["to"]["id"] == ids[2]
    assert json_out(database, "show", "example.com", "--at", "20150615")["id"] == ids[1]
    assert [v["id"] for v in json_out(database, "history", "example.com", "--since", "20190111")] == ids[2:]
    assert len(json_out(database, "changes", "--since", "20190110", "--until", "20210201")) == 3
    # A version id is written v12, as history lists it; a bare number that cannot be a date is one too.
    assert json_out(database, "diff", "example.com", "--from", f"v{ids[0]}", "--to", f"V{ids[3]}")["to"]["id"] == ids[3]
    bare = json_out(database, "diff", "example.com", "--from", str(ids[0]), "--to", str(ids[1]))
    assert (bare["from"]["id"], bare["to"]["id"]) == (ids[0], ids[1])
    table = cli(database, "history", "example.com").out
    assert [line.split()[0] for line in table.splitlines()[2:]] == [f"v{i}" for i in ids]
    assert json_out(database, "show", "example.com", "--version", f"v{ids[1]}") == \
        json_out(database, "show", "example.com", "--version", str(ids[1]))
    for option in ("--since", "--until"):
        bad = cli(database, "history", "example.com", option, "20201301")
        assert bad.code == 1 and bad.err.startswith(f"policytrack: error: invalid {option} '20201301': use ")


def test_diff_and_history_count_the_same_lines(database):
    """A link differing only in its snapshot timestamp is not a change: diff compares the comparable form."""
    record(database, "links.org", [Snap("20200101000000", LINKED.format("Old line.")),
                                   Snap("20210101000000", LINKED.format("New line."))])
    history = json_out(database, "history", "links.org")
    diff = json_out(database, "diff", "links.org")
    assert (history[1]["lines_added"], history[1]["lines_removed"]) == (1, 1)
    assert (diff["lines_added"], diff["lines_removed"]) == (1, 1)
    assert diff["unified"].count("\n-") == 1 and "\n-Old line.\n+New line.\n" in diff["unified"]
    # Unchanged context is shown as the newer document shows it.
    assert " See [our cookies](https://web.archive.org/web/20210101000000id_/https://links.org/cookies)." in diff["unified"]


def test_show_at_after_the_last_capture_says_it_is_the_last_known_version(database):
    example_database(database)
    result = cli(database, "show", "example.com", "--at", "2030-01-01")
    assert result.code == 0 and result.out.startswith("> *The following text")
    assert result.err == ("policytrack: note: --at 2030-01-01 is after the last capture of example.com (2021-02-01): "
                          "this is the last known version (version v4), last seen 2021-02-01\n")
    assert cli(database, "show", "example.com", "--at", "2021-01-01").err == ""


def test_diff_from_newer_than_to_is_refused(database):
    example_database(database)
    result = cli(database, "diff", "example.com", "--from", "2020-01-01", "--to", "2011-01-01")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("policytrack: error: --from is newer than --to: version v3 was first seen "
                                 "2019-01-10 10:00:00, after version v1 (2010-03-01 12:00:00); swap them")


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_changes_limit_must_be_positive(database, limit):
    example_database(database)
    assert _argparse_exit(database, "changes", "--limit", limit) == 2


def _argparse_exit(database, *args):
    with pytest.raises(SystemExit) as exit_info:
        cli(database, *args)
    return exit_info.value.code


def test_feed_for_an_unknown_site_is_an_error(database, tmp_path):
    example_database(database)
    result = cli(database, "feed", "--site", "nosuch.example", "-o", str(tmp_path / "nosuch.atom"))
    assert result.code == 1 and result.out == "" and not (tmp_path / "nosuch.atom").exists()
    assert "unknown site 'nosuch.example'" in result.err
    assert "<entry>" in feed_of(database, tmp_path, "--site", "EXAMPLE.com")


def test_normalize_validates_the_timestamp(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<html><body><p>Hello</p></body></html>")
    for bad in ("20201301000000", "20200230120000", "2020010100000"):
        result = run_cli("normalize", str(page), "--site", "a.org", "--url", "https://a.org/p", "--timestamp", bad)
        assert result.code == 1 and result.out == "", bad
        assert result.err.startswith(f"policytrack: error: invalid --timestamp '{bad}'"), result.err


def test_schedule_list_shows_utc_and_ids_are_never_reused(database):
    example_database(database)
    added = cli(database, "schedule", "add", "example.com", "--cron", "30 6 * * *", "--timezone", "Europe/Paris")
    assert added.code == 0, added.err
    listed = json_out(database, "schedule", "list")[0]
    next_utc = datetime.fromisoformat(listed["next_run_at"]).astimezone(timezone.utc)
    assert f"{next_utc:%H:%M:%S}" == "05:30:00"  # 06:30 in Paris, in winter
    table = cli(database, "schedule", "list").out
    assert f"next {next_utc:%Y-%m-%d} 05:30:00 UTC" in table and "06:30:00 UTC" not in table
    assert f"next run {next_utc:%Y-%m-%d} 05:30:00 UTC" in added.out
    assert cli(database, "schedule", "add", "other.org", "--every", "1d").out.startswith("schedule s2:")
    assert cli(database, "schedule", "remove", "s2").code == 0
    again = cli(database, "schedule", "add", "other.org", "--every", "2d")
    assert again.out.startswith("schedule s3:"), again.out
    assert [s["id"] for s in json_out(database, "schedule", "list")] == ["s1", "s3"]


def test_a_live_first_version_shows_the_archive_capture_of_its_text_at_once(database, tmp_path):
    """Archived later but not matched yet (that waits for the next live check): rendered for the archive."""
    url = "https://live.org/privacy"
    page_id = record(database, "live.org", [Snap("20200101000000", "Old text.\n")], url=url)
    new, newest = "New text.\n", "Newest text.\n"
    with database.session() as session:
        for timestamp, body in (("20200601000000", new), ("20200901000000", newest)):
            payload = f"<html><body>{body}</body></html>".encode()
            snapshot_id, _ = storage.store_snapshot(session, payload, http_status=200, headers=[], url=url)
            record_live_capture(session, page_id, None, timestamp=timestamp, url=url, status=200,
                                mimetype="text/html", length=len(payload), snapshot_id=snapshot_id,
                                normalized=LiveNormalized(content_sha256("Privacy Policy", body), "Privacy Policy",
                                                          body, "readability", "1"))
        storage.rebuild_versions(session, page_id)
    feed = feed_of(database, tmp_path)
    # The version before the last change was only ever seen live: its link is the live page, not a snapshot.
    assert f'href="{SNAPSHOT_BASE}20200601000000/{url}"' not in feed and f'href="{url}"' in feed
    shown = json_out(database, "show", "live.org", "--at", "2020-07-01")
    assert shown["document"].startswith(live_header_line("live.org", url, "20200601000000"))
    # The archive captures the June text in July (a crawl without a live check): shown for it at once.
    record(database, "live.org", [Snap("20200701000000", new)], url=url)
    shown = json_out(database, "show", "live.org", "--at", "2020-07-01")
    assert shown["source"] == "live"
    assert shown["document"].startswith(header_line("live.org", url, "20200701000000") + "\n\n# ")


def test_documents_link_to_the_archive_the_capture_came_from(database, tmp_path):
    pywb = "http://127.0.0.1:8080/mycoll/"
    record(database, "pywb.org", [Snap("20200101000000", LINKED.format("A.")), Snap("20210101000000", "B.\n")],
           archive=pywb)
    record(database, "ia.org", [Snap("20200101000000", LINKED.format("A.") + "From the Internet Archive.\n")])
    doc = json_out(database, "show", "pywb.org", "--at", "2020-06-01")["document"]
    assert doc.startswith("> *The following text is extracted and transformed from the pywb.org privacy policy "
                          "that was archived on 2020-01-01. Please check the [original snapshot in the archive at "
                          "127.0.0.1:8080](http://127.0.0.1:8080/mycoll/20200101000000id_/https%3A//pywb.org/privacy)")
    assert "(http://127.0.0.1:8080/mycoll/20200101000000id_/https://links.org/cookies)" in doc
    assert "web.archive.org" not in doc
    # The Internet Archive's form stays the corpus's, byte for byte.
    ia = json_out(database, "show", "ia.org")["document"]
    assert ia.startswith(header_line("ia.org", "https://ia.org/privacy", "20200101000000") + "\n\n# ")
    assert "[original snapshot on the Wayback Machine](https://web.archive.org/web/20200101000000id_/" in ia
    entry = feed_of(database, tmp_path, "--site", "pywb.org")
    assert 'href="http://127.0.0.1:8080/mycoll/20210101000000/https://pywb.org/privacy"' in entry


# --- safety --------------------------------------------------------------------------------------------


def test_init_and_errors_never_print_the_database_password(backend_db_url):
    from sqlalchemy.engine import make_url

    url = make_url(backend_db_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password="hunter2-secret")  # the throwaway cluster trusts loopback: any password works
        shown = url.render_as_string(hide_password=False)
        result = run_cli("init", db=shown)
        assert result.code == 0, result.err
        assert "hunter2-secret" not in result.out + result.err and "***" in result.out
    refused = run_cli("init", db="postgresql://user:hunter2-secret@127.0.0.1:1/nowhere")
    assert refused.code == 1 and "hunter2-secret" not in refused.out + refused.err
    driver = run_cli("history", "a.org", db="postgresql+psycopg2://user:hunter2-secret@localhost/db")
    assert driver.code == 1 and "hunter2-secret" not in driver.err
    assert driver.err.startswith("policytrack: error: unsupported PostgreSQL driver 'psycopg2'")
    assert "psycopg 3" in driver.err and "Traceback" not in driver.err


def test_notify_never_shows_webhook_or_apprise_secrets(database):
    hook = "https://hooks.example.org/services/T000/B000/SECRETTOKEN?key=SECRETKEY"
    mail = "mailto://alice:SECRETPASSWORD@mail.example.org"
    outputs = [cli(database, "notify", "add", "webhook", hook).out, cli(database, "notify", "add", "apprise", mail).out]
    outputs += [cli(database, "notify", "list").out, cli(database, "notify", "list", "--json").out]
    outputs += [cli(database, "notify", "remove", "1").out]
    bad = cli(database, "notify", "add", "apprise", "nosuchservice://SECRETTOKEN@x")
    assert bad.code == 1
    text = "".join(outputs) + bad.err
    assert "SECRET" not in text, text
    assert "https://hooks.example.org/***" in outputs[0] and "mailto://alice:****@mail.example.org" in outputs[1]


def test_failed_webhook_deliveries_store_and_print_no_secret(database):
    example_database(database)
    with database.session() as session:
        storage.mark_announced(session, [c.id for c in storage.changes_to_announce(session)])
    hook = "http://127.0.0.1:1/hook/SECRETTOKEN"
    assert cli(database, "notify", "add", "webhook", hook, "--backlog").code == 0
    with database.session() as session:  # a change not announced yet
        session.execute(storage.Change.__table__.update().values(announced_at=None))
    result = cli(database, "announce", "--retries", "0", "--timeout", "2")
    assert result.code == 1 and "SECRETTOKEN" not in result.out + result.err
    assert "http://127.0.0.1:1/***" in result.err
    with database.session() as session:
        errors = [row[0] for row in session.execute(storage.models.Delivery.__table__.select().with_only_columns(
            storage.models.Delivery.__table__.c.last_error))]
    assert errors and not any("SECRETTOKEN" in (e or "") for e in errors)


def test_demo_refuses_a_folder_it_did_not_make_and_removes_only_its_own_files(tmp_path):
    from policytrack.demo import CREATED, MARKER, prepare_workdir

    mine = tmp_path / "work"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = run_cli("demo", "--workdir", str(mine))
    assert result.code == 1 and "refusing to use" in result.err and "not empty" in result.err
    assert (mine / "notes.txt").read_text() == "keep me" and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    # A folder the demo made: an earlier run's files go, anything the user put there stays.
    made = tmp_path / "demo"
    prepare_workdir(made)
    (made / "archive").mkdir()
    (made / "policytrack.db").write_text("old")
    (made / "mine.txt").write_text("keep me too")
    prepare_workdir(made)
    assert sorted(p.name for p in made.iterdir()) == [MARKER, "mine.txt"]
    assert "archive" in CREATED


def test_a_mistyped_db_is_not_created(tmp_path):
    typo = tmp_path / "typo.db"
    for args in (("history", "acme.example"), ("sites",), ("crawl",), ("schedule", "list"), ("runs",)):
        result = run_cli(*args, db=str(typo))
        assert result.code == 1, args
        assert result.err == (f"policytrack: error: database '{typo}' does not exist (check --db or $POLICYTRACK_DB; "
                              "'policytrack init' or 'policytrack add SITE URL' creates one)\n"), args
        assert not typo.exists()
    added = run_cli("add", "a.org", "https://a.org/p", db=str(typo))
    assert added.code == 0 and added.out == f"created database sqlite:///{typo}\ntracking a.org: https://a.org/p\n"
    assert run_cli("init", db=str(tmp_path / "new.db")).code == 0 and (tmp_path / "new.db").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_read_only_database_can_be_queried(tmp_path):
    # root ignores permissions: query as an unprivileged user then, the way a shared read-only file is used.
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    if prefix and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot drop privileges to test permissions")
    if prefix:  # a checkout under a private folder (mktemp -d is 0700) is out of the other user's reach
        probe = subprocess.run([*prefix, sys.executable, "-c", "import policytrack.cli"], capture_output=True,
                               text=True, timeout=120, cwd="/")
        if probe.returncode != 0:
            pytest.skip("the unprivileged user cannot run this checkout's Python (a folder above it is private?): "
                        + (probe.stderr.strip().splitlines() or ["no message"])[-1])
    # pytest's own temporary folders are private to their owner; this one the other user can reach.
    folder = Path(tempfile.mkdtemp(prefix="policytrack-ro-"))
    path = folder / "t.db"
    try:
        assert run_cli("add", "a.org", "https://a.org/p", db=str(path)).code == 0
        path.chmod(0o444)
        folder.chmod(0o555)

        def run(*args):
            proc = subprocess.run([*prefix, sys.executable, "-m", "policytrack.cli", *args, "--db", str(path)],
                                  capture_output=True, text=True, timeout=120, cwd="/")
            return proc.returncode, proc.stdout, proc.stderr

        code, out, err = run("sites")
        assert code == 0 and err == "" and out.splitlines()[1].startswith("a.org "), (code, out, err)
        code, out, err = run("history", "a.org")
        assert code == 0 and "no versions yet" in out, (code, out, err)
        code, out, err = run("add", "b.org", "https://b.org/p")
        assert code == 1 and err == "policytrack: error: the database is read-only: this command needs to write to it\n"
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    db = str(tmp_path / "t.db")
    assert run_cli("add", "a.org", "https://a.org/p", db=db).code == 0
    proc = subprocess.Popen([sys.executable, "-m", "policytrack.cli", "sites", "--db", db],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written, as with `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) != 0
    assert err == ""


# --- what users expect ------------------------------------------------------------------------------


def test_sites_remove_keeping_or_purging_history(database):
    example_database(database)
    assert cli(database, "sites", "remove", "example.com").code == 1  # which one must be said
    kept = cli(database, "sites", "remove", "example.com", "--keep-history")
    assert kept.out == "removed example.com (https://example.com/privacy): no longer crawled; its history is kept\n"
    assert len(json_out(database, "history", "example.com")) == 4
    sites = json_out(database, "sites")
    assert [s["removed_at"] is not None for s in sites] == [True, False]
    refused = cli(database, "schedule", "add", "example.com", "--every", "1d")
    assert refused.code == 1 and "was removed on" in refused.err and "tracks it again" in refused.err
    with database.session() as session:
        assert {p.site for p in storage.pages_for(session)} == {"other.org"}
    assert cli(database, "add", "example.com", "https://example.com/privacy").code == 0
    assert json_out(database, "sites")[0]["removed_at"] is None
    purged = cli(database, "sites", "remove", "other.org", "--purge")
    assert purged.out == "removed other.org (https://other.org/privacy): deleted with its whole history\n"
    assert [s["hostname"] for s in json_out(database, "sites")] == ["example.com"]
    assert "unknown site 'other.org'" in cli(database, "history", "other.org").err
    assert all(c["site"] == "example.com" for c in json_out(database, "changes"))


def test_a_duplicate_add_says_it_is_already_tracked(database):
    assert cli(database, "add", "a.org", "https://a.org/p").out == "tracking a.org: https://a.org/p\n"
    assert cli(database, "add", "A.ORG", "https://a.org/p").out == "a.org already tracks https://a.org/p\n"


def test_unicode_site_names_in_either_spelling(database):
    assert cli(database, "add", "bücher.de", "https://bücher.de/datenschutz").code == 0
    record(database, "xn--bcher-kva.de", [Snap("20200101000000", "Daten.\n")], url="https://bücher.de/datenschutz")
    for spelling in ("bücher.de", "BÜCHER.DE", "xn--bcher-kva.de"):
        assert [v["site"] for v in json_out(database, "history", spelling)] == ["xn--bcher-kva.de"], spelling
        assert cli(database, "show", spelling).code == 0
    assert cli(database, "live", "bücher.de").code == 0
    assert cli(database, "sites", "remove", "bücher.de", "--purge").code == 0


def test_bulk_add_from_a_file_in_one_transaction_with_a_report(database, tmp_path):
    rows = ["site,url"] + [f"site{i}.example,https://site{i}.example/privacy" for i in range(3000)]
    rows += ["bad host!,https://x.org/p", "nourl.org", "ok.org,ftp://ok.org/p", "# a comment", "",
             "site1.example,https://site1.example/privacy"]
    sheet = tmp_path / "sites.csv"
    sheet.write_text("\n".join(rows) + "\n")
    started = time.monotonic()
    result = cli(database, "add", "--from", str(sheet))
    elapsed = time.monotonic() - started
    assert result.code == 1  # some rows were rejected: said, and the exit code says so too
    # A row without URL (nourl.org) is a site tracked by discovery.
    assert result.out == (f"{sheet}: 3000 page(s) added, 1 site(s) tracked by discovery, 0 already tracked, "
                          "2 row(s) rejected\n")
    lines = result.err.splitlines()  # errors, on stderr: --quiet keeps them
    assert len(lines) == 2
    assert lines[0].startswith(f"policytrack: {sheet}, line 3002: rejected 'bad host!,https://x.org/p': "
                               "invalid hostname 'bad host!'")
    assert lines[1].startswith(f"policytrack: {sheet}, line 3004: rejected 'ok.org,ftp://ok.org/p': invalid page URL")
    assert len(json_out(database, "sites")) == 3001
    assert elapsed < 60, f"bulk add took {elapsed:.1f}s"  # generous: a shared machine; seconds on an idle one
    tsv = tmp_path / "more.tsv"
    tsv.write_text("site0.example\thttps://site0.example/privacy\nnew.example\thttps://new.example/p\n")
    again = cli(database, "add", "--from", str(tsv))
    assert again.code == 0 and again.out == (f"{tsv}: 1 page(s) added, 0 site(s) tracked by discovery, "
                                             "1 already tracked, 0 row(s) rejected\n")


def test_version_quiet_header_and_clean_help(database):
    version = subprocess.run([sys.executable, "-m", "policytrack.cli", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and re.fullmatch(r"policytrack \d+\.\d+\.\d+\n", version.stdout)
    assert cli(database, "--quiet", "add", "a.org", "https://a.org/p").out == ""
    assert cli(database, "add", "b.org", "https://b.org/p", "-q").out == ""
    listing = cli(database, "-q", "sites").out.splitlines()  # what was asked for is still printed
    assert listing[0].split() == ["SITE", "VERSIONS", "CAPTURES", "SPAN", "PAGES"]
    assert listing[1].split()[0] == "a.org" and len(listing) == 3
    help_text = subprocess.run([sys.executable, "-m", "policytrack.cli", "export", "pllcpp", "--help"],
                               capture_output=True, text=True).stdout
    assert "``" not in help_text and ":func:" not in help_text and "{c1}/{c1c2}/{c1c2c3}/{hostname}.md" in help_text


def test_timeline_plot_has_a_legend_and_an_axis_label(database, tmp_path):
    example_database(database)
    svg = tmp_path / "t.svg"
    assert cli(database, "timeline", "example.com", "--plot", str(svg)).code == 0
    text = svg.read_text()
    for label in ("first seen (UTC)", "words", "change"):
        assert f"<!-- {label} -->" in text, label


# --- archive serve / import ---------------------------------------------------------------------------


def test_archive_import_then_serve_and_crawl(tmp_path, local_archive):
    from policytrack.localarchive import WarcCapture, write_warc

    url = "https://own.example/privacy"
    warcs = tmp_path / "warcs"
    warcs.mkdir()
    write_warc(warcs / "a.warc.gz", [WarcCapture(url, "20200101000000", b"<html><body><p>First.</p></body></html>")])
    write_warc(warcs / "b.warc.gz", [WarcCapture(url, "20210101000000", b"<html><body><p>Second.</p></body></html>")])
    root = tmp_path / "pywb"
    imported = run_cli("archive", "import", str(warcs / "a.warc.gz"), str(warcs / "b.warc.gz"), "--root", str(root))
    assert imported.code == 0, imported.err
    assert f"serve it with: policytrack archive serve {root}" in imported.out
    assert run_cli("archive", "serve", str(tmp_path / "nothing-here")).code == 1
    for source in (str(root), str(warcs)):
        server = subprocess.Popen([sys.executable, "-m", "policytrack.cli", "archive", "serve", source],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline()
            match = re.search(r"--archive (pywb:http://127\.0\.0\.1:\d+/local)$", line.strip())
            assert match, line + server.stderr.read() if server.poll() is not None else line
            db = str(tmp_path / f"{len(source)}.db")
            assert run_cli("add", "own.example", url, db=db).code == 0
            result = crawl(db, match.group(1))
            assert result.code == 0, result.err
            assert len(json.loads(run_cli("history", "own.example", "--json", db=db).out)) == 2
            # The document points at the archive it came from, not at the Internet Archive.
            document = json.loads(run_cli("show", "own.example", "--json", db=db).out)["document"]
            base = match.group(1).removeprefix("pywb:")
            assert f"({base}/20210101000000id_/https%3A//own.example/privacy)" in document
        finally:
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=60) == 0
