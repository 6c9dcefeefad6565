"""Discovery of a page's privacy link: extraction, scoring, explanation and the corpus baseline, on small
hand-written homepages (the real pages are measured in test_discovery_realpages.py)."""

from __future__ import annotations

import pytest

from crawler.discovery import baseline_link, discover, explain, extract_links, format_explanation, link_key

# Per language: the privacy link's text, and decoys in the same language (imprint, terms, cookie settings).
LANGUAGES = {
    "en": ("Privacy Policy", "Legal notice", "Terms of Use", "Cookie settings"),
    "de": ("Datenschutzerklärung", "Impressum", "AGB", "Cookie-Einstellungen"),
    "fr": ("Politique de confidentialité", "Mentions légales", "CGU", "Paramétrer les cookies"),
    "es": ("Política de privacidad", "Aviso legal", "Términos y condiciones", "Configuración de cookies"),
    "it": ("Informativa sulla privacy", "Note legali", "Termini e condizioni", "Impostazioni cookie"),
    "pt": ("Política de Privacidade", "Aviso legal", "Termos de uso", "Configurações de cookies"),
    "nl": ("Privacybeleid", "Colofon", "Algemene voorwaarden", "Cookie-instellingen"),
    "pl": ("Polityka prywatności", "Regulamin", "Warunki korzystania", "Ustawienia cookies"),
    "sv": ("Integritetspolicy", "Villkor", "Användarvillkor", "Cookie-inställningar"),
    "ja": ("プライバシーポリシー", "特定商取引法に基づく表記", "利用規約", "クッキー設定"),
    "zh": ("隐私政策", "法律声明", "服务条款", "Cookie 设置"),
    "ko": ("개인정보처리방침", "법적고지", "이용약관", "쿠키 설정"),
    "ru": ("Политика конфиденциальности", "Правовая информация", "Пользовательское соглашение", "Настройки cookie"),
    "tr": ("Gizlilik Politikası", "Yasal Uyarı", "Kullanım Koşulları", "Çerez ayarları"),
}


def homepage(lang: str, privacy: str, imprint: str, terms: str, cookies: str) -> str:
    """A homepage whose footer carries the privacy link (at a URL that does not say so) between decoys,
    with a widget's own privacy link
    and a news article about privacy above it."""
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Example</title></head>
<body>
<nav><a href="/">Home</a> <a href="/products">Products</a> <a href="/tag/{privacy.lower()}">{privacy}</a></nav>
<article><h1>News</h1><p>Read <a href="/2019/05/12/what-the-new-data-protection-law-means-for-our-readers">what
the new {privacy} law means for you and for all of our readers everywhere</a>.</p>
<form class="comment-form"><p class="akismet_comment_form_privacy_notice">This site uses Akismet.
<a href="https://akismet.com/privacy/">Learn how your comment data is processed</a>.</p></form></article>
<footer>
  <a href="/imprint">{imprint}</a> | <a href="/terms">{terms}</a> | <a href="/site/page-3-{lang}">{privacy}</a>
  | <a href="javascript:showConsent()">{cookies}</a> | <a href="/cookie-policy">Cookie Policy</a>
