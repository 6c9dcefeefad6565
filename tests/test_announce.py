"""Change announcements: webhooks (exactly once per change, across restarts, with retries), Apprise, the
Atom feed, and live checks that see a change the day it happens. Receivers and the "live site" are
small HTTP servers on loopback."""

from __future__ import annotations

import http.server
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

import storage
from core.document import archive_base_of, header_line, live_header_line
from policytrack.localarchive import WarcCapture
from storage.live import live_captures
from storage.models import Change, Delivery
from tests.clihelp import crawl, run_cli
from tests.loopback import LoopbackServer, respond
from tests.test_scheduler_support import Receiver, SchedulerProcess, page, run_cli_ok, runs_of, wait_until

SITE = "acme.example"
URL = f"https://{SITE}/privacy"
HISTORY = [WarcCapture(URL, "20100101000000", page(SITE, "Version A.", 1)),
           WarcCapture(URL, "20110101000000", page(SITE, "Version B: cookies.", 2)),
           WarcCapture(URL, "20120101000000", page(SITE, "Version C: the GDPR.", 3))]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def changes(db_url: str) -> list[Change]:
    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(Change).order_by(Change.after_timestamp)))
    finally:
        database.dispose()


def test_each_change_is_posted_exactly_once_with_retries_and_across_a_restart(archive_factory, db_url, tmp_path,
                                                                             receiver):
    receiver.fail_first = 2  # the first two POSTs get a 500: retried within the same cycle
    archive = archive_factory(HISTORY)
    run_cli_ok("add", SITE, URL, db=db_url)
    run_cli_ok("notify", "add", "webhook", receiver.url, db=db_url)
    run_cli_ok("schedule", "add", SITE, "--every", "2s", "--now", db=db_url)
    with SchedulerProcess(db_url, archive, tmp_path / "first.log") as first:
        first.wait_started()
        wait_until(lambda: len(receiver.bodies) >= 2, 90, what="two deliveries")
        assert first.stop() == 0
    done = len(runs_of(db_url, "s1"))
    with SchedulerProcess(db_url, archive, tmp_path / "second.log") as second:  # more runs, nothing new to say
        second.wait_started()
        wait_until(lambda: len([r for r in runs_of(db_url, "s1") if r.finished_at]) >= done + 2, 60,
                   what="two runs after the restart")
        assert second.stop() == 0
    assert run_cli_ok("announce", db=db_url).startswith("announcements: 0 delivered, 0 failed")

    stored = changes(db_url)
    assert len(stored) == 2 and all(c.announced_at is not None for c in stored)
    assert [body["change_id"] for body in receiver.bodies] == [c.id for c in stored]  # once each, oldest first
    assert receiver.attempts == 4
    first_change = receiver.bodies[0]
    assert first_change["id"] == receiver.headers[0]["Idempotency-Key"] == f"policytrack-change-{stored[0].id}"
    assert first_change["site"] == SITE and first_change["page_url"] == URL
    assert (first_change["changed_after"], first_change["changed_by"]) == ("20100101000000", "20110101000000")
    assert first_change["from_version"]["id"] == stored[0].from_version_id
    assert first_change["to_version"]["id"] == stored[0].to_version_id
    # A link into the archive the change was found in (here the test's pywb), not the Wayback Machine.
    assert first_change["to_version"]["url"] == f"{archive.removeprefix('pywb:')}/20110101000000/{URL}"
    summary = first_change["summary"]
    assert (summary["lines_added"], summary["lines_removed"]) == (stored[0].lines_added, stored[0].lines_removed)
    assert summary["sections"] == ["What we collect"] and 0 < summary["similarity"] < 1
    listed = run_cli("notify", "list", "--json", db=db_url).json()
    assert [(c["kind"], c["delivered"], c["pending"], c["failed"]) for c in listed] == [("webhook", 2, 0, 0)]


def test_a_failing_webhook_keeps_the_change_owed_and_announce_fails_for_cron(archive_factory, db_url, receiver):
    run_cli_ok("add", SITE, URL, db=db_url)
    run_cli_ok("notify", "add", "webhook", "http://127.0.0.1:9/unreachable", db=db_url)
    assert crawl(db_url, archive_factory(HISTORY[:2])).code == 0
    failed = run_cli("announce", "--retries", "0", "--timeout", "2", db=db_url)
    assert failed.code == 1 and failed.err.count("\n") == 1 and "1 announcement(s) failed" in failed.err
    assert changes(db_url)[0].announced_at is None
    # A second, working channel added now does not get the older change; the owed one is still retried.
    run_cli_ok("notify", "add", "webhook", receiver.url, db=db_url)
    assert run_cli("announce", "--retries", "0", "--timeout", "2", db=db_url).code == 1
    assert receiver.bodies == []
    listed = run_cli("notify", "list", "--json", db=db_url).json()
    assert [(c["delivered"], c["pending"]) for c in listed] == [(0, 1), (0, 0)]
    assert run_cli_ok("notify", "remove", str(listed[0]["id"]), db=db_url).startswith("removed channel")
    assert run_cli_ok("announce", db=db_url).startswith("announcements: 0 delivered, 0 failed, 1 change(s)")
    assert changes(db_url)[0].announced_at is not None


