"""Bounding the work one huge page can cause.

jsdom's time and memory grow with the document (a 10 MB page took 10 s and 450 MB in a worker), and a
policy is never megabytes of text: the bulk of a huge page is inline scripts, styles, SVG and data
URIs. Above :data:`MAX_DOCUMENT_CHARS` decoded characters the document is *reduced* before it reaches
Readability: those bulky parts are cut out, and if it is still too large it is cut at the limit (at a
tag boundary). The document is then marked ``oversize`` in its extraction, because the reduction is
approximate (a regex, not an HTML tokenizer) and byte-exactness with a browser is no longer promised.
"""

from __future__ import annotations

import re

# Decoded characters above which a document is reduced; the largest corpus page is 77 kB.
MAX_DOCUMENT_CHARS = 4_000_000

_BULK = re.compile(
    r"<(script|style|svg|template)\b[^>]*>.*?</\1\s*>"  # elements whose content is never policy text
    r"|<!--.*?-->"  # comments
    r"|\bdata:[a-z0-9.+-]+/[a-z0-9.+-]+(?:;[a-z0-9=.+-]+)*,[^\"'\s>)]{256,}",  # long inline data URIs
    re.IGNORECASE | re.DOTALL)


def reduce(text: str, limit: int = MAX_DOCUMENT_CHARS) -> str | None:
    """The document cut down to at most ``limit`` characters, or None when it is within the limit."""
    if len(text) <= limit:
        return None
    text = _BULK.sub(lambda match: f"<{match.group(1)}></{match.group(1)}>" if match.group(1) else "", text)
    if len(text) > limit:
        cut = text.rfind("<", 0, limit)
        text = text[:cut if cut > 0 else limit]
    return text
