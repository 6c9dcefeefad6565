"""The bundled sample archive crawled end to end gives exactly the history sample/README.md documents."""

from __future__ import annotations

import pytest

from policytrack.localarchive import sample_sites
from tests.clihelp import crawl, run_cli

EXPECTED = {
    "acme.example": [
        ("20050314093000", "20070622181500"), ("20090917120000", "20100105083000"),
        ("20140402160000", "20140402160000"), ("20180525065958", "20180525065958"),
        ("20200101090000", "20200101090000"), ("20230710120000", "20230710120000"),
    ],
    "birdwatch.example": [
        ("20060411153000", "20060411153000"), ("20091102201500", "20130306114500"),
        ("20180523080000", "20180523080000"), ("20220905170000", "20220905170000"),
    ],
}


@pytest.mark.parametrize("mode", [(), ("--exhaustive",)], ids=["bisection", "exhaustive"])
def test_sample_history_matches_its_documentation(sample_archive, backend_db_url, mode):
    db_url = backend_db_url
    for hostname, url in sample_sites():
        assert run_cli("add", hostname, url, db=db_url).code == 0
    result = crawl(db_url, sample_archive, *mode)
    assert result.code == 0, result.err
    for site, brackets in EXPECTED.items():
        versions = run_cli("history", site, "--json", db=db_url).json()
        assert [(v["first_seen"], v["last_seen"]) for v in versions] == brackets, site
    photoshare = run_cli("history", "photoshare.example.org", "--json", db=db_url).json()
    assert len(photoshare) == 6 and all(v["first_seen"] == v["last_seen"] for v in photoshare)
    run = run_cli("runs", "--json", db=db_url).json()[0]
    assert run["counts"]["versions_new"] == 16 and run["counts"]["changes_new"] == 13
    assert run["counts"]["captures_skipped"] == 1
    # the windows-1252 pages decode like a browser: the policy shows its euro sign and accents
    fee = run_cli("show", "birdwatch.example", "--at", "2006-12-31", db=db_url).out
    assert "€12" in fee