</footer>
</body></html>"""


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_footer_privacy_link_wins_over_decoys_in_every_language(lang):
    page = homepage(lang, *LANGUAGES[lang])
    found = discover(page.encode("utf-8"), "https://www.example.com/")
    assert found.url == f"https://www.example.com/site/page-3-{lang}", format_explanation(found)
    assert not found.cross_site


def test_a_page_without_privacy_link_has_none_with_a_reason():
    page = b"""<html><body><a href="/impressum">Impressum</a> <a href="/agb">AGB</a>
    <a href="/cookie-policy">Cookie Policy</a></body></html>"""
    found = discover(page, "https://example.de/")
    assert found.url is None
    assert found.reason == "no link on the page mentions privacy"


def test_a_tag_listing_and_a_widget_privacy_link_are_not_the_site_policy():
    page = b"""<html><body><div class="tagcloud"><a href="/tag/datenschutz/">Datenschutz</a></div>
    <p class="akismet_comment_form_privacy_notice"><a href="https://akismet.com/privacy/">Erfahre mehr
    dar\xc3\xbcber, wie deine Kommentardaten verarbeitet werden</a></p></body></html>"""
    found = discover(page, "https://blog.example.de/2019/01/post/")
    assert found.url is None
    assert "below the threshold" in found.reason
    features = {candidate.url: dict(candidate.contributions) for candidate in found.candidates}
    assert "listing URL" in features["https://blog.example.de/tag/datenschutz/"]
    assert "third-party host" in features["https://akismet.com/privacy/"]


def test_rel_privacy_policy_wins_whatever_the_link_says():
    page = b"""<html><head><link rel="privacy-policy" href="/legal/data"></head><body>
    <footer><a href="/about">About us</a> <a href="/privacy-tips">Privacy tips for parents and children</a></footer>
    </body></html>"""
    found = discover(page, "https://example.org/")
    assert found.url == "https://example.org/legal/data"
    assert ("rel=privacy-policy", 6.0) in found.winner.contributions


def test_image_alt_text_and_title_count_as_what_the_link_says():
    page = """<html><body><footer><a href="/p1.html"><img src="d.gif" alt="Datenschutz"></a>
    <a href="/impressum.html" title="Impressum">i</a></footer></body></html>"""
    found = discover(page, "http://www.example.de/index.html")
    assert found.url == "http://www.example.de/p1.html"


def test_a_policy_on_another_site_is_allowed_and_flagged():
    page = b"""<html><body><footer><a href="/impressum">Impressum</a>
    <a href="https://www.example-group.com/datenschutz">Datenschutz</a></footer></body></html>"""
    found = discover(page, "https://news.example-paper.de/")
    assert found.url == "https://www.example-group.com/datenschutz"
    assert found.cross_site
    assert "another site (example-group.com)" in found.reason


def test_archived_pages_are_judged_by_their_original_urls():
    base = "https://web.archive.org/web/20150101000000/http://www.example.co.uk/"
    page = b"""<html><body><footer>
    <a href="/web/20150101000000/http://www.example.co.uk/privacy.html">Privacy</a>
    <a href="/web/20150101000000/http://www.example.co.uk/tag/privacy/">privacy</a></footer></body></html>"""
    found = discover(page, base)
    assert found.url == "https://web.archive.org/web/20150101000000/http://www.example.co.uk/privacy.html"
    assert found.site == "example.co.uk"
    assert not found.cross_site
    assert link_key(found.url) == "example.co.uk/privacy.html"


def test_the_page_is_decoded_like_a_browser_shift_jis():
    html = '<html><head><meta charset="shift_jis"></head><body><footer>' \
           '<a href="/guide/privacy.html">プライバシーポリシー</a><a href="/kiyaku.html">利用規約</a>' \
           '</footer></body></html>'
    found = discover(html.encode("shift_jis"), "https://www.example.jp/")
    assert found.url == "https://www.example.jp/guide/privacy.html"
    assert found.winner.best.link.text == "プライバシーポリシー"


def test_xml_declaration_and_empty_documents_are_handled():
    xhtml = '<?xml version="1.0" encoding="utf-8"?><html><body><a href="/privacy">Privacy</a></body></html>'
    assert discover(xhtml, "https://example.com/").url == "https://example.com/privacy"
    assert discover(b"", "https://example.com/").url is None
    assert extract_links(b"   ", "https://example.com/").links == ()


def test_settings_and_narrower_notices_lose_to_the_general_policy():
    page = b"""<html><body><footer><a href="/privacy-settings">Privacy Settings</a>
    <a href="/ccpa">Your California Privacy Rights</a> <a href="/kids-privacy">Children's Privacy Policy</a>
    <a href="/privacy-policy">Privacy</a> <a href="/privacy-policy#optout">Do Not Sell My Info</a></footer>
    </body></html>"""
    found = discover(page, "https://example.com/")
    assert found.url == "https://example.com/privacy-policy"
    assert found.winner.links == 2


def test_explain_lists_candidates_with_contributions_that_add_up():
    found = discover(homepage("de", *LANGUAGES["de"]).encode(), "https://www.example.com/")
    data = explain(found)
    assert data["winner"] == "https://www.example.com/site/page-3-de"
    assert data["reason"].startswith("highest score")
    assert "ahead of" in data["reason"]
    for candidate in data["candidates"]:
        assert candidate["score"] == pytest.approx(sum(c["weight"] for c in candidate["contributions"]))
    assert data["candidates"][0]["url"] == data["winner"]
    text = format_explanation(found)
    assert "says privacy policy +5" in text and "footer/legal menu +1" in text


def test_baseline_follows_the_corpus_rule():
    page = b"""<html><body><a href="/cookies">Cookie Policy</a> <a href="/p/">Privacy Policy</a>
    <a href="/security">privacy and security</a></body></html>"""
    # Exact titles in the corpus's order: "privacy policy" before "cookie policy"; trailing slash removed.
    assert baseline_link(extract_links(page, "https://example.com/")) == "https://example.com/p"
    partial = b"""<html><body><a href="/s">Privacy &amp; security</a> <a href="/n">privacy notice for you</a>
    </body></html>"""
    # No exact title: keyword order decides ("security" comes before "notice").
    assert baseline_link(extract_links(partial, "https://example.com/")) == "https://example.com/s"
    german = "<html><body><a href='/datenschutz'>Datenschutzerklärung</a></body></html>"
    assert baseline_link(extract_links(german, "https://example.de/")) is None
    assert discover(german, "https://example.de/").url == "https://example.de/datenschutz"


def test_vocabulary_is_stored_the_way_texts_are_compared():
    from crawler.discovery import keywords

    tables = [keywords.ALL_PRIVACY_WORDS, keywords.ALL_POLICY_NOUNS, keywords.COOKIE_WORDS, keywords.SETTINGS_WORDS,
              keywords.IMPRINT_WORDS, keywords.TERMS_WORDS, keywords.SECONDARY_WORDS, keywords.LAW_ACRONYMS]
    for table in tables:
        for term in table:
            assert keywords.normalize_text(term) == term.strip() or term.endswith(" "), term
    required = {"en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "ja", "zh", "ko", "ru", "tr"}
    assert set(keywords.LANGUAGES) >= required
    assert keywords.normalize_text("Da\u00adten\u00adschutz\u00ADer\u00adklä\u00adrung") == "datenschutzerklärung"


@pytest.mark.parametrize(("url", "original"), [
    ("https://web.archive.org/web/20150101000000/http://www.example.co.uk/a", "http://www.example.co.uk/a"),
    ("https://web.archive.org/web/2015id_/https:/example.com/", "https://example.com/"),
    # pywb rewrites a scheme-relative link (//host/path) without a scheme.
    ("http://127.0.0.1:8080/coll/20200101000000mp_///example.com/p/", "http://example.com/p/"),
    # A dated path of a live site is not an archive URL.
    ("https://example.com/2019/05/article.html", "https://example.com/2019/05/article.html"),
    ("https://example.com/2019/05//x.html", "https://example.com/2019/05//x.html"),
])
def test_original_url_reads_through_archive_urls_only(url, original):
    from crawler.discovery import original_url

    assert original_url(url) == original
