"""The crawler against real recorded Internet Archive answers: rewritten (path-only and scheme-less)
redirect Locations, the archive's own redirects to the nearest capture, archived error pages, and
redirect loops -- replayed on loopback from ../shared/wayback-recordings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.clihelp import FAST, run_cli
from tests.ia_replay import ReplayArchive, load_cassette


@pytest.fixture
def replay(shared_dir):
    archives: list[ReplayArchive] = []

    def make(cassette: str, cdx: str) -> ReplayArchive:
        archive = ReplayArchive(load_cassette(shared_dir / "wayback-recordings" / "cassettes" / f"{cassette}.yaml"), cdx)
        archives.append(archive)
        return archive

    yield make
    for archive in archives:
        archive.close()


def crawl_recorded(db: str, archive: ReplayArchive):
    return run_cli("crawl", "--archive", archive.url, *FAST, db=db)


@pytest.mark.parametrize("cassette,site,url,timestamp,target", [
    ("test_get_memento_with_path_based_redirects", "whitehouse.gov",
     "https://www.whitehouse.gov/administration/eop/ostp/about/student/faqs", "20201027215555",
     "/web/20201027220743id_/https://www.whitehouse.gov/ostp/about/student/faqs"),
    ("test_get_memento_with_schemeless_redirects", "census.gov",
     "https://www.census.gov/geography/gss-initiative.html", "20201102232816",
     "/web/20201102233026id_/https://www.census.gov/geo/gssi/"),
])
def test_rewritten_redirects_are_followed_through_the_archives_own_redirect(replay, db_url, cassette, site, url,
                                                                            timestamp, target):
    surt = "x)/"
    archive = replay(cassette, f"{surt} {timestamp} {url} text/html 301 ABCDEF 500\n")
    assert run_cli("add", site, url, db=db_url).code == 0
    result = crawl_recorded(db_url, archive)
    assert result.code == 0, result.err
    captures = [r for r in archive.requests if "id_/" in r]
    # the archived 301, its target at the same time (the archive 302s to the nearest capture), that capture
    assert captures[0] == f"/web/{timestamp}id_/{url}"
    assert captures[-1] == target
    assert len(captures) == 3
    run = run_cli("runs", "--json", db=db_url).json()[0]
    # the target is an archived 404: recorded with its reason, no version
    assert run["status"] == "succeeded" and run["counts"]["captures_skipped"] == 1
    assert run_cli("history", site, "--json", db=db_url).json() == []


def test_redirect_loop_through_the_archive_is_detected(replay, db_url):
    url = "https://link.springer.com/article/10.1007/s00382-012-1331-2"
    archive = replay("test_get_memento_raises_for_mementos_that_redirect_in_a_loop",
                     f"com,springer,link)/article/10.1007/s00382-012-1331-2 20200925075402 {url} text/html 303 X 900\n")
    assert run_cli("add", "springer.com", url, db=db_url).code == 0
    result = crawl_recorded(db_url, archive)
    assert result.code == 0, result.err
    assert len([r for r in archive.requests if "id_/" in r]) == 3
    run = run_cli("runs", "--json", db=db_url).json()[0]
    assert run["counts"]["captures_skipped"] == 1 and run["status"] == "succeeded"


def test_archived_rate_limit_page_is_data_not_a_live_429(replay, db_url, shared_dir):
    exchanges = load_cassette(shared_dir / "wayback-recordings" / "cassettes"
                              / "test_get_memento_works_on_archived_rate_limit_responses.yaml")
    (path, (status, headers, _)), = [(p, e) for p, e in exchanges.items() if "id_/" in p][:1]
    assert status == 429 and any(n.lower() == "memento-datetime" for n, _ in headers)
    timestamp, original = path.split("/web/", 1)[1].split("id_/", 1)
    archive = replay("test_get_memento_works_on_archived_rate_limit_responses",
                     f"x)/ {timestamp} {original} text/html 200 X 100\n")
    assert run_cli("add", "ratelimited.example", original, db=db_url).code == 0
    result = crawl_recorded(db_url, archive)
    assert result.code == 0, result.err
    # fetched once, never retried, no pause: an archived 429 is a capture of somebody's error page
    assert [r for r in archive.requests if "id_/" in r] == [path]
    run = run_cli("runs", "--json", db=db_url).json()[0]
    assert run["counts"]["captures_skipped"] == 1


def _recorded_cdx_pages(shared_dir) -> dict[str | None, str]:
    """The three recorded CDX pages of test_search_multipage, keyed by the resumeKey that asks for them."""
    exchanges = load_cassette(shared_dir / "wayback-recordings" / "cassettes" / "test_search_multipage.yaml")
    pages: dict[str | None, str] = {}
    for path, (_, _, body) in exchanges.items():
        key = parse_qs(urlsplit(path).query).get("resumeKey", [None])[0]
        pages[key] = body.decode()
    return pages


def test_resume_key_paging_collects_every_recorded_row_once(shared_dir, db_url):
    pages = _recorded_cdx_pages(shared_dir)
    rows = {line.split(" ")[1] for body in pages.values() for line in body.splitlines() if line.count(" ") == 6}
    archive = ReplayArchive({}, pages, page_for=lambda ts, url: b"<html><head><title>CNN</title></head><body>"
                            b"<p>" + b"The same text in every capture of this page. " * 20 + b"</p></body></html>")
    try:
        assert run_cli("add", "cnn.com", "http://www.cnn.com/", db=db_url).code == 0
        result = crawl_recorded(db_url, archive)
    finally:
        archive.close()
    assert result.code == 0, result.err
    cdx = [r for r in archive.requests if r.startswith("/cdx/")]
    assert len(cdx) == len(pages) and "resumeKey" not in cdx[0] and all("resumeKey=" in r for r in cdx[1:])
    run = run_cli("runs", "--json", db=db_url).json()[0]
    assert run["counts"]["captures_seen"] == len(rows) == run["counts"]["captures_new"]
    versions = run_cli("history", "cnn.com", "--json", db=db_url).json()
    assert [(v["first_seen"], v["last_seen"]) for v in versions] == [(min(rows), max(rows))]
    assert run["counts"]["captures_fetched"] == 2     # bisection: both ends equal, the rest inferred
