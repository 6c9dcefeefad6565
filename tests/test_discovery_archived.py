"""Discovery on real pages replayed by a real archive: a sample of the labelled pages in ../shared/realpages
is written to a WARC, served by pywb on loopback, fetched in replay mode (pywb rewrites every link into an
archive URL and injects its scripts), and discovery must choose the same link as on the page itself.
Skipped, with the reason, when the shared pages are absent."""

from __future__ import annotations

import hashlib
import re
import urllib.request
from pathlib import Path

import pytest

from crawler.discovery import discover, link_key, original_url
from crawler.discovery.evaluation import page_urls, read_labels
from policytrack.localarchive import WarcCapture

REPO = Path(__file__).resolve().parent.parent
REALPAGES = REPO.parent / "shared" / "realpages"
LABELS = REPO / "tests" / "data" / "privacy_links.tsv"
TIMESTAMP = "20200101000000"
SAMPLE_SIZE = 24


def _sample() -> list[tuple[dict[str, str], str]]:
    """Labelled pages with a plain live URL, chosen by a hash of their name (policy and none alike)."""
    urls = page_urls(REALPAGES)
    usable = [
        (row, urls[row["file"]]) for row in read_labels(LABELS)
        if row["label"] != "ambiguous" and re.fullmatch(r"https?://[^\s]+", urls.get(row["file"], ""))
        and "web.archive.org" not in urls[row["file"]]
    ]
    usable.sort(key=lambda item: hashlib.sha256(item[0]["file"].encode()).hexdigest())
    return usable[:SAMPLE_SIZE]


@pytest.fixture(scope="module")
def replayed(local_archive):
    if not (REALPAGES / "index.tsv").is_file():
        pytest.skip(f"real pages absent: {REALPAGES} (shared test data, not part of the repository)")
    sample = _sample()
    captures = [
        WarcCapture(url, TIMESTAMP, (REALPAGES / "pages" / row["file"]).read_bytes(),
                    headers=(("Content-Type", "text/html"),))
        for row, url in sample
    ]
    base = local_archive.add_collection("discovery-realpages", captures).removeprefix("pywb:")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    pages = []
    for row, url in sample:
        replay_url = f"{base}/{TIMESTAMP}mp_/{url}"
        with opener.open(replay_url, timeout=30) as response:
            pages.append((row, url, replay_url, response.read(), response.headers.get("Content-Type")))
    return pages


def test_replayed_pages_are_rewritten_by_the_archive(replayed):
    rewritten = [body for _, _, _, body, _ in replayed if f"/{TIMESTAMP}".encode() in body]
    assert len(rewritten) >= len(replayed) - 2


def test_discovery_chooses_the_same_link_on_the_archived_page(replayed):
    assert sum(row["label"] == "policy" for row, *_ in replayed) >= 10
    for row, url, replay_url, body, content_type in replayed:
        live = discover((REALPAGES / "pages" / row["file"]).read_bytes(), url)
        archived = discover(body, replay_url, content_type)
        assert archived.site == live.site, row["file"]
        assert (archived.url and link_key(original_url(archived.url))) == (live.url and link_key(live.url)), (
            row["file"], archived.url, live.url)
        if archived.url:
            assert archived.url.startswith(replay_url.split(f"/{TIMESTAMP}")[0]), archived.url
            assert archived.cross_site == live.cross_site, row["file"]
