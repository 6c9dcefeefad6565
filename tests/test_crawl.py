"""End to end: pywb on loopback serving WARCs built here, the real CLI, a real SQLite file."""

from __future__ import annotations

import socket

from policytrack.localarchive import WarcCapture
from tests.clihelp import FAST, crawl, run_cli

SITE = "acme.example"
URL = "https://acme.example/privacy"


def page(text: str, chrome: str = "", title: str = "Acme Privacy Policy", extra: str = "") -> bytes:
    paragraphs = "".join(
        f"<p>{text} This paragraph explains how Acme collects, uses and shares personal information "
        f"about visitors, customers and partners, number {i}.</p>"
        for i in range(4)
    )
    return (
        f"<html><head><title>{title}</title></head><body>"
        f"<div id='nav'><a href='/'>Home</a> | <a href='/about'>About</a> {chrome}</div>"
        f"<div id='content'><h1>Privacy Policy</h1>{paragraphs}{extra}</div>"
        f"<div id='footer'>Copyright Acme {chrome}</div></body></html>"
    ).encode()


A, B, C = page("Version A."), page("Version B: we now use cookies."), page("Version C: we comply with the GDPR.")
A_CHROME = page("Version A.", chrome="<span>Ad: buy shoes</span>")

HISTORY = [
    WarcCapture(URL, "20100101000000", A),
    WarcCapture(URL, "20100601000000", A_CHROME),   # different bytes, same normalized text
    WarcCapture(URL, "20110101000000", B),
    WarcCapture(URL, "20110601000000", B),          # identical bytes: same digest, not refetched
    WarcCapture(URL, "20120101000000", C),
]


def setup_site(db: str, site: str = SITE, url: str = URL) -> None:
    assert run_cli("add", site, url, db=db).code == 0


def history(db: str, site: str = SITE) -> list[dict]:
    result = run_cli("history", site, "--json", db=db)
    assert result.code == 0, result.err
    return result.json()


def runs(db: str) -> list[dict]:
    return run_cli("runs", "--json", db=db).json()


def test_versions_and_change_brackets_and_idempotent_rerun(archive_factory, db_url):
    archive = archive_factory(HISTORY)
    setup_site(db_url)
    first = crawl(db_url, archive)
    assert first.code == 0, first.err

    versions = history(db_url)
    assert [(v["first_seen"], v["last_seen"]) for v in versions] == [
        ("20100101000000", "20100601000000"),
        ("20110101000000", "20110601000000"),
        ("20120101000000", "20120101000000"),
    ]
    assert len({v["sha256"] for v in versions}) == 3
    assert versions[0]["lines_added"] == versions[0]["lines_removed"] == 0
    assert versions[1]["lines_added"] > 0 and versions[1]["lines_removed"] > 0

    run = runs(db_url)[0]
    assert run["status"] == "succeeded"
    assert run["counts"]["captures_seen"] == 5
    assert run["counts"]["captures_fetched"] == 4          # the identical capture is not fetched
    assert run["counts"]["captures_reused"] == 1
    assert run["counts"]["versions_new"] == 3 and run["counts"]["changes_new"] == 2

    again = crawl(db_url, archive)
    assert again.code == 0, again.err
    rerun = runs(db_url)[0]
    assert rerun["id"] != run["id"]
    assert rerun["counts"]["captures_new"] == 0
    assert rerun["counts"]["captures_fetched"] == 0
    assert rerun["counts"]["versions_new"] == 0 and rerun["counts"]["changes_new"] == 0
    assert history(db_url) == versions


