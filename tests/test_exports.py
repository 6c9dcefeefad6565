"""Exports: the corpus as a git repository, JSON lines, WARC (replayed by a real pywb and crawled back)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from policytrack.commands.exports import archived_headers, corpus_path, inside
from core.errors import InvalidSite
from tests.clihelp import crawl, run_cli
from tests.test_queries_fixtures import (  # noqa: F401  (database is a fixture)
    V2015,
    Snap,
    cli,
    database,
    example_database,
    record,
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def log(repo: Path) -> list[dict]:
    """Commits oldest first: subject, author/committer epochs, JSON body, trailers."""
    out = git(repo, "log", "--reverse", "--format=%s%x1f%at%x1f%ct%x1f%an <%ae>%x1f%B%x1e")
    commits = []
    for entry in filter(str.strip, out.split("\x1e")):
        subject, author_time, commit_time, author, message = entry.strip("\n").split("\x1f")
        body = message.split("\n\n", 1)[1]
        meta, trailer = body.rsplit("\n\n", 1)
        commits.append({"subject": subject, "at": int(author_time), "ct": int(commit_time), "author": author,
                        "meta": json.loads(meta), "trailer": trailer.strip()})
    return commits


# --- pllcpp ----------------------------------------------------------------------------------------------


def test_corpus_paths_follow_the_pllcpp_layout_and_refuse_escapes(tmp_path):
    assert corpus_path("imgur.com", 1, True) == "i/im/img/imgur.com.md"
    assert corpus_path("x.io", 7, False) == "x/x./x.i/x.io~7.md"
    for bad in ("../x", "a/b", "..", "", "Imgur.com", "/etc"):
        with pytest.raises(InvalidSite):
            corpus_path(bad, 1, True)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "a").symlink_to(tmp_path)
    with pytest.raises(InvalidSite, match="outside"):
        inside(tmp_path / "root", "a/escape.md")
    assert inside(tmp_path / "root", "b/c.md") == (tmp_path / "root" / "b" / "c.md").resolve()


def test_hostnames_that_could_escape_are_rejected_when_added(database):
    result = cli(database, "add", "../x", "https://x.example/privacy")
    assert result.code == 1 and "invalid hostname '../x'" in result.err


def test_pllcpp_one_commit_per_version_in_time_order_dated_at_the_capture(database, tmp_path):
    example_database(database)
    repo = tmp_path / "corpus"
    result = cli(database, "export", "pllcpp", str(repo))
    assert result.code == 0, result.err
    assert "6 new version(s) committed" in result.out
    commits = log(repo)
    assert [c["meta"]["site"] for c in commits] == ["example.com", "other.org", "example.com", "example.com",
                                                    "other.org", "example.com"]
    assert [c["at"] for c in commits] == sorted(c["at"] for c in commits)
    first = commits[0]
    assert first["at"] == first["ct"] == 1267444800  # 2010-03-01 12:00:00 UTC, the version's first capture
    assert first["author"] == "policytrack <policytrack@localhost>"
    assert first["subject"] == f"example.com: version {first['meta']['version_id']} (2010-03-01)"
    assert first["trailer"] == f"Policytrack-Version: {first['meta']['version_id']}"
    assert first["meta"]["last_seen"] == "20120101000000" and first["meta"]["capture_count"] == 2
    # The tree holds each site's latest version, byte-identical to `show`.
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.md")) == [
        "e/ex/exa/example.com.md", "o/ot/oth/other.org.md"]
    latest = cli(database, "show", "example.com", "--json")
    assert (repo / "e/ex/exa/example.com.md").read_text() == json.loads(latest.out)["document"]
    # Each commit's file is that version's document.
    second = commits[2]["meta"]["version_id"]
    blob = git(repo, "show", "HEAD~3:e/ex/exa/example.com.md")
    assert blob == json.loads(cli(database, "show", "example.com", "--version", str(second), "--json").out)["document"]
    assert git(repo, "status", "--porcelain") == ""


def test_pllcpp_a_second_page_of_a_site_gets_its_own_file(database, tmp_path):
    record(database, "example.com", [Snap("20100101000000", "Policy.\n")])
    page = record(database, "example.com", [Snap("20110101000000", "Cookies.\n")], url="https://example.com/cookies")
    repo = tmp_path / "corpus"
    assert cli(database, "export", "pllcpp", str(repo)).code == 0
    assert (repo / "e/ex/exa/example.com.md").read_text().endswith("Policy.\n")
    assert (repo / f"e/ex/exa/example.com~{page}.md").read_text().endswith("Cookies.\n")


def test_pllcpp_rerun_appends_only_new_versions(database, tmp_path):
    example_database(database)
    repo = tmp_path / "corpus"
    cli(database, "export", "pllcpp", str(repo))
    again = cli(database, "export", "pllcpp", str(repo))
    assert "0 new version(s) committed; 6 exported before" in again.out
    assert len(log(repo)) == 6
    record(database, "example.com", [Snap("20230101000000", "Everything changed.\n")])
    (repo / ".git" / "policytrack-export.json").unlink()  # the trailers alone say what was exported
    third = cli(database, "export", "pllcpp", str(repo))
    assert "1 new version(s) committed; 6 exported before" in third.out
    commits = log(repo)
    assert len(commits) == 7 and commits[-1]["meta"]["first_seen"] == "20230101000000"
    assert "Everything changed." in (repo / "e/ex/exa/example.com.md").read_text()


def test_pllcpp_an_older_version_found_later_is_committed_then_the_latest_restored(database, tmp_path):
    record(database, "example.com", [Snap("20100101000000", "Old.\n"), Snap("20200101000000", "New.\n")])
    repo = tmp_path / "corpus"
    cli(database, "export", "pllcpp", str(repo))
    record(database, "example.com", [Snap("20150101000000", "Middle.\n")])  # a rerun found an older capture
    result = cli(database, "export", "pllcpp", str(repo))
    assert "1 new version(s) committed, 1 restore commit(s); 2 exported before" in result.out
    commits = log(repo)
    assert [c["meta"]["first_seen"][:4] for c in commits] == ["2010", "2020", "2015", "2020"]
    assert commits[-1]["trailer"].startswith("Policytrack-Restore: ")
    assert (repo / "e/ex/exa/example.com.md").read_text().endswith("New.\n")
    assert "1 new" not in cli(database, "export", "pllcpp", str(repo)).out  # the restore is not a version


def test_pllcpp_refuses_a_directory_it_did_not_make_or_with_local_changes(database, tmp_path):
    example_database(database)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    result = cli(database, "export", "pllcpp", str(other))
    assert result.code == 1 and "not empty" in result.err
    assert (other / "notes.txt").read_text() == "mine" and not (other / ".git").exists()
    repo = tmp_path / "corpus"
    cli(database, "export", "pllcpp", str(repo))
    (repo / "e/ex/exa/example.com.md").write_text("edited by hand")
    result = cli(database, "export", "pllcpp", str(repo))
    assert result.code == 1 and "working tree has changes" in result.err
    assert (repo / "e/ex/exa/example.com.md").read_text() == "edited by hand"


# --- jsonl -----------------------------------------------------------------------------------------------


def test_jsonl_one_version_per_line_in_time_order(database, tmp_path):
    example_database(database)
    target = tmp_path / "versions.jsonl"
    result = cli(database, "export", "jsonl", str(target))
    assert result.code == 0 and "6 version(s)" in result.out
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["first_seen"] for r in rows] == sorted(r["first_seen"] for r in rows)
    assert {"version_id", "site", "page_url", "timestamp", "snapshot_url", "sha256", "title", "body"} <= set(rows[0])
    v2015 = next(r for r in rows if r["first_seen"] == "20150615080000")
    assert v2015["body"] == V2015.replace("\ue000", "20150615080000")
    assert v2015["snapshot_url"] == "https://web.archive.org/web/20150615080000id_/https%3A//example.com/privacy"
    only = cli(database, "export", "jsonl", "-", "--site", "other.org")
    assert [json.loads(line)["site"] for line in only.out.splitlines()] == ["other.org", "other.org"]
    missing = cli(database, "export", "jsonl", str(tmp_path / "no" / "x.jsonl"))
    assert missing.code == 1 and "does not exist" in missing.err


# --- warc ------------------------------------------------------------------------------------------------


def test_archived_headers_keep_the_captured_ones():
    replayed = [("Content-Length", "10"), ("X-Archive-Orig-Date", "Mon, 14 Mar 2005 09:30:00 GMT"),
                ("X-Archive-Orig-Server", "Apache"), ("Content-Type", "text/html; charset=utf-8"),
                ("Memento-Datetime", "Mon, 14 Mar 2005 09:30:00 GMT"), ("Link", "<x>; rel=original"),
                ("X-Archive-Orig-Transfer-Encoding", "chunked"), ("Date", "Mon, 30 Nov 2026 03:13:45 GMT")]
    assert archived_headers(replayed) == [("Date", "Mon, 14 Mar 2005 09:30:00 GMT"), ("Server", "Apache"),
                                          ("Content-Type", "text/html; charset=utf-8")]


def test_warc_has_a_response_per_snapshot_and_revisits_for_repeated_payloads(database, tmp_path):
    html = b"<html><body>same bytes</body></html>"
    record(database, "example.com", [Snap("20100101000000", "A.\n", html=html), Snap("20110101000000", "A.\n", html=html),
                                     Snap("20120101000000", "B.\n")])
    target = tmp_path / "out.warc.gz"
    result = cli(database, "export", "warc", str(target))
    assert result.code == 0 and "3 record(s)" in result.out
    with target.open("rb") as handle:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("WARC-Date"),
                    r.http_headers.get_statuscode() if r.http_headers else None, r.content_stream().read())
                   for r in ArchiveIterator(handle)]
    assert [r[0] for r in records] == ["warcinfo", "response", "revisit", "response"]
    assert records[1][1:4] == ("https://example.com/privacy", "2010-01-01T00:00:00Z", "200")
    assert records[1][4] == html and records[2][2] == "2011-01-01T00:00:00Z"
    assert cli(database, "export", "warc", str(tmp_path / "out.warc")).code == 1  # must be .warc.gz


def test_sample_crawl_search_and_warc_replayed_by_pywb_gives_the_same_versions(tmp_path, sample_archive,
                                                                               archive_factory):
    """End to end: crawl the sample archive, search it, export its snapshots, crawl the export back."""
    from policytrack.localarchive import sample_sites

    original = f"sqlite:///{tmp_path / 'original.db'}"
    for host, url in sample_sites():
        assert run_cli("add", host, url, db=original).code == 0
    assert crawl(original, sample_archive).code == 0
    hits = run_cli("search", "Do Not Sell", "--json", db=original).json()
    assert hits[0]["site"] == "acme.example" and hits[0]["first"]["first_seen"][:4] == "2020"

    warc = tmp_path / "export.warc.gz"
    assert run_cli("export", "warc", str(warc), db=original).code == 0
    replayed = archive_factory(warcs=[warc])
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    for host, url in sample_sites():
        run_cli("add", host, url, db=copy)
    assert crawl(copy, replayed).code == 0

    def versions(url: str, host: str) -> list[tuple]:
        return [(v["sha256"], v["first_seen"], v["last_seen"], v["capture_count"], v["lines_added"],
                 v["lines_removed"]) for v in run_cli("history", host, "--json", db=url).json()]

    # The identical history, acme's included: its page moved behind archived 301s, which are exported
    # as redirects to the stored target; birdwatch's archived 404 is exported with its status.
    for host, _ in sample_sites():
        assert versions(copy, host) == versions(original, host), host
    assert len(versions(copy, "acme.example")) == 6
    sites = {s["hostname"]: s for s in run_cli("sites", "--json", db=copy).json()}
    assert {h: s["captures"] for h, s in sites.items()} == {
        s["hostname"]: s["captures"] for s in run_cli("sites", "--json", db=original).json()}
    with warc.open("rb") as handle:
        statuses = {(r.rec_headers.get_header("WARC-Target-URI"), r.http_headers.get_statuscode())
                    for r in ArchiveIterator(handle) if r.http_headers}
    assert ("http://acme.example/privacy.html", "301") in statuses
    assert ("http://birdwatch.example/privacy.php", "404") in statuses