def test_a_stopping_scheduler_does_not_wait_out_a_failing_webhook_and_owes_what_it_cut_short(
        archive_factory, db_url, tmp_path, receiver):
    receiver.fail_first = 10**6  # down: every POST gets a 500, retried with back-off
    archive = archive_factory(HISTORY)
    run_cli_ok("add", SITE, URL, db=db_url)
    run_cli_ok("notify", "add", "webhook", receiver.url, db=db_url)
    run_cli_ok("schedule", "add", SITE, "--every", "1h", "--now", db=db_url)
    with SchedulerProcess(db_url, archive, tmp_path / "scheduler.log") as scheduler:
        scheduler.wait_started()
        wait_until(lambda: receiver.attempts >= 1, 90, interval=0.05, what="a first delivery attempt")
        assert scheduler.stop() == 0
        log = scheduler.log()
    assert "did not stop" not in log, log[-3000:]
    assert receiver.attempts < 4  # it did not sit out its retries (4 attempts, 7 s of back-off)
    database = storage.open_database(db_url)
    try:
        with database.session() as session:
            deliveries = list(session.scalars(select(Delivery)))
    finally:
        database.dispose()
    # The cut-short attempt is not counted (it does not bring the delivery closer to being given up).
    assert [(d.status, d.attempts) for d in deliveries] in ([], [("pending", 0)])
    assert all(c.announced_at is None for c in changes(db_url))

    receiver.fail_first = 0  # back up: the owed changes go out, once each
    assert run_cli_ok("announce", db=db_url).startswith("announcements: 2 delivered, 0 failed, 2 change(s)")
    assert [body["change_id"] for body in receiver.bodies] == [c.id for c in changes(db_url)]


def test_apprise_urls_are_notified(archive_factory, db_url, receiver):
    pytest.importorskip("apprise", reason="apprise is not installed")
    run_cli_ok("add", SITE, URL, db=db_url)
    target = receiver.url.replace("http://", "json://")
    run_cli_ok("notify", "add", "apprise", target, db=db_url)
    assert crawl(db_url, archive_factory(HISTORY)).code == 0
    assert run_cli_ok("announce", db=db_url).startswith("announcements: 2 delivered, 0 failed")
    assert [body["title"] for body in receiver.bodies] == [f"{SITE}: privacy policy changed"] * 2
    assert "between 2010-01-01 00:00 and 2011-01-01 00:00 UTC" in receiver.bodies[0]["message"]
    assert "sections: What we collect" in receiver.bodies[0]["message"]
    bad = run_cli("notify", "add", "apprise", "nonsense://x", db=db_url)
    assert bad.code == 1 and "unsupported Apprise URL" in bad.err


def test_the_atom_feed_lists_changes_newest_first(archive_factory, db_url, tmp_path):
    run_cli_ok("add", SITE, URL, db=db_url)
    archive = archive_factory(HISTORY)
    assert crawl(db_url, archive).code == 0
    stored = changes(db_url)
    out = tmp_path / "changes.atom"
    assert run_cli_ok("feed", "-o", str(out), db=db_url).startswith(f"wrote {out}")
    feed = ET.parse(out).getroot()
    assert feed.tag == f"{ATOM}feed" and feed.findtext(f"{ATOM}id") == "urn:policytrack:changes"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [f"urn:policytrack:change:{c.id}" for c in stored[::-1]]
    newest = entries[0]
    assert newest.findtext(f"{ATOM}title").startswith(f"{SITE}: privacy policy changed (+")
    assert datetime.fromisoformat(newest.findtext(f"{ATOM}updated").replace("Z", "+00:00")) <= datetime.now(timezone.utc)
    links = {link.get("rel"): link.get("href") for link in newest.findall(f"{ATOM}link")}
    replay = archive.removeprefix("pywb:")
    assert links == {"alternate": f"{replay}/20120101000000/{URL}", "related": f"{replay}/20110101000000/{URL}"}
    assert "What we collect" in newest.findtext(f"{ATOM}summary")
    run_cli_ok("add", "other.example", "https://other.example/privacy", db=db_url)
    assert ET.fromstring(run_cli("feed", "--site", "other.example", db=db_url).out).findall(f"{ATOM}entry") == []
    unknown = run_cli("feed", "--site", "nosuch.example", db=db_url)
    assert unknown.code == 1 and "unknown site 'nosuch.example'" in unknown.err
    # A feed channel is rewritten by every announce cycle.
    feed_path = tmp_path / "channel.atom"
    run_cli_ok("notify", "add", "feed", str(feed_path), db=db_url)
    assert "1 feed(s) written" in run_cli_ok("announce", db=db_url)
    assert len(ET.parse(feed_path).getroot().findall(f"{ATOM}entry")) == 2
    missing = run_cli("feed", "-o", str(tmp_path / "no-such-dir" / "f.atom"), db=db_url)
    assert missing.code == 1 and "does not exist" in missing.err