def test_show_at_dates_and_diff(archive_factory, db_url):
    setup_site(db_url)
    archive = archive_factory(HISTORY)
    assert crawl(db_url, archive).code == 0
    replay = archive.removeprefix("pywb:")  # documents link to the archive the capture came from

    before = run_cli("show", SITE, "--at", "2009-12-31", db=db_url)
    assert before.code == 1 and "no version" in before.err.lower() and "Traceback" not in before.err

    in_2010 = run_cli("show", SITE, "--at", "2010-12-31", db=db_url)
    assert in_2010.code == 0
    assert in_2010.out.startswith(
        "> *The following text is extracted and transformed from the acme.example privacy policy that was "
        f"archived on 2010-01-01. Please check the [original snapshot in the archive at {replay.split('/')[2]}]"
        f"({replay}/20100101000000id_/https%3A//acme.example/privacy) for the most accurate "
        "reproduction.*\n\n# Acme Privacy Policy\n\n"
    )
    assert "Version A." in in_2010.out and "Version B" not in in_2010.out
    assert "Version B" in run_cli("show", SITE, "--at", "2011-01-01", db=db_url).out
    latest = run_cli("show", SITE, db=db_url)
    assert "Version C" in latest.out and "archived on 2012-01-01" in latest.out

    diff = run_cli("diff", SITE, "--from", "2010-06-01", "--to", "2011-06-01", db=db_url)
    assert diff.code == 0
    assert any(line.startswith("-") and "Version A." in line for line in diff.out.splitlines())
    assert any(line.startswith("+") and "Version B" in line for line in diff.out.splitlines())


def test_out_of_order_discovery_splits_versions(archive_factory, db_url):
    setup_site(db_url)
    partial = archive_factory([HISTORY[0], HISTORY[4]])
    assert crawl(db_url, partial).code == 0
    assert [v["first_seen"] for v in history(db_url)] == ["20100101000000", "20120101000000"]

    # Older captures with other text turn up later (e.g. the archive indexed them late). A refresh lists
    # only from the newest capture it knows (CDX from=): `crawl --full` is what finds them.
    complete = archive_factory(HISTORY)
    assert crawl(db_url, complete).code == 0
    assert [v["first_seen"] for v in history(db_url)] == ["20100101000000", "20120101000000"]
    assert crawl(db_url, complete, "--full").code == 0
    versions = history(db_url)
    assert [(v["first_seen"], v["last_seen"]) for v in versions] == [
        ("20100101000000", "20100601000000"),
        ("20110101000000", "20110601000000"),
        ("20120101000000", "20120101000000"),
    ]


REVERT = [WarcCapture(URL, "20100101000000", A), WarcCapture(URL, "20110101000000", B),
          WarcCapture(URL, "20120101000000", A)]


def test_revert_is_a_new_version_in_exhaustive_mode(archive_factory, db_url):
    setup_site(db_url)
    assert crawl(db_url, archive_factory(REVERT), "--exhaustive").code == 0
    versions = history(db_url)
    assert [v["first_seen"] for v in versions] == ["20100101000000", "20110101000000", "20120101000000"]
    assert versions[0]["sha256"] == versions[2]["sha256"]
    assert runs(db_url)[0]["counts"]["captures_fetched"] == 2     # A's digest is fetched once


def test_bisection_misses_a_revert_between_equal_ends_as_documented(archive_factory, db_url):
    setup_site(db_url)
    assert crawl(db_url, archive_factory(REVERT)).code == 0
    versions = history(db_url)
    assert [(v["first_seen"], v["last_seen"]) for v in versions] == [("20100101000000", "20120101000000")]
    counts = runs(db_url)[0]["counts"]
    assert counts["captures_fetched"] == 1 and counts["captures_inferred"] == 1


def test_redirect_capture_is_followed_to_the_new_url(archive_factory, db_url):
    old, new = "https://acme.example/legal/privacy.html", "https://acme.example/privacy"
    captures = [
        WarcCapture(old, "20150101000000", page("Old location policy.")),
        WarcCapture(old, "20160101000000", b"", status=301, headers=(("Location", "/privacy"),)),
        WarcCapture(new, "20160101003000", page("Policy at its new home.")),
    ]
    setup_site(db_url, url=old)
    result = crawl(db_url, archive_factory(captures))
    assert result.code == 0, result.err
    versions = history(db_url)
    assert [v["first_seen"] for v in versions] == ["20150101000000", "20160101000000"]
    shown = run_cli("show", SITE, db=db_url).out
    assert "Policy at its new home." in shown


