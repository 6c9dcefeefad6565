"""Length and readability of every version: words, sentences, syllables, Flesch–Kincaid grade, characters.

Longitudinal studies of privacy policies report that they grew longer and harder to read over time; this
module gives those two measures per version so the claim can be checked per site.

Why our own formula instead of a library (textstat): the numbers end up in papers and must not move
when a dependency changes its syllable counter (textstat has switched between methods across releases
and keeps global language state); the formula is three lines, and the heuristic below is documented and
frozen. The grade is computed on the *prose* of the markdown (link targets, URLs, markup dropped), so
``words`` here is the prose word count, not the whitespace token count history shows.

Flesch–Kincaid grade = 0.39 × words/sentences + 11.8 × syllables/words − 15.59.

Sentences: each run of ``.``, ``!`` or ``?`` followed by a space or the end of a block ends one; a block
(paragraph, heading, list item, table row) whose last sentence has no terminator counts as one more.

Syllables (English heuristic, ~90% exact on common words): lowercase letters only; words of up to three
letters have one; a silent final ``e`` is dropped (but not in consonant + ``le``: "table"); a final ``es``
is dropped unless it follows c, g, s, x, z, ch or sh ("services", "pages", "boxes" keep it); a final
``ed`` is dropped unless it follows t or d ("collected"); then each group of consecutive vowels
(``aeiouy``) is a syllable, at least one per word. Numbers count as one-syllable words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.document import from_comparable
from storage.models import Capture, Page, Site, Version, VersionText
from storage.queries import site_named
from storage.types import decompress


@dataclass(frozen=True)
class Readability:
    words: int
    sentences: int
    syllables: int
    grade: float | None  # Flesch–Kincaid grade level; None for a text without words


@dataclass(frozen=True)
class VersionStats:
    site: str
    page_url: str
    version_id: int
    first_seen: str
    last_seen: str
    chars: int  # characters of the stored markdown body
    words: int  # prose words (see the module docstring)
    sentences: int
    syllables: int
    grade: float | None


# --- text measures ----------------------------------------------------------------------------------

_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.IGNORECASE)
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[*+-]\s+|\d+[.)]\s+|\|)")
_MARKUP = re.compile(r"[*_`|#>\[\]]+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_VOWELS = re.compile(r"[aeiouy]+")


def prose_blocks(markdown: str) -> list[str]:
    """The text blocks of a markdown document with markup, link targets and URLs removed."""
    text = _URL.sub(" ", _LINK.sub(r"\1", _IMAGE.sub(" ", markdown)))
    blocks: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        starts_block = bool(_BLOCK_START.match(line))
        if not line.strip() or starts_block:
            if current:
                blocks.append(" ".join(current))
            current = []
        cleaned = _MARKUP.sub(" ", line).strip()
        if cleaned:
            current.append(cleaned)
    if current:
        blocks.append(" ".join(current))
    return blocks


def count_syllables(word: str) -> int:
    """Syllables of one English word by the heuristic in the module docstring."""
    if word.isdigit():
        return 1
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 1
    if len(w) <= 3:
        return 1
    if w.endswith("es") and not re.search(r"(?:[cgsxz]|ch|sh)es$", w):
        w = w[:-2]
    elif w.endswith("ed") and not re.search(r"[td]ed$", w):
        w = w[:-2]
    elif w.endswith("e") and not re.search(r"[^aeiouy]le$", w):
        w = w[:-1]
    return max(1, len(_VOWELS.findall(w)))


def readability(markdown: str) -> Readability:
    """Words, sentences, syllables and Flesch–Kincaid grade of a markdown text."""
    words = sentences = syllables = 0
    for block in prose_blocks(markdown):
        block_words = _WORD.findall(block)
        if not block_words:
            continue
        words += len(block_words)
        syllables += sum(count_syllables(w) for w in block_words)
        ends = list(_SENTENCE_END.finditer(block))
        sentences += len(ends)
        if not ends or _WORD.search(block, ends[-1].end()):
            sentences += 1  # the block's last sentence has no terminator
    if not words:
        return Readability(0, 0, 0, None)
    grade = 0.39 * words / sentences + 11.8 * syllables / words - 15.59
    return Readability(words, sentences, syllables, round(grade, 2))


# --- per version ------------------------------------------------------------------------------------


def version_stats(session: Session, hostname: str) -> list[VersionStats]:
    """Per version of one site, in time order. Each distinct text is measured once."""
    site = site_named(session, hostname)
    rows = session.execute(
        select(Page.url, Version.id, Version.first_seen, Version.last_seen, Version.text_id, Capture.timestamp)
        .join(Page, Page.id == Version.page_id)
        .join(Capture, Capture.id == Version.first_capture_id)
        .where(Page.site_id == site.id)
        .order_by(Version.first_seen, Version.page_id)
    ).all()
    texts = {
        text_id: (chars, body, compression)
        for text_id, chars, body, compression in session.execute(
            select(VersionText.id, VersionText.chars, VersionText.body, VersionText.compression)
            .where(VersionText.id.in_({row.text_id for row in rows}))
        )
    }
    measured: dict[int, Readability] = {}
    result = []
    for url, vid, first_seen, last_seen, text_id, timestamp in rows:
        chars, body, compression = texts[text_id]
        if text_id not in measured:
            # Rendered for the version's first capture; the timestamp sits only inside URLs, which the
            # measure drops, so the result is the same for every version sharing the text.
            markdown = from_comparable(decompress(body, compression).decode("utf-8"), timestamp)
            measured[text_id] = readability(markdown)
        r = measured[text_id]
        result.append(
            VersionStats(
                site=site.hostname, page_url=url, version_id=vid, first_seen=first_seen, last_seen=last_seen,
                chars=chars, words=r.words, sentences=r.sentences, syllables=r.syllables, grade=r.grade,
            )
        )
    return result


def sites_stats(session: Session, hostnames: Sequence[str] | None = None) -> Iterator[VersionStats]:
    """:func:`version_stats` for the named sites, or for every site (by hostname) when none are named.

    A generator, one site at a time: ``stats --all`` over a large database never holds every text.
    """
    hosts = list(hostnames) if hostnames else list(session.scalars(select(Site.hostname).order_by(Site.hostname)))
    for host in hosts:
        yield from version_stats(session, host)
