"""Bounding the work one huge page can cause.

jsdom's time and memory grow with the document (a 10 MB page took 10 s and 450 MB in a worker), and
Readability's time grows faster than the number of elements (measured here on dense markup: 250 k
characters 8 s, 500 k characters 78 s on a loaded machine). A policy is never megabytes of text: the
bulk of a huge page is inline scripts, styles, SVG, comments and data URIs. So, for a document above
:data:`MAX_DOCUMENT_CHARS` decoded characters:

1. those bulky parts are cut out; if that brings it within the limit, Readability runs on the rest
   (extraction ``readability-oversize``);
2. otherwise Readability is not run at all: the document is cut at :data:`MAX_FALLBACK_CHARS` (at a tag
   boundary) and extracted whole, scripts and styles removed (extraction ``fallback-oversize``), which
   takes time linear in its size.

Either way the extraction says ``oversize``, because the cut is approximate (a regex, not an HTML
tokenizer) and byte-exactness with a browser is no longer promised. Below the limit the worker's timeout
is the bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Decoded characters above which a document is reduced; the largest corpus page has 77 k.
MAX_DOCUMENT_CHARS = 1_000_000
# What a document too large for Readability even after reduction is cut to before whole-body extraction:
# 10 MB of dense markup cut to this took 7.5 s and 677 MB in a worker (4 M overran its 1 GiB heap).
MAX_FALLBACK_CHARS = 2_000_000

_BULK = re.compile(
    r"<(script|style|svg|template)\b[^>]*>.*?</\1\s*>"  # elements whose content is never policy text
    r"|<!--.*?-->"  # comments
    r"|\bdata:[a-z0-9.+-]+/[a-z0-9.+-]+(?:;[a-z0-9=.+-]+)*,[^\"'\s>)]{256,}",  # long inline data URIs
    re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Reduced:
    html: str
    readability: bool  # False: too large even without its bulk, extract the whole body instead


def _cut(text: str, limit: int) -> str:
    cut = text.rfind("<", 0, limit)
    return text[:cut if cut > 0 else limit]


def reduce(text: str, limit: int = MAX_DOCUMENT_CHARS, fallback_limit: int = MAX_FALLBACK_CHARS) -> Reduced | None:
    """How to extract a document above ``limit`` characters; None when it is within the limit."""
    if len(text) <= limit:
        return None
    text = _BULK.sub(lambda match: f"<{match.group(1)}></{match.group(1)}>" if match.group(1) else "", text)
    if len(text) <= limit:
        return Reduced(text, readability=True)
    return Reduced(_cut(text, fallback_limit) if len(text) > fallback_limit else text, readability=False)
