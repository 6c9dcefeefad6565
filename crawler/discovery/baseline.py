"""The corpus's own link rule, re-implemented as the baseline discovery is measured against.

The Princeton-Leuven corpus (citp/PrivacyPoliciesOverTime, ``crawler/detect_links.py``) found a homepage's
privacy link with an English keyword rule over the links' texts, lower-cased and stripped:

1. links whose URL, without a trailing ``#`` or ``/``, is the page's own URL are dropped;
2. texts are keyed in a dictionary (a later link with the same text replaces an earlier one);
3. the first of the exact titles "privacy policy", "privacy statement", "privacy", "privacy notice",
   "cookie policy", "your privacy", "your privacy rights" that is a key wins;
4. otherwise, among texts containing "privacy", the first one containing (in this order) "policy",
   "policies", "cookie", "security", "statement", "terms" or "notice" wins;
5. the winner's URL (trailing ``/`` and whitespace removed) is resolved against the page URL.

Written from that description; it takes the same :class:`~crawler.discovery.extract.Page` our discovery
reads, so both are measured on identical links.
"""

from __future__ import annotations

from urllib.parse import urljoin

from crawler.discovery.extract import Page

EXACT_TITLES = (
    "privacy policy", "privacy statement", "privacy", "privacy notice", "cookie policy", "your privacy",
    "your privacy rights",
)
PARTIAL_KEYWORDS = ("policy", "policies", "cookie", "security", "statement", "terms", "notice")


def baseline_link(page: Page) -> str | None:
    """The link the corpus's rule picks on ``page``, resolved, or None."""
    own = page.url.rstrip("/")
    by_text: dict[str, str] = {}
    for link in page.links:
        if link.href.rstrip("#").rstrip("/") == own:
            continue
        by_text[link.text] = link.href
    href = next((by_text[title] for title in EXACT_TITLES if title in by_text), None)
    if href is None:
        privacy_texts = [text for text in by_text if "privacy" in text]
        href = next(
            (by_text[text] for keyword in PARTIAL_KEYWORDS for text in privacy_texts if keyword in text), None
        )
    if href is None:
        return None
    cleaned = "".join(href.rstrip("/").split())
    return urljoin(page.url, cleaned)
