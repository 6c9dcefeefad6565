"""The web view in a real browser: Debian's Chromium driven by Playwright, against ``policytrack serve``.

Nothing is downloaded: Playwright is pointed at /usr/bin/chromium (``apt-get install chromium``); the tests
skip, saying so, where it is absent. The server is the real CLI command on a free loopback port, over the
crawled sample archive plus a hostile site (tests/webdb.py). Screenshots of every page go to
tests/artifacts/web/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.webdb import HOSTILE, web_database

CHROMIUM = Path(os.environ.get("POLICYTRACK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Installed before any page script: records every way an archived script could announce itself.
TRAPS = """
window.__ran = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (...args) => { window.__ran.push(name + ":" + args.join(",")); };
}
document.addEventListener("securitypolicyviolation", e => window.__ran.push("csp:" + e.violatedDirective));
"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium not found at {CHROMIUM}: "
                                "install Debian's package (apt-get install chromium) to run the browser tests")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, local_archive, sample_archive):
    """``policytrack serve`` on a free port; its base URL."""
    db_url = web_database(tmp_path_factory, local_archive, sample_archive)
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "policytrack.cli", "serve", "--port", str(port), "--db", db_url],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/openapi.json", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"policytrack serve did not start: {process.stdout.read() if process.stdout else ''}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(TRAPS)
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.dialogs = dialogs  # type: ignore[attr-defined]
    yield tab
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_script_ran(page) -> None:
    assert page.dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__ran") == []
    assert page.title() != "pwned"


def test_every_page_renders(server, page):
    page.goto(server + "/")
    assert page.locator("table.sites tbody tr").count() >= 3
    shot(page, "01-sites")
    page.get_by_role("link", name="acme.example").click()
    page.wait_for_url(re.compile(r"/sites/acme\.example$"))
    assert page.locator("#timeline .marker").count() == 6
    assert page.locator("table.versions tbody tr").count() == 6
    shot(page, "02-timeline")
    page.locator("table.versions tbody tr").last.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/versions/\d+$"))
    assert page.locator("article.document h1, article.document h2").count() >= 1
    assert page.locator("article.document a[href^='https://']").count() >= 0
    shot(page, "03-version")
    page.goto(server + "/sites/acme.example/version?at=2010-01-01")
    assert "in force on 2010-01-01" in page.locator(".notice").inner_text()
    shot(page, "04-version-at")
    page.goto(server + "/sites/acme.example/diff")
    assert page.locator("table.diff.side tr.replace, table.diff.side tr.insert, table.diff.side tr.delete").count() >= 1
    shot(page, "05-diff-side")
    page.get_by_role("link", name="Inline").click()
    assert page.locator(".diff.inline ins, .diff.inline del, .diff.inline .insert, .diff.inline .delete").count() >= 1
    shot(page, "06-diff-inline")
    page.goto(server + "/changes")
    assert page.locator("table.changes tbody tr").count() >= 3
    shot(page, "07-changes")
    no_script_ran(page)


def test_clicking_a_change_in_the_timeline_opens_its_diff(server, page):
    page.goto(server + "/sites/acme.example")
    change = page.locator("#timeline a.marker.change").nth(2)
    label = change.get_attribute("data-label")
    change.hover()
    assert page.locator("#chart-caption").inner_text() == label  # the summary shows on hover
    shot(page, "08-timeline-hover")
    change.click()
    page.wait_for_url(re.compile(r"/sites/acme\.example/diff\?from=\d+&to=\d+"))
    summary = page.locator("#summary").inner_text()
    assert re.search(r"\+\d+ / −\d+ lines, \d+% similar", summary), summary
    assert label.split(":")[1].strip().split(" lines")[0].replace("−", "-") in summary.replace(" / −", "/-")
    no_script_ran(page)


