"""The web app's JSON API and HTML pages over the crawled sample archive (tests/webdb.py), in process.

The API must say what the CLI's --json says (same fields, same values), page with cursors to the same
lists, refuse writes, and answer bad input with 4xx, never 500. Pages must escape everything archived.
A fuzz of every endpoint from the OpenAPI schema (schemathesis) is in tests/test_web_fuzz.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

import storage
from policytrack.commands.queries import JSON_FIELDS
from tests.clihelp import run_cli
from tests.webdb import HOSTILE, HOSTILE_TITLE, web_database
from web import create_app
from web.app import CSP


@pytest.fixture(scope="module")
def db_url(tmp_path_factory, local_archive, sample_archive) -> str:
    return web_database(tmp_path_factory, local_archive, sample_archive)


def serving(url: str):
    """A test client of the app over the database at ``url`` (for a module-scoped fixture to yield from)."""
    database = storage.open_database(url)
    with TestClient(create_app(database)) as test_client:
        yield test_client
    database.dispose()


@pytest.fixture(scope="module")
def client(db_url):
    yield from serving(db_url)


def _all(client: TestClient, url: str, **params) -> list[dict]:
    """Every item of a paged list, following next_cursor."""
    items, cursor = [], None
    while True:
        page = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_versions_match_history_json(client, db_url):
    for site in ("acme.example", "birdwatch.example", HOSTILE):
        cli = run_cli("history", site, "--json", db=db_url).json()
        assert _all(client, f"/api/sites/{site}/versions", limit=2) == cli


def test_a_version_matches_show_json_and_at_a_date(client, db_url):
    cli = run_cli("show", "acme.example", "--at", "2010-01-01", "--json", db=db_url).json()
    assert client.get("/api/sites/acme.example/version", params={"at": "2010-01-01"}).json() == cli
    assert client.get(f"/api/versions/{cli['id']}").json() == cli


def test_diff_matches_diff_json(client, db_url):
    history = run_cli("history", "acme.example", "--json", db=db_url).json()
    a, b = history[1]["id"], history[2]["id"]
    for mode, flag in (("line", ()), ("word", ("--word",))):
        cli = run_cli("diff", "acme.example", "--from", f"v{a}", "--to", f"v{b}", *flag, "--json", db=db_url).json()
        api = client.get("/api/sites/acme.example/diff", params={"from": a, "to": b, "mode": mode})
        assert api.status_code == 200 and api.json() == cli


def test_changes_and_search_match_the_cli_and_page_by_cursor(client, db_url):
    cli = run_cli("changes", "--json", db=db_url).json()
    assert len(cli) > 3
    assert _all(client, "/api/changes", limit=2) == cli
    since = run_cli("changes", "--since", "2018-01-01", "--json", db=db_url).json()
    assert _all(client, "/api/changes", since="2018-01-01", limit=3) == since
    for term in ("cookies", "GDPR"):
        found = run_cli("search", term, "--json", db=db_url).json()
        assert found, term
        assert _all(client, "/api/search", q=term, limit=1) == found


def test_sites_page_through_every_site_in_each_order(client, db_url):
    cli = run_cli("sites", "--json", db=db_url).json()
    for sort in ("hostname", "versions", "last_change"):
        listed = _all(client, "/api/sites", sort=sort, limit=2)
        assert sorted(s["hostname"] for s in listed) == sorted(s["hostname"] for s in cli), sort
    by_host = {s["hostname"]: s for s in _all(client, "/api/sites", limit=3)}
    for site in cli:  # the CLI's fields and values, plus the time of the last change
        assert {k: by_host[site["hostname"]][k] for k in site} == site
    changes = _all(client, "/api/changes", limit=100)
    for host, site in by_host.items():  # the last change: when the newest change was first seen
        assert site["last_change"] == max((c["after_timestamp"] for c in changes if c["site"] == host), default=None)
    by_change = [s["last_change"] for s in _all(client, "/api/sites", sort="last_change", limit=2)]
    assert by_change == sorted(by_change, key=lambda t: t or "", reverse=True)
    versions = [s["versions"] for s in _all(client, "/api/sites", sort="versions", limit=2)]
    assert versions == sorted(versions, reverse=True)
    assert [s["hostname"] for s in client.get("/api/sites", params={"contains": "BIRD"}).json()["items"]] == [
        "birdwatch.example"]


def test_bad_requests_are_4xx_with_a_message(client):
    assert client.get("/api/sites/nowhere.example/versions").status_code == 404
    assert "nowhere.example" in client.get("/api/sites/nowhere.example/versions").json()["detail"]
    assert client.get("/api/versions/999999").status_code == 404
    assert client.get("/api/sites", params={"cursor": "not-a-cursor"}).status_code == 400
    assert client.get("/api/sites", params={"cursor": "WzEsMl0"}).status_code == 400  # [1,2]: wrong shape
    assert client.get("/api/search", params={"q": "!!"}).status_code == 400
    assert client.get("/api/changes", params={"since": "yesterday"}).status_code == 422
    history = client.get("/api/sites/acme.example/versions").json()["items"]
    other = client.get("/api/sites/birdwatch.example/versions").json()["items"][0]["id"]
    mixed = client.get("/api/sites/acme.example/diff", params={"from": history[0]["id"], "to": other})
    assert mixed.status_code == 404 and "belongs to birdwatch.example" in mixed.json()["detail"]
    page = client.get("/sites/nowhere.example")
    assert page.status_code == 404 and "nowhere.example" in page.text


def test_nothing_can_be_written(client):
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/api/sites").status_code == 405
    schema = client.get("/api/openapi.json").json()
    methods = {m for path in schema["paths"].values() for m in path}
    assert methods == {"get"}


def test_every_page_has_the_strict_policy_and_escapes_the_hostile_title(client):
    versions = client.get(f"/api/sites/{HOSTILE}/versions").json()["items"]
    assert len(versions) == 2 and versions[0]["title"] == HOSTILE_TITLE  # stored raw, as archived
    urls = ["/", "/changes", "/search?q=partners", f"/sites/{HOSTILE}", f"/sites/{HOSTILE}/versions/{versions[0]['id']}",
            f"/sites/{HOSTILE}/version?at=2019-06-01", f"/sites/{HOSTILE}/diff", f"/sites/{HOSTILE}/diff?view=inline",
            f"/sites/{HOSTILE}/diff?by=line", "/api/sites", "/feed.atom"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        if response.headers["content-type"].startswith("text/html"):
            body = response.text
            # the only script element is our own file; archived markup shows as text
            assert body.count("<script") == 1 and '<script src="http://testserver/static/enhance.js" defer>' in body, url
            assert 'href="javascript' not in body.lower() and 'href="data:' not in body.lower(), url
            assert "onerror=" not in body.replace("onerror=&#34;", "").replace("onerror=&quot;", ""), url


def test_version_page_renders_markdown_and_links_around(client):
    history = client.get("/api/sites/acme.example/versions").json()["items"]
    middle = history[2]
    page = client.get(f"/sites/acme.example/versions/{middle['id']}").text
    assert "<h1" in page and "<p>" in page
    assert f'/sites/acme.example/versions/{history[1]["id"]}"' in page and 'rel="prev"' in page
    assert f'/sites/acme.example/versions/{history[3]["id"]}"' in page and 'rel="next"' in page
    document = client.get(f"/api/versions/{middle['id']}").json()
    assert f"https://web.archive.org/web/{document['timestamp']}id_/" in page
    at = client.get("/sites/acme.example/version", params={"at": middle["first_seen"][:4] + "-" +
                                                         middle["first_seen"][4:6] + "-" + middle["first_seen"][6:8]})
    assert f"version {middle['id']}" in at.text and "in force on" in at.text


def test_feeds_link_to_diff_pages(client):
    for url in ("/feed.atom", "/sites/acme.example/feed.atom"):
        response = client.get(url)
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(response.content)
        entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
        assert entries, url
        for entry in entries:
            link = entry.find("{http://www.w3.org/2005/Atom}link").get("href")
            assert "/diff?from=" in link, link
            assert client.get(link).status_code == 200
    one_site = ET.fromstring(client.get("/sites/acme.example/feed.atom").content)
    assert all("acme.example" in e.findtext("{http://www.w3.org/2005/Atom}title")
               for e in one_site.findall("{http://www.w3.org/2005/Atom}entry"))


def test_openapi_schema_uses_the_cli_field_names(client):
    schema = client.get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    assert set(components["HistoryRow"]["properties"]) == set(JSON_FIELDS["history"])
    assert set(components["PolicyMove"]["properties"]) == {"from_url", "to_url", "at", "cross_site"}
    assert set(components["VersionDocument"]["properties"]) == set(JSON_FIELDS["show"])
    assert set(components["ChangeEntry"]["properties"]) == set(JSON_FIELDS["changes"])
    assert set(components["SearchHit"]["properties"]) == set(JSON_FIELDS["search"])
    assert set(components["DiffResponse"]["properties"]) == set(JSON_FIELDS["diff"])


def test_every_list_and_page_runs_on_both_backends(db):
    """The browsing SQL (storage/browse.py) on SQLite and PostgreSQL, over a bulk-loaded history."""
    from storage.bulkload import BulkPage, BulkVersion, bulk_load

    pages = [BulkPage(f"s{n}.example", f"https://s{n}.example/p", [
        BulkVersion(f"20{10 + k:02d}0101000000", f"S{n}", f"we collect data {k}\n\nversion {k} of site {n}\n",
                    later_captures=[f"20{10 + k:02d}0601000000"]) for k in range(n + 1)]) for n in range(4)]
    with db.session() as session:
        bulk_load(session, pages)
    with TestClient(create_app(db)) as http:
        for sort in ("hostname", "versions", "last_change"):
            listed = _all(http, "/api/sites", sort=sort, limit=1)
            assert sorted(s["hostname"] for s in listed) == [f"s{n}.example" for n in range(4)]
        by_host = {s["hostname"]: s for s in _all(http, "/api/sites", contains="s", limit=2)}
        assert by_host["s3.example"]["versions"] == 4 and by_host["s3.example"]["captures"] == 8
        assert by_host["s3.example"]["last_change"] == "20130101000000" and by_host["s0.example"]["last_change"] is None
        assert len(_all(http, "/api/changes", since="2011-01-01", limit=2)) == 6
        assert [h["site"] for h in _all(http, "/api/search", q="version 2", limit=1)] == ["s2.example", "s3.example"]
        for url in ("/", "/?sort=versions", "/sites/s3.example", "/sites/s3.example/diff", "/changes", "/search?q=collect",
                    "/feed.atom", "/sites/s2.example/feed.atom"):
            assert http.get(url).status_code == 200, url



def test_the_sites_page_shows_pages_the_archive_blocks(db):
    """A page the archive refuses to list (blocked, or failing) is marked on the sites page with the reason,
    and the API's site row says the same (listing state and note); a page listed normally is not marked."""
    from storage import add_site
    from storage.sites import record_listing

    with db.session() as session:
        blocked = add_site(session, "blocked.example", "https://blocked.example/privacy").page_id
        failing = add_site(session, "failing.example", "https://failing.example/privacy").page_id
        listed = add_site(session, "listed.example", "https://listed.example/privacy").page_id
        record_listing(session, blocked, "blocked", reason="excluded by the site owner")
        record_listing(session, failing, "failed", reason="HTTP 503")
        record_listing(session, listed, "listed")
    with TestClient(create_app(db)) as http:
        rows = {row["hostname"]: row for row in _all(http, "/api/sites")}
        assert rows["blocked.example"]["listing"] == {"https://blocked.example/privacy": "blocked"}
        assert "blocked by the archive" in rows["blocked.example"]["notes"][0]
        assert "excluded by the site owner" in rows["blocked.example"]["notes"][0]
        assert rows["listed.example"]["notes"] == []
        page = http.get("/").text
        for host, badge in (("blocked.example", "blocked"), ("failing.example", "listing failed")):
            row = page[page.index(f">{host}<"):].split("</tr>")[0]
            assert 'class="badge blocked"' in row and f">{badge}</span>" in row, row
        assert 'class="badge' not in page[page.index(">listed.example<"):].split("</tr>")[0]
        assert "HTTP 503" in page and "excluded by the site owner" in page  # in the badges' titles


