"""The vocabulary discovery reads links with, per language, in one place.

Everything is matched on lower-cased text with soft hyphens removed (``normalize_text``), as a substring,
so inflected forms share a stem ("datenschutz" covers "Datenschutzerklärung", "prywatno" covers
"prywatności"). A term belongs to a table because of what it says about a link, not because of its
language; the language tags only document coverage (``LANGUAGES``) and are not used for matching, since a
page's declared language is often wrong and legal menus mix languages.
"""

from __future__ import annotations

import re
import unicodedata

# What the link is about: the site's handling of personal data.
PRIVACY_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("privacy", "personal data", "personal information", "data protection"),
    "de": ("datenschutz", "privatsphäre", "personenbezogen"),
    "fr": ("confidentialité", "confidentialite", "vie privée", "données personnelles", "donnees personnelles",
           "protection des données", "informatique et libertés", "informatique & libertés"),
    "es": ("privacidad", "datos personales", "protección de datos"),
    "it": ("riservatezza", "dati personali", "protezione dei dati"),
    "pt": ("privacidade", "dados pessoais", "proteção de dados"),
    "nl": ("persoonsgegevens", "gegevensbescherming"),
    "pl": ("prywatno", "ochrona danych", "ochrony danych", "danych osobowych"),
    "sv": ("integritet", "personuppgift", "dataskydd"),
    "ja": ("プライバシー", "個人情報"),
    "zh": ("隐私", "隱私", "私隐", "个人信息", "個人資料", "个人资料"),
    "ko": ("개인정보", "프라이버시"),
    "ru": ("конфиденциальн", "персональных данных", "персональные данные", "приватност"),
    "tr": ("gizlilik", "kişisel veri"),
    "cs": ("osobních údajů", "soukromí"),
    "other": ("tietosuoja", "personvern", "privatliv", "databeskyttelse", "adatvédelm", "απόρρητο",
              "προσωπικών δεδομένων", "конфіденційн"),
}
# The data-protection laws' acronyms: a short link named by one ("DSGVO", "GDPR") is the site's privacy
# page; a headline mentioning one ("Was bedeutet die DSGVO für Blogs?") is an article.
LAW_ACRONYMS = ("dsgvo", "gdpr", "rgpd", "lgpd", "kvkk")

# What kind of document the link promises: a policy, statement or notice (with a privacy word: a policy).
POLICY_NOUNS: dict[str, tuple[str, ...]] = {
    "en": ("policy", "statement", "notice"),
    "de": ("erklärung", "hinweis", "richtlinie", "bestimmung"),
    "fr": ("politique", "charte", "déclaration"),
    "es": ("política", "aviso de privacidad", "normas", "declaración"),
    "it": ("informativa", "politica"),
    "pt": ("política", "aviso"),
    "nl": ("beleid", "verklaring"),
    "pl": ("polityka", "polityki"),
    "sv": ("policy", "meddelande"),
    "ja": ("ポリシー", "方針", "保護"),
    "zh": ("政策", "声明", "聲明", "保护", "保護", "条款", "條款"),
    "ko": ("처리방침", "방침", "정책"),
    "ru": ("политика", "политики", "положение"),
    "tr": ("politika", "bildirim", "aydınlatma"),
}

