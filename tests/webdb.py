"""The database the web tests browse: the bundled sample archive crawled by the real CLI, plus a hostile site.

The hostile site's pages carry what archived pages really can: a ``<title>`` that closes itself and opens
a script, raw ``<script>``/``onerror`` markup written as text (html2text keeps it as literal markdown),
``javascript:`` and ``data:`` links. Its two versions make a diff too. Built once per test session.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from policytrack.localarchive import LocalArchive, WarcCapture, sample_sites
from tests.clihelp import crawl, run_cli

HOSTILE = "hostile.example"
HOSTILE_URL = "https://hostile.example/privacy"
HOSTILE_TITLE = "</title><script>alert(1)</script>"
PWNED = "window.__pwned = 1; document.title = 'pwned'; alert('pwned')"


def hostile_page(extra: str) -> bytes:
    paragraphs = "".join(
        f"<p>Paragraph {i}: we collect your personal information and share it with partners as described "
        f"in this policy, which explains your rights and our obligations in detail.</p>" for i in range(4)
    )
    return (
        f"<html><head><title>{html.escape(HOSTILE_TITLE)}</title><script>{PWNED}</script></head><body>"
        f"<div id='content'><h1>Privacy Policy</h1>{paragraphs}"
        f"<p>Raw markup as text: &lt;script&gt;{PWNED}&lt;/script&gt; and "
        f"&lt;img src=x onerror=\"{PWNED}\"&gt; and &lt;a href=\"javascript:{PWNED}\"&gt;a raw link&lt;/a&gt;.</p>"
        f"<p>Links: <a href=\"javascript:{PWNED}\">a javascript link</a>, "
        f"<a href=\"JaVaScRiPt:alert(2)\">a mixed-case one</a>, "
        f"<a href=\"data:text/html,&lt;script&gt;alert(3)&lt;/script&gt;\">a data link</a>, "
        f"<a href=\"https://example.org/rights\">a fair link</a>.</p>"
        f"<p>Markdown as text: [click](javascript:alert(4)) and ![img](javascript:alert(5)).</p>"
        f"{extra}</div><img src=x onerror=\"{PWNED}\"></body></html>"
    ).encode()


HOSTILE_CAPTURES = [
    WarcCapture(HOSTILE_URL, "20190101000000", hostile_page("<p>First version.</p>")),
    WarcCapture(HOSTILE_URL, "20200101000000",
                hostile_page("<p>Second version: &lt;script&gt;alert('diff')&lt;/script&gt; added.</p>")),
]

_built: dict[str, str] = {}


def web_database(tmp_path_factory: pytest.TempPathFactory, local_archive: LocalArchive, sample_archive: str) -> str:
    """The URL of the SQLite database described above (crawled once per session)."""
    if "url" not in _built:
        path = Path(tmp_path_factory.mktemp("webdb")) / "web.db"
        url = f"sqlite:///{path}"
        for hostname, page_url in sample_sites():
            assert run_cli("add", hostname, page_url, db=url).code == 0
        result = crawl(url, sample_archive)
        assert result.code == 0, result.err
        hostile_archive = local_archive.add_collection("web-hostile", HOSTILE_CAPTURES)
        assert run_cli("add", HOSTILE, HOSTILE_URL, db=url).code == 0
        result = crawl(url, hostile_archive, HOSTILE)
        assert result.code == 0, result.err
        _built["url"] = url
    return _built["url"]