# --- changes the normalizer no longer sees (merged) ---------------------------------------------------

MERGE_TIMES = ("20150101000000", "20160101000000", "20170101000000")


def _history_with_a_merged_change(database, host: str, merge: bool) -> None:
    """Texts A, B, C recorded by normalizer 1; re-normalized by normalizer 2, which (with ``merge``) reads the
    2016 capture as A again: the 2016 change disappears (a merged entry), the 2017 one stays."""
    from core.document import content_sha256
    from storage import CdxRow, add_site, capture_id, rebuild_versions, record_captures, record_normalized, store_snapshot
    from storage.renormalize import begin_renormalization, finish_renormalization, record_renormalized

    url = f"https://{host}/privacy"
    texts = [f"{host}: we collect data.\n\nversion {k}\n" for k in range(3)]
    with database.session() as session:
        page_id = add_site(session, host, url).page_id
        record_captures(session, page_id, [CdxRow(t, url, 200, "text/html", f"d{t}", 10) for t in MERGE_TIMES], None)
        for ts, body in zip(MERGE_TIMES, texts):
            snapshot_id, _ = store_snapshot(session, f"{host} {ts}".encode(), http_status=200, headers=[], url=url)
            record_normalized(session, capture_id(session, page_id, ts), snapshot_id=snapshot_id,
                              content_sha256=content_sha256("P", body), title="P", comparable_body=body,
                              extraction="readability", normalizer_version="1")
        rebuild_versions(session, page_id)
        begin_renormalization(session, page_id, "2")
        for ts, body in zip(MERGE_TIMES, [texts[0], texts[0] if merge else texts[1], texts[2]]):
            record_renormalized(session, capture_id(session, page_id, ts), content_sha256=content_sha256("P", body),
                                title="P", comparable_body=body, extraction="readability", normalizer_version="2")
        finish_renormalization(session, page_id, "2")