class LiveSite:
    """A 'live' web site on loopback whose privacy page the test rewrites."""

    def __init__(self) -> None:
        self.body = b""
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                respond(self, 200, [("Content-Type", "text/html; charset=utf-8")], site.body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = LoopbackServer(Handler).start()
        self.url = f"{self._server.url}/privacy"
        self.close = self._server.close


def test_live_checks_see_a_change_the_day_it_happens_and_the_archive_confirms_it(archive_factory, db_url, receiver):
    live = LiveSite()
    try:
        text_a, text_b, text_c = "Version A.", "Version B: cookies.", "Version C: the GDPR."
        live.body = page(SITE, text_b, 99)
        run_cli_ok("add", SITE, live.url, db=db_url)
        assert run_cli_ok("live", SITE, db=db_url).strip() == f"live checks on: {SITE}"
        run_cli_ok("notify", "add", "webhook", receiver.url, db=db_url)
        old = WarcCapture(live.url, "20100101000000", page(SITE, text_a, 1))
        assert crawl(db_url, archive_factory([old])).code == 0
        database = storage.open_database(db_url)
        with database.session() as session:
            versions = storage.site_history(session, SITE)
            page_id = storage.pages_for(session, [SITE])[0].page_id
            [seen_live] = live_captures(session, page_id)
        assert [v.first_seen for v in versions] == ["20100101000000", seen_live.timestamp]
        assert seen_live.matched_capture_id is None  # the archive has not seen the new text yet
        # Shown as what it is: a live fetch, with no archived snapshot to point to yet.
        shown = run_cli("show", SITE, "--json", db=db_url).json()
        assert shown["source"] == "live" and shown["timestamp"] == seen_live.timestamp
        assert shown["document"].startswith(live_header_line(SITE, live.url, seen_live.timestamp) + "\n\n# ")
        assert "web.archive.org" not in shown["document"] and "Version B: cookies." in shown["document"]
        assert run_cli_ok("announce", db=db_url).startswith("announcements: 1 delivered")
        [announced] = receiver.bodies
        assert announced["to_version"]["source"] == "live" and announced["to_version"]["url"] == live.url
        assert announced["changed_by"] == seen_live.timestamp

        # The archive captures the same text later: it lands in the same version and confirms the live capture.
        later = (datetime.strptime(seen_live.timestamp, "%Y%m%d%H%M%S") + timedelta(seconds=1)).strftime("%Y%m%d%H%M%S")
        confirmed = WarcCapture(live.url, later, page(SITE, text_b, 7))
        confirming = archive_factory([old, confirmed])
        assert crawl(db_url, confirming).code == 0
        with database.session() as session:
            versions = storage.site_history(session, SITE)
            matched = live_captures(session, page_id)[0]
        assert [(v.first_seen, v.last_seen) for v in versions][1][0] == seen_live.timestamp
        assert len(versions) == 2 and versions[1].last_seen >= later
        assert matched.matched_timestamp == later
        # Now the document is the corpus document of the archive's capture; it was still first seen live.
        shown = run_cli("show", SITE, "--json", db=db_url).json()
        assert shown["source"] == "live" and shown["first_seen"] == seen_live.timestamp
        # (Linked to the archive that captured it: the test's pywb.)
        assert shown["document"].startswith(
            header_line(SITE, live.url, later, archive_base_of(archive_spec=confirming)) + "\n\n# ")

        # The live page changes: the next run has the new version and announces it at once.
        live.body = page(SITE, text_c, 100)
        result = crawl(db_url, archive_factory([old, confirmed]))
        assert result.code == 0, result.err
        with database.session() as session:
            versions = storage.site_history(session, SITE)
        assert len(versions) == 3 and "GDPR" in run_cli("show", SITE, db=db_url).out
        run_cli_ok("announce", db=db_url)
        assert [body["to_version"]["source"] for body in receiver.bodies] == ["live", "live"]
        database.dispose()

        # A live site that is down fails the run with a one-line reason (cron sees it), losing nothing.
        live.close()
        down = crawl(db_url, archive_factory([old, confirmed]))
        assert down.code == 1 and "live fetch of" in down.err.strip().splitlines()[-1]
        assert run_cli_ok("live", SITE, "--off", db=db_url).strip() == f"live checks off: {SITE}"
        assert run_cli_ok("live", db=db_url).startswith("no site has live checks on")
    finally:
        try:
            live.close()
        except Exception:
            pass