# Every label of the timeline chart, measured in the page: inside the SVG, y labels left of the plot frame,
# x labels below it, no two labels overlapping.
LABEL_BOXES = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const svg = document.getElementById("timeline");
  return {svg: box(svg), frame: box(svg.querySelector("rect.frame")),
          y: [...svg.querySelectorAll("text.tick.y")].map(box), x: [...svg.querySelectorAll("text.tick.x")].map(box)};
}"""


def test_timeline_labels_stay_inside_the_chart_frame(server, browser):
    """At a wide and a narrow window (the chart scales with it), on a short and a long history."""
    for width in (1280, 420):
        context = browser.new_context(viewport={"width": width, "height": 900})
        tab = context.new_page()
        for site in ("acme.example", "birdwatch.example", HOSTILE):
            tab.goto(server + f"/sites/{site}")
            boxes = tab.evaluate(LABEL_BOXES)
            (s_left, s_top, s_right, s_bottom), (f_left, f_top, f_right, f_bottom) = boxes["svg"], boxes["frame"]
            assert boxes["y"] and boxes["x"], site
            for left, top, right, bottom in boxes["y"] + boxes["x"]:
                assert s_left <= left and right <= s_right and s_top <= top and bottom <= s_bottom, (site, width, boxes)
            assert all(right <= f_left for _, _, right, _ in boxes["y"]), (site, width, boxes)
            assert all(top >= f_bottom for _, top, _, _ in boxes["x"]), (site, width, boxes)
            for a, b in zip(sorted(boxes["x"]), sorted(boxes["x"])[1:]):
                assert a[2] <= b[0], (site, width, "x labels overlap", boxes["x"])
            shot(tab, f"13-timeline-{site.split('.')[0]}-{width}")
        context.close()


def test_a_narrow_window_scrolls_wide_tables_not_the_page(server, browser):
    """At 420 px (a phone) a table wider than the window (a timeline's versions: six columns of dates and
    counts) scrolls inside its own box; the page itself never gets wider than the window."""
    context = browser.new_context(viewport={"width": 420, "height": 900})
    tab = context.new_page()
    for number, path in enumerate(("/", "/sites/acme.example", "/sites/birdwatch.example", "/changes", "/search?q=cookies")):
        tab.goto(server + path)
        shot(tab, f"14-narrow-{number}")
        widths = tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (path, widths)
        for table in tab.locator("table.list").all():
            box = table.evaluate("t => { const r = t.parentElement.getBoundingClientRect(); return r.right; }")
            assert box <= widths[1], (path, box)
    context.close()


def test_search_from_the_header(server, page):
    page.goto(server + "/")
    page.get_by_label("Search policies for a phrase").fill("cookies")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=cookies"))
    rows = page.locator("table.hits tbody tr")
    assert rows.count() >= 1
    assert "acme.example" in page.locator("table.hits").inner_text()
    shot(page, "09-search")
    page.goto(server + "/search?q=nosuchphrasewhatsoever")
    assert "No version contains" in page.locator("#no-hits").inner_text()


def test_keyboard_navigation(server, page):
    page.goto(server + "/sites/acme.example")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    # tab to the first change marker in the chart, then open it with Enter
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('change')"):
            break
    else:
        pytest.fail("no timeline marker took the keyboard focus")
    caption = page.locator("#chart-caption").inner_text()
    assert caption == page.evaluate("document.activeElement.getAttribute('data-label')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/diff\?"))
    # arrow keys page through versions
    page.goto(server + "/sites/acme.example/version?at=2010-01-01")
    here = page.url
    page.keyboard.press("ArrowRight")
    page.wait_for_url(lambda url: url != here)
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(r"/versions/\d+$"))
    assert page.locator(".crumbs").inner_text().endswith(page.url.rsplit("/", 1)[1])


def test_pages_work_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    tab.goto(server + "/sites/birdwatch.example")
    tab.locator("#timeline a.marker.change").first.click()
    tab.wait_for_url(re.compile(r"/diff\?"))
    assert tab.locator("#summary").is_visible()
    tab.goto(server + "/?q=bird")
    assert tab.locator("table.sites tbody tr").count() == 1
    context.close()


def test_no_script_from_an_archived_page_runs(server, page):
    page.goto(server + f"/sites/{HOSTILE}")
    shot(page, "10-hostile-timeline")
    no_script_ran(page)
    page.locator("table.versions tbody tr").last.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/versions/\d+$"))
    text = page.locator("article.document").inner_text()
    assert "</title><script>alert(1)</script>" in text  # the title, shown as the text it is
    assert "<script>" in text and "onerror" in text  # raw markup, shown as text
    # no link with a script scheme survives; the fair link does
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if re.match(r"\s*(javascript|data|vbscript):", h, re.I)], hrefs
    assert "https://example.org/rights" in hrefs
    shot(page, "11-hostile-version")
    no_script_ran(page)
    for view in ("side", "inline"):
        page.goto(server + f"/sites/{HOSTILE}/diff?view={view}")
        assert "alert('diff')" in page.locator("main").inner_text()
        shot(page, f"12-hostile-diff-{view}")
        no_script_ran(page)
    # an inline script injected into the page anyway is refused by the Content-Security-Policy
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__pwned = 1';
                             document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__ran") == ["csp:script-src-elem"]


def test_serve_answers_only_to_loopback_host_names(server):
    """Bound to 127.0.0.1 by default, and a page elsewhere cannot reach it through a rebound DNS name."""
    assert urllib.request.urlopen(server + "/api/sites", timeout=10).status == 200
    foreign = urllib.request.Request(server + "/api/sites", headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(foreign, timeout=10)
    assert refused.value.code == 400
