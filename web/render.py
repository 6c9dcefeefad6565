"""What the pages show, computed from storage results: safe HTML from markdown, diff rows, the timeline chart.

Archived pages carry whatever their authors wrote. Markdown is rendered by markdown-it-py with raw HTML
off (a ``<script>`` in a policy is shown as text), links limited to http(s), mailto and in-page anchors
(``javascript:``, ``data:``, ``vbscript:`` and the like render as plain text), images shown as links (an
archived page's images would be fetched from the open web: a tracker in a privacy-policy viewer), and every
link marked ``rel="nofollow noopener noreferrer"``. Everything else goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from storage.diffs import WordOp, word_diff
from storage.summary import ChangeSummary, summarize

SAFE_SCHEMES = ("http", "https", "mailto")
CONTEXT_LINES = 3
LABEL_SECTIONS = 3  # sections named in a timeline caption; the diff page lists them all


def _safe_link(url: str) -> bool:
    """Only web and mail links, and in-page anchors; any other scheme (javascript:, data:, ...) is refused.

    Control characters and whitespace are stripped first, as browsers do before reading a scheme
    (``java\\tscript:`` is ``javascript:`` to a browser)."""
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f").strip()
    if not cleaned or cleaned.startswith("#"):
        return bool(cleaned)
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES


class _PolicyMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # noqa: N802 - markdown-it's name
        return _safe_link(url)


def _markdown() -> MarkdownIt:
    md = _PolicyMarkdown("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")  # shown as the link it is, never fetched

    def link_open(renderer: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MD = _markdown()


def markdown_html(text: str) -> str:
    """The markdown of a version as HTML, safe to insert into a page (see the module docstring)."""
    return _MD.render(text)


# --- diffs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff. ``kind``: equal, replace, delete, insert, or skip (unchanged lines
    left out: ``skipped`` of them). Each side is a list of word operations (one ``equal`` op for a whole
    unchanged line)."""

    kind: str
    left_no: int | None = None
    left: list[WordOp] = field(default_factory=list)
    right_no: int | None = None
    right: list[WordOp] = field(default_factory=list)
    skipped: int = 0
    merged: list[WordOp] = field(default_factory=list)  # a replaced line's ops in reading order (inline view)


def _replaced(left_no: int, old: str, right_no: int, new: str, by_word: bool) -> DiffRow:
    """A replaced line: word by word, or the whole line removed and added."""
    if not by_word:
        ops = [WordOp("delete", old), WordOp("insert", new)]
    else:
        ops = [op for hunk in word_diff(old, new) for op in hunk.ops]
    return DiffRow("replace", left_no, [op for op in ops if op.op != "insert"], right_no,
                   [op for op in ops if op.op != "delete"], merged=ops)


def diff_rows(old: list[str], new: list[str], *, by_word: bool = True, context: int | None = CONTEXT_LINES) -> list[DiffRow]:
    """Side-by-side rows of two documents' lines; unchanged runs longer than the context are folded."""
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            span = list(range(i2 - i1))
            if context is not None and len(span) > 2 * context + 1:
                keep_head = [] if not rows else span[:context]
                keep_tail = span[-context:] if i2 < len(old) or j2 < len(new) else []
                shown = keep_head + ["skip"] + keep_tail
            else:
                shown = span
            for k in shown:
                if k == "skip":
                    rows.append(DiffRow("skip", skipped=len(span) - len(keep_head) - len(keep_tail)))
                else:
                    rows.append(DiffRow("equal", i1 + k + 1, [WordOp("equal", old[i1 + k])],
                                        j1 + k + 1, [WordOp("equal", new[j1 + k])]))
            continue
        pairs = max(i2 - i1, j2 - j1)
        for k in range(pairs):
            i, j = i1 + k, j1 + k
            if i < i2 and j < j2:
                rows.append(_replaced(i + 1, old[i], j + 1, new[j], by_word))
            elif i < i2:
                rows.append(DiffRow("delete", i + 1, [WordOp("delete", old[i])]))
            else:
                rows.append(DiffRow("insert", None, [], j + 1, [WordOp("insert", new[j])]))
    if rows and rows[-1].kind == "skip":
        rows.pop()
    return rows


@dataclass(frozen=True)
class Comparison:
    summary: ChangeSummary
    rows: list[DiffRow]


def compare(old_text: str, new_text: str, *, by_word: bool = True,
            render: tuple[Callable[[str], str], Callable[[str], str]] | None = None) -> Comparison:
    """Compare two versions' comparable texts (what ``history`` counts and ``diff`` compares, so a link that
    differs only in its snapshot's timestamp is no change), then show each side's words as its own
    version's document does: ``render`` is (old side, new side), as ``storage.queries.comparable_text``
    gives them."""
    old, new = old_text.splitlines(), new_text.splitlines()
    rows = diff_rows(old, new, by_word=by_word)
    if render is not None:
        rows = [_rendered(row, *render) for row in rows]
    return Comparison(summarize(old, new), rows)


