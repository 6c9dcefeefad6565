"""What a daily refresh costs at the archive -- the figure bench/ia_budget.py builds its model on: a page
with no new capture costs exactly one CDX request, listing from the page's watermark, and no capture fetch
(counted by the proxy in front of pywb); a page with one new capture costs one CDX request and one fetch
when its text did not change. Workers refresh the same way."""

from __future__ import annotations

from policytrack.localarchive import WarcCapture
from tests.clihelp import crawl, run_cli
from tests.faultproxy import FaultProxy
from tests.test_crawl import page
from tests.test_distributed import (  # noqa: F401 (fixtures)
    EXPECTED, many_pages, redis_url, runs_once_closed, wait_until_drained, workers,
)

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
        assert proxy.cdx_queries()[0]["from"] == "20151201000000" and proxy.cdx_rows() == [1]
    [refresh, _] = run_cli("runs", "--json", db=db_url).json()
    assert refresh["status"] == "succeeded" and refresh["counts"]["captures_fetched"] == 0


def test_a_worker_crawl_records_the_watermark_and_its_refresh_lists_from_it(redis_url, postgres_url, archive_factory,
                                                                            workers, local_archive):
    """Workers run the same spider and pipeline: a page crawled by a worker gets its watermark, and the
    next time it is queued the worker lists only from there."""
    with FaultProxy(local_archive.url) as proxy:
        sites, archive = many_pages(archive_factory, postgres_url, 2, proxy.url)
        assert run_cli("crawl", "--distributed", "--redis", redis_url, db=postgres_url).code == 0
        workers(1, redis_url, postgres_url, archive)
        assert wait_until_drained(redis_url)["failed"] == []
        assert [q.get("from") for q in proxy.cdx_queries()] == [None, None]
        proxy.hits.clear()
        assert run_cli("crawl", "--distributed", "--redis", redis_url, db=postgres_url).code == 0
        assert wait_until_drained(redis_url)["failed"] == []
        assert [q.get("from") for q in proxy.cdx_queries()] == ["20151201000000"] * 2
        assert proxy.cdx_rows() == [1, 1] and proxy.count("capture") == 0
    runs = runs_once_closed(postgres_url)  # the queue drains a moment before the worker closes its run
    # A worker's run takes several pages: each page was completed once per queueing, in succeeded runs.
    assert runs and all((r["trigger"], r["status"]) == ("worker", "succeeded") for r in runs), runs
    assert sum(r["counts"]["pages_complete"] for r in runs) == 4, runs
    for site in sites:
        versions = run_cli("history", site, "--json", db=postgres_url).json()
        assert [(v["first_seen"], v["last_seen"]) for v in versions] == EXPECTED, site
