"""Discovery: which link on an (archived) homepage is the site's privacy policy, and is the page behind it one.

Pure functions, no network or database: ``extract`` turns a page into links with their context, ``score``
picks the privacy link with a transparent feature model and explains the choice, ``baseline`` is the
corpus's own English rule to measure against, and ``policycheck`` tells a privacy policy from pages that
are not one (cookie notices, logins, soft 404s, terms of service) with a printed logistic model.
"""

from crawler.discovery.baseline import baseline_link
from crawler.discovery.extract import Link, Page, extract_links, link_key, original_url, site_of
from crawler.discovery.score import (
    THRESHOLD, WEIGHTS, Candidate, Discovery, choose, discover, explain, format_explanation, rank,
)

__all__ = [
    "THRESHOLD", "WEIGHTS", "Candidate", "Discovery", "Link", "Page", "baseline_link", "choose", "discover",
    "explain", "extract_links", "format_explanation", "link_key", "original_url", "rank", "site_of",
]
