"""What a daily refresh costs at the archive -- the figure bench/ia_budget.py builds its model on: a page
with no new capture costs exactly one CDX request and no capture fetch (counted by the proxy in front of
pywb); a page with one new capture costs one CDX request and one fetch when its text did not change."""

from __future__ import annotations

from policytrack.localarchive import WarcCapture
from tests.clihelp import crawl, run_cli
from tests.faultproxy import FaultProxy
from tests.test_crawl import page

SITE = "acme.example"
URL = f"https://{SITE}/privacy"


def captures(months: range) -> list[WarcCapture]:
    return [WarcCapture(URL, f"2015{m:02d}01000000", page("Old text.") if m < 6 else page("New text."))
            for m in months]


def test_a_refresh_with_nothing_new_costs_one_cdx_request_and_no_fetch(archive_factory, local_archive, db_url):
    archive = archive_factory(captures(range(1, 13)))
    with FaultProxy(local_archive.url) as proxy:
        proxied = f"pywb:{proxy.url}/{archive.rsplit('/', 1)[1]}"
        assert run_cli("add", SITE, URL, db=db_url).code == 0
        assert crawl(db_url, proxied).code == 0
        assert proxy.count("capture") >= 2  # the backfill fetched (ends and bisection middles)
        proxy.hits.clear()
        again = crawl(db_url, proxied)
        assert again.code == 0, again.err
        assert (proxy.count("cdx"), proxy.count("capture")) == (1, 0), [h.path for h in proxy.hits]
    [refresh, _] = run_cli("runs", "--json", db=db_url).json()
    assert refresh["status"] == "succeeded" and refresh["counts"]["captures_fetched"] == 0
