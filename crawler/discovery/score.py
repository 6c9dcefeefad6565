"""Which link on a page is the site's privacy policy: a transparent feature model and its explanation.

Each link gets named features (what it says, where it points, where it sits); each feature has a fixed
weight in :data:`WEIGHTS`, and a link's score is the sum of the weights of its features, so every score can
be printed as the list of its contributions. Links pointing to the same URL form one candidate, scored by
its best link (plus a small bonus when the page links to it more than once). The best candidate wins if it
reaches :data:`THRESHOLD`; otherwise the page has no privacy link.

The weights were set by reasoning about what each feature means, then checked against the hand-labelled
real pages (``bench/discovery.py``); they are a reader's rules written down, not a fit to those pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from crawler.discovery import keywords as kw
from crawler.discovery.extract import Link, Page, extract_links, link_key, original_url, site_of

WEIGHTS: dict[str, float] = {
    # What the link says.
    "says privacy policy": 5.0,  # a privacy word and a policy noun: "Privacy Policy", "Datenschutzerklärung"
    "says privacy": 3.5,  # a privacy word alone: "Privacy", "Datenschutz", "プライバシー"
    "title/alt says privacy": 2.0,  # only its title, aria-label or image alt text does
    "rel=privacy-policy": 6.0,  # the page declares it (HTML link type privacy-policy)
    "CMS marks privacy page": 3.0,  # WordPress/MediaWiki mark the page the site designated
    "short menu entry": 0.5,  # at most four words: a menu item, not a sentence
    "sentence": -2.5,  # more than six words: running text or an article teaser
    # Where it points.
    "URL names privacy": 2.0,
    "listing URL": -6.0,  # /tag/, /category/, /thema/, /news/ …: a list of articles, never the policy
    "article URL": -2.0,  # a dated path or a long slug: an article
    "third-party host": -3.0,  # a widget's or consent tool's own policy (Akismet, Google, Facebook …)
    "other site": -0.5,  # allowed (group sites, hosting providers) but flagged and slightly less likely
    # Where it sits.
    "footer/legal menu": 1.0,
    "lower half of page": 0.5,
    "linked repeatedly": 0.5,
    "in cookie banner": -0.5,  # usually right, but the footer's link is the site's canonical one
    "in widget": -2.0,  # comment form, newsletter form, share buttons
    # Decoys next to the policy.
    "cookie wording": -2.5,  # "Cookie policy", "Cookie-Richtlinie" without a privacy word
    "settings/choices": -4.0,  # "Privacy settings", "Do not sell my info", "Cookie-Einstellungen"
    "terms/imprint wording": -1.5,  # "Terms", "AGB", "Impressum" without a privacy word
    "narrower audience": -2.5,  # California, children, newsletter, applicants, comments
}
THRESHOLD = 4.0

_DATED_PATH = re.compile(r"/(?:19|20)\d\d/\d{1,2}/")


@dataclass(frozen=True)
class ScoredLink:
    link: Link
    score: float
    contributions: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Candidate:
    """One URL the page links to, with its best link and how that link scored."""

    url: str
    key: str
    best: ScoredLink
    links: int
    score: float
    cross_site: bool

    @property
    def contributions(self) -> tuple[tuple[str, float], ...]:
        extra = (("linked repeatedly", WEIGHTS["linked repeatedly"]),) if self.links > 1 else ()
        return self.best.contributions + extra


@dataclass(frozen=True)
class Discovery:
    """The outcome for one page: the winner (or None), every candidate, and why."""

    page_url: str
    site: str
    winner: Candidate | None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    reason: str = ""

    @property
    def url(self) -> str | None:
        return self.winner.url if self.winner else None

    @property
    def cross_site(self) -> bool:
        return bool(self.winner and self.winner.cross_site)


def link_features(link: Link, page_site: str) -> list[str]:
    """The names of the features ``link`` has (keys of :data:`WEIGHTS`)."""
    features: list[str] = []
    text = link.text or link.alt
    words = len(text.split())
    privacy_in_text = kw.find(text, kw.ALL_PRIVACY_WORDS) or (words <= 3 and kw.find(text, kw.LAW_ACRONYMS))
    privacy_anywhere = privacy_in_text or kw.find(link.words, kw.ALL_PRIVACY_WORDS)
    if privacy_in_text and kw.find(text, kw.ALL_POLICY_NOUNS):
        features.append("says privacy policy")
    elif privacy_in_text:
        features.append("says privacy")
    elif privacy_anywhere:
        features.append("title/alt says privacy")
    if "privacy-policy" in link.rel:
        features.append("rel=privacy-policy")
    if link.platform_marker:
        features.append("CMS marks privacy page")
    if 0 < words <= 4:
        features.append("short menu entry")
    elif words > 6:
        features.append("sentence")

    live = original_url(link.url)
    parts = urlsplit(live)
    host = (parts.hostname or "").lower()
    path = unquote(f"{parts.path}?{parts.query}").lower()
    if kw.find(host + path, kw.URL_PRIVACY_TOKENS):
        features.append("URL names privacy")
    segments = [segment for segment in parts.path.lower().split("/") if segment]
    if any(segment in kw.URL_LISTING_SEGMENTS for segment in segments[:-1]):
        features.append("listing URL")
    elif _DATED_PATH.search(parts.path) or (segments and segments[-1].count("-") >= 6):
        features.append("article URL")
    target_site = site_of(live)
    if target_site != page_site and any(host == h or host.endswith("." + h) for h in kw.THIRD_PARTY_HOSTS):
        features.append("third-party host")
    elif page_site and target_site and target_site != page_site:
        features.append("other site")

    if link.in_footer:
        features.append("footer/legal menu")
    if link.position >= 0.5:
        features.append("lower half of page")
    if link.in_cookie_banner:
        features.append("in cookie banner")
    if link.in_widget:
        features.append("in widget")

    said = link.words
    if kw.find(said, kw.SETTINGS_WORDS):
        features.append("settings/choices")
    elif not privacy_anywhere and kw.find(said, kw.COOKIE_WORDS):
        features.append("cookie wording")
    elif not privacy_anywhere and (kw.find(said, kw.TERMS_WORDS) or kw.find(said, kw.IMPRINT_WORDS)):
        features.append("terms/imprint wording")
    if privacy_anywhere and (kw.find(said, kw.SECONDARY_WORDS) or kw.find(path, kw.URL_SECONDARY_TOKENS)):
        features.append("narrower audience")
    return features


def _is_candidate(features: list[str]) -> bool:
    """Only links with some privacy signal are candidates; "Impressum" alone is not a candidate at all."""
    return any(name in features for name in (
        "says privacy policy", "says privacy", "title/alt says privacy", "rel=privacy-policy",
        "CMS marks privacy page", "URL names privacy",
    ))


def score_link(link: Link, page_site: str) -> ScoredLink | None:
    features = link_features(link, page_site)
    if not _is_candidate(features):
        return None
    contributions = tuple((name, WEIGHTS[name]) for name in features)
    return ScoredLink(link=link, score=sum(weight for _, weight in contributions), contributions=contributions)


def rank(page: Page) -> list[Candidate]:
    """Every candidate URL on the page, best first."""
    by_key: dict[str, list[ScoredLink]] = {}
    for link in page.links:
        scored = score_link(link, page.site)
        if scored is not None:
            by_key.setdefault(link_key(link.url), []).append(scored)
    candidates = []
    for key, scored_links in by_key.items():
        best = max(scored_links, key=lambda s: (s.score, s.link.in_footer, s.link.position))
        bonus = WEIGHTS["linked repeatedly"] if len(scored_links) > 1 else 0.0
        target_site = site_of(best.link.url)
        candidates.append(Candidate(
            url=best.link.url, key=key, best=best, links=len(scored_links), score=best.score + bonus,
            cross_site=bool(page.site and target_site and target_site != page.site),
        ))
    candidates.sort(key=lambda c: (c.score, c.best.link.in_footer, c.best.link.position), reverse=True)
    return candidates


def choose(page: Page) -> Discovery:
    """The page's privacy link, if any, with every candidate and the reason."""
    candidates = rank(page)
    best = candidates[0] if candidates else None
    if best is None:
        return Discovery(page.url, page.site, None, (), "no link on the page mentions privacy")
    if best.score < THRESHOLD:
        reason = f"best candidate scores {best.score:g}, below the threshold {THRESHOLD:g}"
        return Discovery(page.url, page.site, None, tuple(candidates), reason)
    reason = f"highest score {best.score:g} (threshold {THRESHOLD:g})"
    if len(candidates) > 1:
        runner_up = candidates[1]
        differences = _differences(best, runner_up)
        reason += f", {best.score - runner_up.score:g} ahead of {runner_up.url}"
        if differences:
            reason += f" ({differences})"
    if best.cross_site:
        reason += f"; policy hosted on another site ({site_of(best.url)})"
    return Discovery(page.url, page.site, best, tuple(candidates), reason)