# Links that sit next to the policy and are not it.
COOKIE_WORDS = ("cookie", "クッキー", "쿠키", "куки")
SETTINGS_WORDS = (
    "settings", "einstellung", "preferences", "manage", "verwalten", "paramétrer", "gérer", "gestion des cookies",
    "gestions des cookies", "configuración",
    "impostazioni", "instellingen", "ustawienia", "inställningar", "設定", "设置", "설정", "настройк", "ayarlar",
    "choices", "do not sell", "opt-out", "opt out", "adchoices", "ad choices", "privacy center", "anfrage",
)
IMPRINT_WORDS = (
    "impressum", "imprint", "legal notice", "mentions légales", "mentions legales", "aviso legal", "note legali",
    "colofon", "offenlegung", "特定商取引", "法律声明", "법적고지",
)
TERMS_WORDS = (
    "terms", "agb", "nutzungsbedingungen", "geschäftsbedingungen", "conditions", "cgu", "cgv", "términos",
    "condiciones", "condizioni", "termini", "termos", "voorwaarden", "regulamin", "villkor", "利用規約", "条款",
    "條款", "이용약관", "соглашение", "koşulları", "user agreement", "disclaimer", "haftungsausschluss",
)
# A privacy link for a narrower audience or purpose than the site's general policy.
SECONDARY_WORDS = (
    "california", "children", "kids", "newsletter", "bewerb", "job", "karriere", "career", "comment",
    "kommentar", "advertising", "werbung", "privacy rights", "your privacy choices", "social media",
    "app ", "mobile",
)
# The same, as words in a URL: a policy for job applicants, newsletter subscribers, Californians, children.
URL_SECONDARY_TOKENS = ("bewerb", "karriere", "career", "jobs", "newsletter", "california", "ccpa", "kids", "children")

# Words in a URL's path or query that name a privacy page (ASCII transliterations and slugs).
URL_PRIVACY_TOKENS = (
    "privacy", "privacidad", "privacidade", "privacite", "privaten", "datenschutz", "dataprotection",
    "data-protection", "dsgvo", "gdpr", "rgpd", "confidentialite", "donnees-personnelles", "donnees_personnelles",
    "protection-des-donnees", "datos-personales", "dati-personali", "riservatezza", "privacybeleid",
    "persoonsgegevens", "prywatnosc", "prywatnosci", "integritet", "personuppgift", "kojinjoho", "kojin_joho",
    "yinsi", "gizlilik", "kvkk", "konfidencialnost", "konfidentsialnost", "politika-konfidencialnosti",
    "personal-data", "personal-information", "ochrana-osobnich", "osobnich-udaju", "tietosuoja", "adatvedelem",
    "dataconfidentiality", "cnil",
)
# URL path segments of listing pages (tags, categories, topics, searches) rather than documents.
URL_LISTING_SEGMENTS = (
    "tag", "tags", "category", "categorie", "categories", "kategorie", "thema", "themen", "topic", "topics",
    "label", "labels", "search", "suche", "rubrik", "news", "nachrichten", "actualites", "actualite", "noticias",
    "notizie",
)

# Hosts whose own privacy pages appear on other sites through widgets, plugins and consent tools.
THIRD_PARTY_HOSTS = (
    "akismet.com", "automattic.com", "gravatar.com", "google.com", "googleapis.com", "youtube.com",
    "facebook.com", "instagram.com", "twitter.com", "x.com", "linkedin.com", "pinterest.com", "tiktok.com",
    "onetrust.com", "cookiebot.com", "cookieinformation.com", "usercentrics.com", "didomi.io", "consensu.org",
    "mailchimp.com", "intuit.com", "outbrain.com", "taboola.com", "disqus.com", "vimeo.com", "addthis.com",
    "sharethis.com", "truste.com", "trustarc.com", "evidon.com", "imrworldwide.com", "stroeer.de", "glomex.com",
    "wp-dsgvo.eu", "blogger.com",
)

LANGUAGES = tuple(sorted(lang for lang in PRIVACY_WORDS if lang != "other"))

_SOFT_HYPHEN = re.compile("[\u00ad\u200b\u200c\u200d\u2060]")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lower-case, NFC, soft hyphens and zero-width characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFC", _SOFT_HYPHEN.sub("", text))
    return _SPACES.sub(" ", text).strip().lower()


def _all(table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(term for terms in table.values() for term in terms)


ALL_PRIVACY_WORDS = _all(PRIVACY_WORDS)
ALL_POLICY_NOUNS = _all(POLICY_NOUNS)


def find(text: str, terms: tuple[str, ...]) -> str | None:
    """The first of ``terms`` that occurs in the (normalized) ``text``, or None."""
    return next((term for term in terms if term in text), None)
