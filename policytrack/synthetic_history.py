"""A synthetic site with a 20-year archived history whose privacy link moves: for tests and ``bench/discovery.py``.

The homepage is captured every month with a different payload (news changes), its footer links to the
privacy policy, and the link moves ``moves`` times (the last move, from two on, to another domain: a group
site hosting the policy). Each policy page is captured a few times during its period, with one text
change inside the first period, so a history has both a change and moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from policytrack.localarchive import WarcCapture

HOST = "exampleshop.com"
POLICY_URLS = (
    f"http://{HOST}/privacy.html",
    f"http://{HOST}/legal/privacy",
    f"http://www.{HOST}/datenschutz",
    "https://examplegroup.com/privacy/shop",
)
FIRST_YEAR, YEARS = 2004, 20
_HTML = (("Content-Type", "text/html; charset=utf-8"),)


@dataclass(frozen=True)
class SyntheticSite:
    host: str
    captures: list[WarcCapture]
    homepage_captures: int
    periods: list[tuple[str, str]]      # (policy URL, first homepage timestamp linking to it)


def _month(i: int) -> str:
    return f"{FIRST_YEAR + i // 12}{i % 12 + 1:02d}15120000"


def _homepage(i: int, link: str) -> bytes:
    return (f"<!doctype html><html lang=en><head><title>Shop</title></head><body><h1>The Shop</h1>"
            f"<p>News of month {i}: new arrivals in store.</p><a href=/catalog>Catalog</a>"
            f"<footer><a href=/about>About us</a> <a href=/terms>Terms of use</a> "
            f"<a href=\"{link}\">Privacy Policy</a> <a href=/contact>Contact</a></footer></body></html>").encode()


def policy_text(edition: int) -> bytes:
    paragraphs = [
        "This privacy policy explains how The Shop collects, uses and shares personal information about you.",
        "We collect personal data you give us when you create an account, place an order or contact us, "
        "such as your name, e-mail address, postal address and payment information.",
        "We use cookies and similar technologies to remember your preferences and to understand how our "
        "website is used. You can disable cookies in your browser settings.",
        "We share personal information with service providers who process it on our behalf, for payment "
        "processing and delivery, and never sell your personal data to third parties.",
        "You have the right to access, correct or delete your personal information, and to object to its "
        "processing. Contact our data protection officer at privacy@exampleshop.com.",
        "We keep personal data only as long as necessary for the purposes described in this privacy policy "
        "and protect it with appropriate security measures.",
    ]
    if edition:
        paragraphs.append(f"Edition {edition}: we added information about how long we retain order data "
                          "and how you can withdraw your consent to marketing e-mail at any time.")
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html lang=en><head><title>Privacy Policy - The Shop</title></head><body>"
            f"<main><h1>Privacy Policy</h1>{body}</main></body></html>").encode()


def synthetic_site(moves: int) -> SyntheticSite:
    """The site's captures for ``moves`` (0 to 3) moves of the privacy link over 20 years."""
    if not 0 <= moves <= 3:
        raise ValueError("moves: 0 to 3")
    months = YEARS * 12
    urls = list(POLICY_URLS[:moves]) + [POLICY_URLS[-1]] if moves >= 2 else list(POLICY_URLS[:moves + 1])
    starts = [round(k * months / (moves + 1)) for k in range(moves + 1)]
    captures: list[WarcCapture] = []
    periods = []
    for k, (url, start) in enumerate(zip(urls, starts)):
        end = starts[k + 1] if k + 1 < len(starts) else months
        periods.append((url, _month(start)))
        for i in range(start, end):
            captures.append(WarcCapture(f"http://{HOST}/", _month(i), _homepage(i, url), headers=_HTML))
        # The policy page: captured near the start, in the middle and near the end of its period.
        for j, i in enumerate(sorted({start, (start + end) // 2, end - 1})):
            edition = 1 if (k == 0 and j == 2) else 0
            stamp = _month(i)[:8] + "130000"
            captures.append(WarcCapture(url, stamp, policy_text(edition), headers=_HTML))
    homepages = sum(1 for c in captures if c.url == f"http://{HOST}/")
    return SyntheticSite(HOST, captures, homepages, periods)