def _differences(winner: Candidate, other: Candidate) -> str:
    mine, theirs = dict(winner.contributions), dict(other.contributions)
    gained = [name for name in mine if name not in theirs and mine[name] > 0]
    avoided = [name for name in theirs if name not in mine and theirs[name] < 0]
    parts = []
    if gained:
        parts.append("it has: " + ", ".join(gained))
    if avoided:
        parts.append("the other has: " + ", ".join(avoided))
    return "; ".join(parts)


def discover(data: bytes | str, url: str, content_type: str | None = None) -> Discovery:
    """The privacy link of the page at ``url``: parse, score, choose."""
    return choose(extract_links(data, url, content_type))


def explain(discovery: Discovery, limit: int = 5) -> dict:
    """A plain structure ``policytrack discover --explain`` prints: candidates, contributions, the reason."""
    return {
        "page": discovery.page_url,
        "site": discovery.site,
        "winner": discovery.url,
        "cross_site": discovery.cross_site,
        "reason": discovery.reason,
        "threshold": THRESHOLD,
        "candidates": [
            {
                "url": candidate.url,
                "text": candidate.best.link.text or candidate.best.link.alt or candidate.best.link.label,
                "score": candidate.score,
                "links": candidate.links,
                "cross_site": candidate.cross_site,
                "contributions": [{"feature": name, "weight": weight} for name, weight in candidate.contributions],
            }
            for candidate in discovery.candidates[:limit]
        ],
    }


def format_explanation(discovery: Discovery, limit: int = 5) -> str:
    """``explain`` as text, one candidate per block."""
    data = explain(discovery, limit)
    lines = [f"page {data['page']}", f"  winner: {data['winner'] or 'none'} — {data['reason']}"]
    for candidate in data["candidates"]:
        flag = " [other site]" if candidate["cross_site"] else ""
        lines.append(f"  {candidate['score']:+.1f}  {candidate['url']}{flag}  “{candidate['text']}”")
        lines.append("        " + ", ".join(f"{c['feature']} {c['weight']:+g}" for c in candidate["contributions"]))
    return "\n".join(lines)
