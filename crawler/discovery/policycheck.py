"""Is a fetched candidate a privacy policy? A small logistic model whose every weight can be printed.

A page is described by a handful of named features, each a number a reader can check by hand: how long it
is, how dense its privacy-policy vocabulary is (in the languages of ``keywords``), whether its title names
privacy, how dense its terms-of-service and login vocabulary are, what share of its data talk is about
cookies, whether it has a password field, whether it is a "page not found" (``crawler.soft404``). A logistic
regression over the standardized features (``train.py`` fits it with numpy; the result is the small JSON
file next to this module) gives a probability; below 0.5 the page is rejected, and the reason is the
feature that pulled hardest against it, in words ("reads as terms of service", "reads as a login page" …).

Positives are the corpus's privacy policies (``../shared/corpus/pllcpp``); negatives are the real pages in
``../shared/realpages`` (news, blogs, shops, government pages: none is a privacy policy, except the one
listed in ``NOT_NEGATIVE``) plus a few hand-written pages of the kinds the real pages lack (cookie notice,
login, soft 404, terms of service; ``training_negatives.json``), which are only ever used for training.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from crawler.discovery import keywords as kw
from crawler.discovery.extract import parse_document
from crawler.soft404 import looks_like_soft_404

MODEL_PATH = Path(__file__).with_name("policycheck_model.json")
HANDWRITTEN_PATH = Path(__file__).with_name("training_negatives.json")
# Real pages that are themselves a privacy policy, so not negatives (a blog post holding an app's policy).
NOT_NEGATIVE = frozenset({"t-sibenlab.blogspot.com.privacy.html"})
HELD_OUT_SHARE = 0.3
DENSITY_FLOOR = 300

PRIVACY_TEXT_TERMS = (
    # en
    "personal information", "personal data", "personally identifiable", "collect", "third part", "disclose",
    "privacy", "opt out", "opt-out", "retain", "retention", "your rights", "controller", "processing",
    "consent", "ip address", "email address", "e-mail address", "we use", "information we",
    # de, fr, es, it, pt, nl
    "personenbezogen", "verarbeitung", "einwilligung", "verantwortlich", "dritte", "datenschutz", "auskunft",
    "widerruf", "ip-adresse", "données", "personnelles", "traitement", "consentement", "tiers",
    "confidentialité", "datos personales", "tratamiento", "consentimiento", "terceros", "privacidad",
    "dati personali", "trattamento", "consenso", "terzi", "dados pessoais", "consentimento", "privacidade",
    "persoonsgegevens", "verwerking", "toestemming", "derden",
    # pl, sv, ja, zh, ko, ru, tr
    "dane osobowe", "danych osobowych", "przetwarzani", "prywatno", "personuppgifter", "samtycke",
    "tredje part", "個人情報", "第三者", "利用目的", "プライバシー", "个人信息", "個人資料", "第三方", "隐私", "隱私",
    "개인정보", "제3자", "수집", "персональн", "обработк", "третьим лиц", "конфиденциальн", "kişisel veri",
    "işlenmesi", "üçüncü kişi", "gizlilik", "açık rıza",
)
TERMS_TEXT_TERMS = (
    "terms of use", "terms of service", "terms and conditions", "agreement", "liability", "liable", "warrant",
    "indemnif", "governing law", "jurisdiction", "arbitration", "you agree", "license", "licence",
    "prohibited", "intellectual property", "nutzungsbedingungen", "haftung", "gewährleistung", "gerichtsstand",
    "geschäftsbedingungen", "conditions générales", "responsabilité", "términos", "responsabilidad",
    "condizioni", "responsabilità", "termos", "voorwaarden", "aansprakelijk", "regulamin", "odpowiedzialno",
    "villkor", "利用規約", "免責", "服务条款", "이용약관", "соглашени", "ответственност", "kullanım koşulları",
    "sorumluluk",
)
LOGIN_TEXT_TERMS = (
    "password", "passwort", "mot de passe", "contraseña", "senha", "wachtwoord", "hasło", "lösenord",
    "パスワード", "密码", "密碼", "비밀번호", "пароль", "şifre", "sign in", "log in", "login", "anmelden",
    "einloggen", "se connecter", "connexion", "iniciar sesión", "accedi", "inloggen", "zaloguj", "logga in",
    "ログイン", "登录", "登入", "로그인", "войти", "giriş yap", "forgot", "username", "benutzername",
    "remember me", "angemeldet bleiben",
)

FEATURES = (
    "length", "privacy terms", "privacy vocabulary", "privacy in title", "terms vocabulary", "terms in title",
    "cookie share", "login vocabulary", "password field", "soft 404",
)
# What it means when a feature pulls a page below the line.
REASONS = {
    "length": "too short to be a privacy policy",
    "privacy terms": "too few privacy-policy terms",
    "privacy vocabulary": "too little privacy-policy vocabulary",
    "privacy in title": "its title does not name privacy",
    "terms vocabulary": "reads as terms of service, not a privacy policy",
    "terms in title": "reads as terms of service, not a privacy policy",
    "cookie share": "reads as a cookie notice, not a privacy policy",
    "login vocabulary": "reads as a login page",
    "password field": "reads as a login page",
    "soft 404": "a 'page not found' page served as a normal page (soft 404)",
}

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
_DROPPED = ("script", "style", "noscript", "template", "svg")


@dataclass(frozen=True)
class Document:
    """A page as the check reads it."""

    title: str
    text: str
    has_password_field: bool = False
    heading: str = ""


@dataclass(frozen=True)
class Verdict:
    is_policy: bool
    probability: float
    reason: str
    contributions: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Model:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    trained_on: dict

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "Model":
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was trained on other features; run python -m crawler.discovery.train")
        return cls(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                   float(data["bias"]), data.get("trained_on", {}))

    def to_json(self) -> str:
        return json.dumps({
            "features": list(self.features), "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale], "weights": [round(v, 6) for v in self.weights],
            "bias": round(self.bias, 6), "trained_on": self.trained_on,
        }, indent=2, ensure_ascii=False) + "\n"

    def describe(self) -> str:
        """The weights, one per line, as ``policytrack`` would print them."""
        lines = [f"{'feature':<20} {'weight':>8} {'mean':>8} {'scale':>8}  (weight per standard deviation)"]
        for name, weight, mean, scale in zip(self.features, self.weights, self.mean, self.scale):
            lines.append(f"{name:<20} {weight:>+8.3f} {mean:>8.3f} {scale:>8.3f}")
        lines.append(f"{'bias':<20} {self.bias:>+8.3f}")
        return "\n".join(lines)


def read_document(data: bytes | str, content_type: str | None = None) -> Document:
    """Title and visible text of an HTML page (scripts and styles dropped)."""
    root = parse_document(data, content_type)
    if root is None:
        return Document("", "")
    title = " ".join((root.findtext(".//title") or "").split())
    password = any((field.get("type") or "").lower() == "password" for field in root.iter("input"))
    first_heading = next(root.iter("h1", "h2"), None)
    heading = " ".join(first_heading.text_content().split()) if first_heading is not None else ""
    for element in list(root.iter(*_DROPPED)):
        element.drop_tree()
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    return Document(title, "\n".join(line.strip() for line in text.splitlines() if line.strip()), password, heading)


def _count(text: str, terms: tuple[str, ...]) -> int:
    return sum(text.count(term) for term in terms)


def word_count(text: str) -> int:
    """Words of alphabetic scripts plus one word per two CJK characters."""
    cjk = len(_CJK.findall(text))
    return len(_WORDS.findall(_CJK.sub(" ", text))) + cjk // 2


def features(document: Document) -> dict[str, float]:
    """The named feature values of ``document``: counts as log10(1 + n), densities as hits per 100 words
    (capped at 20), flags as 0/1."""
    text = kw.normalize_text(document.text)
    title = kw.normalize_text(document.title)
    heading = kw.normalize_text(document.heading)
    words = word_count(text)
    # Densities are taken over at least DENSITY_FLOOR words: two mentions of "privacy" on a 30-word login
    # page are not a privacy policy's density.
    per_100 = 100.0 / max(words, DENSITY_FLOOR)
    privacy_hits = _count(text, PRIVACY_TEXT_TERMS)
    cookie_hits = _count(text, kw.COOKIE_WORDS)
    named = f"{title} {heading}"
    return {
        "length": math.log10(words + 1),
        "privacy terms": math.log10(privacy_hits + 1),
        "privacy vocabulary": min(privacy_hits * per_100, 20.0),
        "privacy in title": 1.0 if kw.find(named, kw.ALL_PRIVACY_WORDS) else 0.0,
        "terms vocabulary": min(_count(text, TERMS_TEXT_TERMS) * per_100, 20.0),
        "terms in title": 1.0 if kw.find(title, kw.TERMS_WORDS) and not kw.find(named, kw.ALL_PRIVACY_WORDS) else 0.0,
        "cookie share": cookie_hits / (privacy_hits + cookie_hits + 1),
        "login vocabulary": min(_count(text, LOGIN_TEXT_TERMS) * per_100, 20.0),
        "password field": 1.0 if document.has_password_field else 0.0,
        "soft 404": 1.0 if looks_like_soft_404(document.title, document.text) else 0.0,
    }


def check(document: Document, model: Model | None = None) -> Verdict:
    """Accept or reject ``document`` as a privacy policy, with the probability and the reason."""
    model = model or _default_model()
    values = features(document)
    contributions = tuple(
        (name, weight * (values[name] - mean) / scale)
        for name, weight, mean, scale in zip(model.features, model.weights, model.mean, model.scale)
    )
    logit = model.bias + sum(value for _, value in contributions)
    probability = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
    is_policy = probability >= 0.5
    if is_policy:
        strongest = sorted((c for c in contributions if c[1] > 0), key=lambda c: -c[1])[:3]
        reason = f"reads as a privacy policy (p={probability:.2f}; " + ", ".join(
            f"{name} {value:+.1f}" for name, value in strongest) + ")"
    else:
        name = diagnose(values) or min(contributions, key=lambda c: c[1])[0]
        reason = f"{REASONS[name]} (p={probability:.2f}; {name} = {values[name]:.3g})"
    return Verdict(is_policy, probability, reason, contributions)


def diagnose(values: dict[str, float]) -> str | None:
    """Which kind of non-policy a rejected page is, by plain rules over its features (None: no kind fits).

    The model decides accept/reject; these rules only name the kind, because the training data holds too
    few cookie notices, logins, soft 404s and terms pages for their weights to say it reliably.
    """
    if values["soft 404"]:
        return "soft 404"
    if values["password field"]:
        return "password field"
    if values["login vocabulary"] >= 2.0:
        return "login vocabulary"
    if values["cookie share"] >= 0.5:
        return "cookie share"
    if values["terms in title"] or values["terms vocabulary"] > values["privacy vocabulary"]:
        return "terms vocabulary"
    return None


def check_page(data: bytes | str, content_type: str | None = None, model: Model | None = None) -> Verdict:
    return check(read_document(data, content_type), model)


_MODEL: Model | None = None


def _default_model() -> Model:
    global _MODEL
    if _MODEL is None:
        _MODEL = Model.load()
    return _MODEL


# --- training data and evaluation (used by train.py and bench/discovery.py) ---

@dataclass(frozen=True)
class Example:
    name: str
    source: str  # "corpus", "realpages" or "handwritten"
    document: Document
    is_policy: bool


def load_examples(corpus: Path, realpages: Path) -> list[Example]:
    """Corpus policies (positives), real non-policy pages and the hand-written negatives."""
    examples = []
    with (corpus / "index.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            data = (corpus / row["html_file"]).read_text(encoding="utf-8")
            examples.append(Example(row["html_file"], "corpus", read_document(data), True))
    with (realpages / "index.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["file"] in NOT_NEGATIVE:
                continue
            data = (realpages / "pages" / row["file"]).read_bytes()
            examples.append(Example(row["file"], "realpages", read_document(data), False))
    for item in json.loads(HANDWRITTEN_PATH.read_text(encoding="utf-8")):
        examples.append(Example(item["name"], "handwritten", read_document(item["html"]), False))
    return examples


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(training, held out): a fixed share of real examples chosen by a hash of their name; hand-written
    pages always train."""
    train, held_out = [], []
    for example in examples:
        digest = int(hashlib.sha256(example.name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (held_out if example.source != "handwritten" and digest < HELD_OUT_SHARE else train).append(example)
    return train, held_out


def evaluate(examples: list[Example], model: Model | None = None) -> dict:
    tp = fp = fn = 0
    for example in examples:
        accepted = check(example.document, model).is_policy
        tp += accepted and example.is_policy
        fp += accepted and not example.is_policy
        fn += example.is_policy and not accepted
    positives = sum(example.is_policy for example in examples)
    return {
        "tp": tp, "fp": fp, "fn": fn, "positives": positives, "negatives": len(examples) - positives,
        "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / positives if positives else 1.0,
    }
