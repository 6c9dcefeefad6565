"""Line and word diffs between two version documents, as text and as data.

A line diff says which paragraphs changed (markdown paragraphs are single lines); inside a changed
paragraph a privacy-policy edit is often one clause ("and our partners"), which only a word diff shows.
The word diff works like ``git diff --word-diff``: lines are matched first, then the words of each
replaced run of lines, so unchanged text is never re-aligned across the whole document.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# A word with the whitespace after it: words are aligned on their text alone, so a run of new words
# replacing old ones reads as one [-old run-]{+new run+}, not as words interleaved around shared spaces.
_TOKEN = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class WordOp:
    op: str  # "equal" | "delete" | "insert"
    text: str


@dataclass
class WordHunk:
    """A run of changed lines: 1-based first line on each side, and the words kept/removed/added."""

    from_line: int
    to_line: int
    ops: list[WordOp] = field(default_factory=list)


def unified_diff(old: str, new: str, old_label: str, new_label: str, context: int = 3,
                 render: tuple[Callable[[str], str], Callable[[str], str]] | None = None) -> str:
    """A unified line diff; every line ends with a newline.

    The sides are compared line by line exactly as :func:`line_counts` counts them. ``render`` (old side,
    new side) turns each shown line back from comparable form: removed lines by the first, added and
    context lines by the second.
    """
    show_old, show_new = render or (_same, _same)
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label,
                                      n=context, lineterm=""))
    out = lines[:2]  # the two file headers
    for line in lines[2:]:
        if line.startswith("@@"):
            out.append(line)
        else:
            out.append(show_old(line) if line.startswith("-") else show_new(line))
    return "".join(line + "\n" for line in out)


def line_counts(old: str, new: str) -> tuple[int, int]:
    """(lines added, lines removed): the counts stored on a change and shown by ``history``."""
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old.splitlines(), new.splitlines()).get_opcodes():
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


def _same(text: str) -> str:
    return text


def _merge(ops: list[WordOp], op: str, text: str) -> None:
    if ops and ops[-1].op == op:
        ops[-1] = WordOp(op, ops[-1].text + text)
    else:
        ops.append(WordOp(op, text))


def _word_ops(old: str, new: str) -> list[WordOp]:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    ops: list[WordOp] = []
    keys_a, keys_b = [t.strip() for t in a], [t.strip() for t in b]
    # autojunk off: in a policy, "the" and "your" are frequent but still words to align on.
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes():
        if tag == "equal":
            _merge(ops, "equal", "".join(a[i1:i2]))
            continue
        if i2 > i1:
            _merge(ops, "delete", "".join(a[i1:i2]))
        if j2 > j1:
            _merge(ops, "insert", "".join(b[j1:j2]))
    return ops


def word_diff(old: str, new: str) -> list[WordHunk]:
    """The changed runs of lines, each as word operations; an empty list when the texts are equal."""
    a, b = old.splitlines(), new.splitlines()
    hunks: list[WordHunk] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        hunk = WordHunk(from_line=i1 + 1, to_line=j1 + 1)
        if tag == "replace":
            hunk.ops = _word_ops("\n".join(a[i1:i2]), "\n".join(b[j1:j2]))
        elif tag == "delete":
            hunk.ops = [WordOp("delete", "\n".join(a[i1:i2]))]
        else:
            hunk.ops = [WordOp("insert", "\n".join(b[j1:j2]))]
        hunks.append(hunk)
    return hunks


def word_counts(hunks: list[WordHunk]) -> tuple[int, int]:
    """(words added, words removed) over the hunks."""
    added = sum(len(op.text.split()) for h in hunks for op in h.ops if op.op == "insert")
    removed = sum(len(op.text.split()) for h in hunks for op in h.ops if op.op == "delete")
    return added, removed


def render_word_diff(hunks: list[WordHunk]) -> str:
    """Hunks as text in ``git diff --word-diff=plain`` notation: ``[-removed-]{+added+}``."""
    out = []
    for hunk in hunks:
        out.append(f"@@ -{hunk.from_line} +{hunk.to_line} @@\n")
        body = "".join(
            op.text if op.op == "equal" else f"[-{op.text}-]" if op.op == "delete" else f"{{+{op.text}+}}"
            for op in hunk.ops
        )
        out.append(body + "\n")
    return "".join(out)