@pytest.fixture(scope="module")
def merged_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('merged') / 'merged.db'}"
    database = storage.open_database(url)
    for host, merge in (("merged-a.example", True), ("merged-b.example", True), ("kept.example", False)):
        _history_with_a_merged_change(database, host, merge)
    database.dispose()
    return url


@pytest.fixture(scope="module")
def merged_client(merged_db):
    yield from serving(merged_db)


def test_changes_list_merged_changes_as_the_cli_does(merged_client, merged_db):
    cli = run_cli("changes", "--json", db=merged_db).json()
    assert [(r["site"], r["after_timestamp"], r["merged"]) for r in cli if r["merged"]] == [
        ("merged-a.example", MERGE_TIMES[1], True), ("merged-b.example", MERGE_TIMES[1], True)]
    for limit in (1, 2, 50):  # the cursor runs through stored and merged rows of the same moment
        assert _all(merged_client, "/api/changes", limit=limit) == cli
    assert _all(merged_client, "/api/changes", technical="false") == run_cli(
        "changes", "--json", "--no-technical", db=merged_db).json()
    since = run_cli("changes", "--json", "--since", "2016-01-01", "--site", "merged-a.example", db=merged_db).json()
    assert any(r["merged"] for r in since)
    assert _all(merged_client, "/api/changes", since="2016-01-01", site="merged-a.example", limit=1) == since


def test_a_sites_versions_carry_its_merged_changes(merged_client, merged_db):
    cli = [r for r in run_cli("changes", "--json", "--site", "merged-a.example", db=merged_db).json() if r["merged"]]
    body = merged_client.get("/api/sites/merged-a.example/versions", params={"limit": 1}).json()
    assert body["merged"] == cli and len(cli) == 1
    assert merged_client.get("/api/sites/kept.example/versions").json()["merged"] == []
    history = run_cli("history", "merged-a.example", db=merged_db).out
    page = merged_client.get("/sites/merged-a.example").text
    assert "no longer distinguishes" in history and "no longer distinguishes" in page
    assert page.count('class="marker merged"') == 1
    assert f'/sites/merged-a.example/versions/{cli[0]["to_version_id"]}"' in page
