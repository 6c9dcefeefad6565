"""The summary of a change between two versions: lines added/removed, similarity, sections touched.

Pure functions over the two documents' lines (no database), so announcements, the Atom feed and an API
all describe a change the same way. Documents are compared as ``# title`` + blank line + body, the
form :mod:`storage.versions` diffs, and with the same ``difflib`` matcher: the line counts here equal a
stored ``Change``'s ``lines_added``/``lines_removed``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

# An ATX heading as html2text writes them: 1-6 '#', a space, the text (optionally closed by '#'s).
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")


@dataclass(frozen=True)
class ChangeSummary:
    lines_added: int
    lines_removed: int
    similarity: float  # difflib's ratio over lines: 1.0 identical, 0.0 nothing in common
    sections: list[str] = field(default_factory=list)  # headings of the sections with changed lines, in order

    def describe(self) -> str:
        """One line for humans: '+12/-3 lines, 94% similar; sections: Cookies, Your rights'."""
        text = f"+{self.lines_added}/-{self.lines_removed} lines, {self.similarity:.0%} similar"
        if self.sections:
            text += "; sections: " + ", ".join(self.sections)
        return text

    def as_dict(self) -> dict[str, object]:
        return {"lines_added": self.lines_added, "lines_removed": self.lines_removed,
                "similarity": self.similarity, "sections": list(self.sections)}


def document_lines(title: str, body: str) -> list[str]:
    """The lines a version is compared by (as in storage.versions)."""
    return f"# {title}\n\n{body}".splitlines()


def heading_text(line: str) -> str | None:
    """The text of a markdown heading line (emphasis markers around it removed), else None."""
    match = _HEADING.match(line)
    if match is None:
        return None
    text = match.group(2).strip()
    for marker in ("**", "__", "*", "_"):
        if len(text) > 2 * len(marker) and text.startswith(marker) and text.endswith(marker):
            text = text[len(marker):-len(marker)].strip()
    return text or None


def _sections(lines: list[str]) -> list[str | None]:
    """For each line, the heading of the section it belongs to (a heading line belongs to itself)."""
    current: str | None = None
    result: list[str | None] = []
    for line in lines:
        current = heading_text(line) or current
        result.append(current)
    return result


def summarize(before: list[str], after: list[str]) -> ChangeSummary:
    """Summarize the change from ``before`` to ``after`` (lists of lines)."""
    matcher = difflib.SequenceMatcher(None, before, after)
    before_sections, after_sections = _sections(before), _sections(after)
    added = removed = 0
    touched: dict[str, None] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed += i2 - i1
        added += j2 - j1
        for i in range(i1, i2):
            if before[i].strip() and before_sections[i]:
                touched.setdefault(before_sections[i] or "", None)
        for j in range(j1, j2):
            if after[j].strip() and after_sections[j]:
                touched.setdefault(after_sections[j] or "", None)
    return ChangeSummary(lines_added=added, lines_removed=removed, similarity=round(matcher.ratio(), 4),
                         sections=list(touched))
