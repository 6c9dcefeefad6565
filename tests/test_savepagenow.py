"""`policytrack archive-now`: Save Page Now through waybackpy, against a loopback endpoint.

pywb has no Save Page Now API, so a small loopback server answers as the Internet Archive's does: memento
``Link`` headers naming the new capture on success, 429 when over the limit. It records every
request so the tests can check what was asked and how fast.
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from tests.clihelp import run_cli
from tests.loopback import LoopbackServer, respond


class SaveEndpoint:
    def __init__(self, refuse_after: int | None = None):
        self.requests: list[tuple[float, str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                endpoint.requests.append((time.monotonic(), self.path))
                if refuse_after is not None and len(endpoint.requests) > refuse_after:
                    respond(self, 429)
                    return
                target = self.path[len("/save/"):]
                stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 5))
                memento = f"https://web.archive.org/web/{stamp}/{target}"
                # The memento links as the Wayback Machine sends them (the shape waybackpy parses).
                link = (f'<{target}>; rel="original", <{memento}>; rel="memento"; '
                        f'datetime="now", <{memento}>; rel="last memento"; datetime="now"')
                respond(self, 200, [("Link", link)], b"ok")

        self._server = LoopbackServer(Handler).start()
        self.url = self._server.url
        self.close = self._server.close


@pytest.fixture
def two_sites(db_url):
    for site in ("one.example", "two.example"):
        assert run_cli("add", site, f"https://{site}/privacy", db=db_url).code == 0
    return db_url


def test_saves_each_page_spaced_by_the_rate(two_sites):
    endpoint = SaveEndpoint()
    try:
        result = run_cli("archive-now", "one.example", "two.example", "--archive", endpoint.url, "--rate", "15",
                         db=two_sites)
    finally:
        endpoint.close()
    assert result.code == 0, result.err
    assert [path for _, path in endpoint.requests] == ["/save/https://one.example/privacy",
                                                       "/save/https://two.example/privacy"]
    assert endpoint.requests[1][0] - endpoint.requests[0][0] >= 3.9      # 15/min = one every 4 s
    lines = result.out.strip().splitlines()
    assert lines[0].startswith("https://one.example/privacy\thttps://web.archive.org/web/")


def test_429_stops_the_batch_with_one_line(two_sites):
    endpoint = SaveEndpoint(refuse_after=0)
    try:
        result = run_cli("archive-now", "one.example", "two.example", "--archive", endpoint.url, "--rate", "15",
                         db=two_sites)
    finally:
        endpoint.close()
    assert result.code == 1
    assert result.err.count("\n") == 1 and "429" in result.err
    assert len(endpoint.requests) == 1          # no second save after the refusal


def test_refuses_rates_above_the_archive_limit_and_pywb_archives(two_sites):
    too_fast = run_cli("archive-now", "one.example", "--rate", "30", db=two_sites)
    assert too_fast.code == 1 and "at most 15" in too_fast.err
    pywb = run_cli("archive-now", "one.example", "--archive", "pywb:http://127.0.0.1:1/coll", db=two_sites)
    assert pywb.code == 1 and "Wayback Machine" in pywb.err
    unknown = run_cli("archive-now", "nowhere.example", db=two_sites)
    assert unknown.code == 1 and "unknown site" in unknown.err