def _rendered(row: DiffRow, show_old: Callable[[str], str], show_new: Callable[[str], str]) -> DiffRow:
    def side(ops: list[WordOp], show: Callable[[str], str]) -> list[WordOp]:
        return [WordOp(op.op, show(op.text)) for op in ops]

    merged = [WordOp(op.op, (show_old if op.op == "delete" else show_new)(op.text)) for op in row.merged]
    return replace(row, left=side(row.left, show_old), right=side(row.right, show_new), merged=merged)


# --- the timeline chart -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    version_id: int
    change_id: int | None
    previous_id: int | None
    technical: bool
    live: bool
    label: str  # the tooltip: date, words, the change's size


@dataclass(frozen=True)
class MergedMark:
    """A change the current normalizer no longer sees: a marker at the moment it was seen, on the line of
    the version that now holds both texts (linked when there is one)."""

    x: float
    y: float
    version_id: int | None
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[ChartPoint]
    path: str  # the step line of the document's length over time
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    merged: list[MergedMark] = field(default_factory=list)
    # The plot area inside the margins that hold the axis labels: (left, top, right, bottom).
    frame: tuple[int, int, int, int] = (0, 0, 0, 0)


def change_label(v: Any, summary: ChangeSummary | None) -> str:
    """What a version's marker says about the change that led to it: its summary as stored with it."""
    if v.change_id is None:
        return "first version"
    delta = f", {v.words_delta:+,} words" if v.words_delta is not None else ""
    similar = f", {summary.similarity:.0%} similar" if summary is not None else ""
    shown = summary.sections[:LABEL_SECTIONS] if summary is not None else []
    more = len(summary.sections) - len(shown) if summary is not None else 0
    sections = f"; sections: {', '.join(shown)}" + (f" (+{more} more)" if more else "") if shown else ""
    return f"+{v.lines_added}/-{v.lines_removed} lines{similar}{delta}{sections}" + (" (technical)" if v.technical else "")


def merged_label(boundary: Any) -> str:
    """A merged change's marker text (``storage.renormalize.MergedBoundary``), as ``history`` words it."""
    now = f"both are version {boundary.version_id} now" if boundary.version_id is not None else "merged"
    return (f"{_day(boundary.after_timestamp)}: technical: normalizer {boundary.normalizer_version} no longer "
            f"distinguishes this text from the one before it (last seen {_day(boundary.before_timestamp)}); {now}")


def _day(ts: str) -> str:
    return f"{ts[:4]}-{ts[4:6]}-{ts[6:8]}"


def _seconds(ts: str) -> float:
    from datetime import datetime, timezone

    try:
        return datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return 0.0


def timeline_chart(versions: list[Any], live: set[int], summaries: dict[int, ChangeSummary] | None = None,
                   merged: Sequence[Any] = (), *, width: int = 900, height: int = 260) -> Chart | None:
    """Words per version over time as a step line, one marker per version (``versions``: VersionInfo, in
    time order), one per merged change (``merged``: MergedBoundary). Markers carry what the page links and
    shows on hover: a change's stored summary (``summaries`` by change id). None without versions."""
    if not versions:
        return None
    summaries = summaries or {}
    pad_left, pad_right, pad_top, pad_bottom = 56, 16, 12, 28
    times = [_seconds(v.first_seen) for v in versions]
    end = max(_seconds(v.last_seen) for v in versions)
    t0, t1 = min(times), max(end, max(times))
    span = (t1 - t0) or 1.0
    top = max(v.words for v in versions) or 1
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom

    def x(t: float) -> float:
        return round(pad_left + (t - t0) / span * plot_w, 1)

    def y(words: int) -> float:
        return round(pad_top + plot_h - words / top * plot_h, 1)

    points = []
    previous_by_page: dict[str, int] = {}
    for v, t in zip(versions, times):
        px, py = x(t), y(v.words)
        prev = previous_by_page.get(v.page_url)
        previous_by_page[v.page_url] = v.id
        what = change_label(v, summaries.get(v.change_id) if v.change_id is not None else None)
        label = f"{_day(v.first_seen)}: {what}; {v.words:,} words" + ("; first seen live" if v.id in live else "")
        points.append(ChartPoint(px, py, v.id, v.change_id, prev if v.change_id is not None else None,
                                 v.technical, v.id in live, label))
    last_y = y(versions[-1].words)
    path_d = f"M{points[0].x} {points[0].y}" + "".join(f" H{p.x} V{p.y}" for p in points[1:]) + f" H{x(t1)} V{last_y}"
    y_ticks = [(y(int(top * f)), f"{int(top * f):,}") for f in (0, 0.5, 1)]
    first_year, last_year = int(versions[0].first_seen[:4]), int(max(v.last_seen for v in versions)[:4])
    step = max(1, (last_year - first_year) // 8 or 1)
    x_ticks = [(x(_seconds(f"{year}0101000000")), str(year)) for year in range(first_year + 1, last_year + 1, step)
               if t0 <= _seconds(f"{year}0101000000") <= t1]
    marks = [MergedMark(x(min(max(_seconds(b.after_timestamp), t0), t1)), y(b.words or 0), b.version_id, merged_label(b))
             for b in merged]
    return Chart(width, height, points, path_d, y_ticks, x_ticks, marks,
                 (pad_left, pad_top, width - pad_right, height - pad_bottom))