def test_archived_error_captures_make_no_version(archive_factory, db_url):
    setup_site(db_url)
    captures = [WarcCapture(URL, "20100101000000", A),
                WarcCapture(URL, "20100201000000", b"<html><body>Not Found</body></html>", status=404),
                WarcCapture(URL, "20100301000000", b"", headers=(("Content-Type", "text/html"),))]
    assert crawl(db_url, archive_factory(captures)).code == 0
    versions = history(db_url)
    assert [(v["first_seen"], v["last_seen"]) for v in versions] == [("20100101000000", "20100101000000")]
    run = runs(db_url)[0]
    assert run["counts"]["captures_skipped"] == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_archive_fails_cleanly_and_keeps_data(archive_factory, db_url):
    setup_site(db_url)
    assert crawl(db_url, archive_factory(HISTORY)).code == 0
    before = history(db_url)

    result = crawl(db_url, f"pywb:http://127.0.0.1:{_closed_port()}/nothing")
    assert result.code == 1
    last_line = result.err.strip().splitlines()[-1]
    assert last_line.startswith("policytrack: crawl failed") and "unreachable" in last_line
    assert "Traceback" not in result.err
    assert runs(db_url)[0]["status"] == "failed"
    assert history(db_url) == before


def test_cli_errors_are_one_line(db_url):
    assert run_cli("init", db=db_url).code == 0  # only init and add create a database
    unknown = run_cli("history", "nowhere.example", db=db_url)
    assert unknown.code == 1 and unknown.err.count("\n") == 1 and "unknown site" in unknown.err
    bad = run_cli("add", "../x", "https://x.example/p", db=db_url)
    assert bad.code == 1 and bad.err.count("\n") == 1
    bad_archive = run_cli("crawl", "--archive", "ftp://nope", db=db_url)
    assert bad_archive.code == 1 and "invalid archive" in bad_archive.err


def test_normalize_command_prints_the_corpus_document(tmp_path):
    raw = tmp_path / "capture.html"
    raw.write_bytes(page("Hello policy."))
    result = run_cli("normalize", str(raw), "--site", "acme.example", "--url", URL, "--timestamp", "20141230054142")
    assert result.code == 0, result.err
    assert result.out.startswith("> *The following text is extracted and transformed from the acme.example privacy "
                                 "policy that was archived on 2014-12-30.")
    assert "\n\n# Acme Privacy Policy\n\n" in result.out and "Hello policy." in result.out
    missing = run_cli("normalize", str(tmp_path / "nope.html"), "--site", "a.example", "--url", URL, "--timestamp", "20141230054142")
    assert missing.code == 1 and "cannot read" in missing.err


def test_soft_404_makes_no_version(archive_factory, db_url):
    setup_site(db_url)
    soft = (b"<html><head><title>Page Not Found | Acme</title></head><body><div id='content'>"
            b"<h1>Page not found</h1><p>Sorry, the page you requested could not be found on our server. "
            b"Try the home page or the search box.</p></div></body></html>")
    captures = [WarcCapture(URL, "20100101000000", A), WarcCapture(URL, "20100701000000", soft),
                WarcCapture(URL, "20110101000000", A)]
    assert crawl(db_url, archive_factory(captures), "--exhaustive").code == 0
    assert [(v["first_seen"], v["last_seen"]) for v in history(db_url)] == [("20100101000000", "20110101000000")]
    assert runs(db_url)[0]["counts"]["captures_skipped"] == 1


def test_huge_capture_is_recorded_as_too_large(archive_factory, db_url):
    setup_site(db_url)
    huge = page("Huge.", extra="<p>" + "x" * 300_000 + "</p>")
    captures = [WarcCapture(URL, "20100101000000", A), WarcCapture(URL, "20110101000000", huge)]
    result = run_cli("crawl", "--archive", archive_factory(captures), "--exhaustive", *FAST,
                     "-s", "DOWNLOAD_MAXSIZE=200000", "-s", "DOWNLOAD_WARNSIZE=0", db=db_url)
    assert result.code == 0, result.err
    assert [v["first_seen"] for v in history(db_url)] == ["20100101000000"]
    assert runs(db_url)[0]["counts"]["captures_skipped"] == 1


def test_a_crawl_leaves_the_sqlite_database_with_planner_statistics(archive_factory, db_url):
    # The read queries were tuned on a database with statistics (bench/queries.py runs ANALYZE); a user's
    # database gets them from its crawls, not only from a benchmark.
    import sqlite3

    from storage.db import sqlite_file

    setup_site(db_url)
    assert crawl(db_url, archive_factory(HISTORY)).code == 0
    with sqlite3.connect(sqlite_file(db_url)) as connection:
        analyzed = {table for (table,) in connection.execute("SELECT DISTINCT tbl FROM sqlite_stat1")}
    assert {"captures", "versions", "crawl_runs"} <= analyzed, analyzed
