"""What the web view makes of archived text and histories, without a server (web/render.py)."""

from __future__ import annotations

from storage.queries import VersionInfo
from web.render import diff_rows, markdown_html, timeline_chart


def test_markdown_keeps_structure_and_drops_anything_that_could_run():
    html = markdown_html(
        "## Your rights\n\n- access\n- erasure\n\n[rights](https://example.org/rights) [mail](mailto:dpo@example.org) "
        "[top](#top)\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[a](javascript:alert(3)) [b](JAVASCRIPT:alert(4)) [c](java\tscript:alert(5)) [d](data:text/html,x) "
        "[e](vbscript:x) [f]( javascript:alert(6))\n\n![pixel](https://tracker.example/p.gif)"
    )
    assert "<h2>Your rights</h2>" in html and "<li>access</li>" in html
    assert '<a href="https://example.org/rights" rel="nofollow noopener noreferrer">rights</a>' in html
    assert 'href="mailto:dpo@example.org"' in html and 'href="#top"' in html
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert hrefs == ["https://example.org/rights", "mailto:dpo@example.org", "#top",
                     "https://tracker.example/p.gif"]  # the image only as a link, never fetched


def _version(vid, first_seen, words, change=True, technical=False):
    return VersionInfo(id=vid, site="a.example", page_url="https://a.example/p", first_seen=first_seen,
                       last_seen=first_seen, sha256="0" * 64, title="t", chars=words * 6, words=words,
                       extraction="readability", capture_count=1, lines_added=2 if change else 0,
                       lines_removed=1 if change else 0, change_id=vid if change else None, technical=technical,
                       words_delta=10 if change else None)


def test_timeline_marks_changes_technical_and_live_versions():
    versions = [_version(1, "20100101000000", 100, change=False), _version(2, "20150101000000", 110),
                _version(3, "20200101000000", 120, technical=True)]
    chart = timeline_chart(versions, live={3})
    first, change, technical = chart.points
    assert first.change_id is None and first.previous_id is None
    assert (change.previous_id, change.version_id, change.technical, change.live) == (1, 2, False, False)
    assert technical.technical and technical.live and "(technical)" in technical.label
    assert "first seen live" in technical.label and change.label.startswith("2015-01-01: +2/-1 lines, +10 words")
    assert first.x < change.x < technical.x and first.y > change.y > technical.y  # more words: higher
    assert timeline_chart([], set()) is None


def test_diff_rows_pair_replaced_lines_word_by_word_and_fold_unchanged_runs():
    old = ["# T", ""] + [f"line {i}" for i in range(20)] + ["we share data with partners"]
    new = ["# T", ""] + [f"line {i}" for i in range(20)] + ["we share data with our partners", "new line"]
    rows = diff_rows(old, new)
    kinds = [r.kind for r in rows]
    assert kinds == ["skip", "equal", "equal", "equal", "replace", "insert"]
    assert rows[0].skipped == 19
    replace = rows[4]
    assert [op.op for op in replace.merged] == ["equal", "insert", "equal"]
    assert "".join(op.text for op in replace.right if op.op == "insert").strip() == "our"
    by_line = diff_rows(old, new, by_word=False)[4]
    assert [op.op for op in by_line.merged] == ["delete", "insert"]


def test_timeline_captions_say_the_stored_summary_briefly():
    from types import SimpleNamespace

    from storage.summary import ChangeSummary
    from web.render import change_label

    version = SimpleNamespace(change_id=7, lines_added=3, lines_removed=1, words_delta=12, technical=False)
    few = ChangeSummary(3, 1, 0.9712, ["Cookies"])
    assert change_label(version, few) == "+3/-1 lines, 97% similar, +12 words; sections: Cookies"
    many = ChangeSummary(3, 1, 0.5, [f"S{k}" for k in range(7)])
    assert change_label(version, many).endswith("; sections: S0, S1, S2 (+4 more)")
    assert change_label(SimpleNamespace(change_id=None), None) == "first version"
