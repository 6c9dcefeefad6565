"""Links of one HTML page, with the context a reader uses to find the privacy policy among them.

Pure: bytes (or text) and the page URL in, a :class:`Page` out. The page is decoded like a browser
(``crawler.normalizer.encoding.decode_html``, the normalizer's decoder) and parsed with lxml's HTML parser,
which, like a browser, accepts any tag soup. For every ``<a href>`` / ``<area href>`` (and ``<link
rel="privacy-policy">``) it records what the link says (text, image alt text, ``title``/``aria-label``,
``rel``) and where it sits: in a footer or legal menu, in a cookie banner, in a third-party widget (comment
form, newsletter sign-up, share buttons), how far down the page, whether the site's CMS marks it as the
privacy page. Scoring is ``score.py``'s job; this module does not judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import tldextract

from crawler.discovery.keywords import normalize_text
from crawler.normalizer.encoding import decode_html

# Ancestors (tag, id, class, role) that put a link in the page's footer or legal/meta menu.
_FOOTER = re.compile(
    r"foot|copyright|colophon|site-?info|legal|bottom|imprint|impressum|meta-?nav|metanav|contentinfo", re.I
)
_COOKIE_BANNER = re.compile(r"cookie|consent|gdpr|\bcmp|privacy-?notice|onetrust|didomi|cn-notice", re.I)
_WIDGET = re.compile(
    r"akismet|comment|respond|newsletter|mailchimp|\bmc_|subscribe|shariff|share|sharing|social|recaptcha|"
    r"disqus|wysija|mailpoet",
    re.I,
)
# CMS markers of the page the site designated as its privacy policy: WordPress menus
# (``menu-item-privacy-policy``) and MediaWiki footers (``footer-places-privacy``).
_PLATFORM_MARKER = re.compile(r"menu-item-privacy-policy|footer-places-privacy", re.I)
_NOT_NAVIGABLE = re.compile(r"^(javascript|mailto|tel|sms|whatsapp|data|about|file|ftp):", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
# An archive's capture URL (Internet Archive, pywb): ``…/<timestamp><modifier>/<original URL>``.
# The original may lack its scheme: archives rewrite a scheme-relative link (``//host/path``) as
# ``…/<timestamp>mp_///host/path``.
_ARCHIVED = re.compile(
    r"^https?://[^/]+/(?:[^/]+/)*\d{4,14}(?:[a-z]{2}_)?/(?:(?P<scheme>https?:)/+|//+)(?P<rest>[^/].*)$", re.I
)

_DOMAINS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # the bundled suffix list; no network


@dataclass(frozen=True)
class Link:
    """One link as a reader meets it. ``url`` is resolved against the page (and its ``<base>``)."""

    href: str
    url: str
    text: str
    alt: str
    label: str
    rel: tuple[str, ...]
    position: float
    in_footer: bool
    in_cookie_banner: bool
    in_widget: bool
    platform_marker: bool

    @property
    def words(self) -> str:
        """Everything the link shows or announces: text, image alt text, title and aria-label."""
        return " ".join(part for part in (self.text, self.alt, self.label) if part)


@dataclass(frozen=True)
class Page:
    url: str
    site: str
    links: tuple[Link, ...]


def original_url(url: str) -> str:
    """The live URL behind an archive capture URL; other URLs unchanged."""
    match = _ARCHIVED.match(url)
    if not match:
        return url
    return f"{(match.group('scheme') or 'http:').lower()}//{match.group('rest')}"


def site_of(url: str) -> str:
    """The registrable domain (eTLD+1) of ``url``'s live host: ``news.example.co.uk`` → ``example.co.uk``."""
    host = urlsplit(original_url(url)).hostname or ""
    parts = _DOMAINS(host)
    return parts.top_domain_under_public_suffix or host


def link_key(url: str) -> str:
    """A URL as discovery compares it: live URL, no scheme, no ``www.``, no fragment, no trailing slash."""
    parts = urlsplit(original_url(url).strip())
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}".lower() if host else f"{path}{query}"


def _context(element: lxml.html.HtmlElement) -> tuple[bool, bool, bool, bool]:
    footer = cookie = widget = marker = False
    for ancestor in element.iterancestors():
        if not isinstance(ancestor.tag, str):
            continue
        names = " ".join(
            value for value in (ancestor.get("id"), ancestor.get("class"), ancestor.get("role")) if value
        )
        footer = footer or ancestor.tag == "footer" or bool(_FOOTER.search(names))
        cookie = cookie or bool(_COOKIE_BANNER.search(names))
        widget = widget or bool(_WIDGET.search(names))
        marker = marker or bool(_PLATFORM_MARKER.search(names))
    return footer, cookie, widget, marker


def parse_document(data: bytes | str, content_type: str | None = None) -> lxml.html.HtmlElement | None:
    """The page's DOM, decoded like a browser; None when there is no document to parse."""
    text = data if isinstance(data, str) else decode_html(data, [content_type])[0]
    text = _XML_DECLARATION.sub("", text)
    try:
        return lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return None


def extract_links(data: bytes | str, url: str, content_type: str | None = None) -> Page:
    """Every navigable link of the page at ``url`` (``data`` as fetched, or already decoded text)."""
    document = parse_document(data, content_type)
    base = url if url.lower().startswith(("http://", "https://")) else ""
    if document is None:
        return Page(url=base, site=site_of(base), links=())
    base_element = document.find(".//base[@href]")
    if base_element is not None:
        base = urljoin(base, base_element.get("href", "").strip())
    elements = [
        element for element in document.iter("a", "area", "link")
        if element.tag != "link" or "privacy-policy" in (element.get("rel") or "").lower().split()
    ]
    own = link_key(base) if base else None
    links = []
    for index, element in enumerate(elements):
        href = (element.get("href") or "").strip()
        if not href or href.startswith("#") or _NOT_NAVIGABLE.match(href):
            continue
        resolved = urljoin(base, href)
        if own is not None and link_key(resolved) == own:
            continue
        footer, cookie, widget, marker = _context(element)
        links.append(Link(
            href=element.get("href") or "",
            url=resolved,
            text=normalize_text(element.text_content()) if element.tag == "a" else "",
            alt=normalize_text(" ".join(image.get("alt") or "" for image in element.iter("img"))),
            label=normalize_text(" ".join(element.get(name) or "" for name in ("title", "aria-label"))),
            rel=tuple((element.get("rel") or "").lower().split()),
            position=index / max(len(elements) - 1, 1),
            in_footer=footer,
            in_cookie_banner=cookie,
            in_widget=widget,
            platform_marker=marker,
        ))
    return Page(url=base, site=site_of(base), links=tuple(links))
