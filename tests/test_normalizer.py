"""The normalizer end to end on hand-written captures: real Node workers, real Readability.js, html2text."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crawler.normalizer import NORMALIZER_VERSION, CaptureMeta, Normalized, Normalizer, normalize
from core.document import content_sha256, header_line, render_document, to_comparable
from core.errors import NotNormalizable

FIXTURES = Path(__file__).parent / "fixtures" / "normalizer"
URL = "http://www.example.com/legal/privacy.html"
TS = "20140102030405"
SNAPSHOT = "https://web.archive.org/web/20140102030405id_/http%3A//www.example.com/legal/"
UTF8 = (("Content-Type", "text/html; charset=utf-8"),)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def meta(timestamp: str = TS, headers=(), mimetype: str | None = None, site: str = "example.com") -> CaptureMeta:
    return CaptureMeta(site=site, original_url=URL, timestamp=timestamp, headers=headers, mimetype=mimetype)


@pytest.fixture(scope="module")
def normalizer():
    with Normalizer(workers=2, timeout=60) as instance:
        yield instance


def minimal_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A one-page PDF with text in Helvetica, xref offsets computed (no PDF library needed)."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    if title:
        objects.append(f"<< /Title ({title}) >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    info = f" /Info {len(objects)} 0 R" if title else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --- extraction and the corpus form ---------------------------------------------------------------

def test_article_is_extracted_into_the_corpus_document_form(normalizer):
    result = normalizer.normalize(fixture("policy.html"), meta(site="examplewidgets.com"))
    assert isinstance(result, Normalized)
    assert result.extraction == "readability"
    assert result.encoding == "utf-8"
    assert result.normalizer_version == NORMALIZER_VERSION
    assert result.title == "Privacy Policy | Example Widgets"
    # Header names the tracked site (not the URL's host) and the capture date.
    assert result.document.startswith(header_line("examplewidgets.com", URL, TS) + "\n\n# Privacy Policy | Example Widgets\n\n")
    assert "archived on 2014-01-02" in result.document
    assert result.document == render_document("examplewidgets.com", URL, TS, result.title, result.body)
    assert "## Information we collect\n\n" in result.body
    assert "We never sell your personal information" in result.body
    # Navigation, footer and never-run scripts are not part of the article.
    assert "Shop" not in result.body
    assert "Terms" not in result.body
    assert "written by a script" not in result.body
    # html2text with body_width=0: a long paragraph stays on one line.
    assert any(len(line) > 200 for line in result.body.splitlines())


def test_relative_links_resolve_against_the_raw_snapshot_url(normalizer):
    body = normalizer.normalize(fixture("policy.html"), meta()).body
    assert f"[contact page]({SNAPSHOT}contact.html)" in body
    assert f"[cookie notice]({SNAPSHOT}cookies.html)" in body  # ../legal/cookies.html from /legal/
    assert "[about page](https://www.example.com/about/)" in body  # absolute links untouched
    assert "[privacy@example.com](mailto:privacy@example.com)" in body


def test_comparable_form_is_equal_for_identical_bytes_captured_on_two_dates(normalizer):
    payload = fixture("policy.html")
    first = normalizer.normalize(payload, meta("20140102030405"))
    second = normalizer.normalize(payload, meta("20150607080910"))
    # The exact bodies differ (each links to its own snapshot)...
    assert first.body != second.body
    assert "20150607080910id_" in second.body and "20140102030405id_" not in second.body
    # ...but they are one version.
    assert first.comparable_body == second.comparable_body
    assert first.comparable_title == second.comparable_title
    assert first.content_sha256 == second.content_sha256
    assert first.content_sha256 == content_sha256(first.comparable_title, first.comparable_body)
    assert first.comparable_body == to_comparable(first.body, "20140102030405")
    # Rendering the stored comparable form for a capture gives that capture's exact document.
    assert render_document("example.com", URL, "20150607080910", second.comparable_title,
                           first.comparable_body) == second.document


def test_same_input_gives_the_same_output_on_any_worker(normalizer):
    payload = fixture("policy.html")
    with ThreadPoolExecutor(6) as executor:
        results = list(executor.map(lambda _: normalizer.normalize(payload, meta()), range(6)))
    assert all(result == results[0] for result in results)


def test_convenience_function_is_the_same_thing(normalizer):
    payload = fixture("policy.html")
    assert normalize(payload, meta(), normalizer) == normalizer.normalize(payload, meta())


# --- fallback and captures that give no document -----------------------------------------------------

def test_whole_body_fallback_is_flagged_when_readability_finds_no_article(normalizer):
    result = normalizer.normalize(fixture("textarea-policy.html"), meta())
    assert result.extraction == "fallback"
    assert result.title == "Legal notices"
    assert "# Privacy statement" in result.body
    assert "We collect your name and e-mail address when you register" in result.body


def test_frameset_page_has_no_text(normalizer):
    with pytest.raises(NotNormalizable) as caught:
        normalizer.normalize(fixture("frameset.html"), meta())
    assert caught.value.reason == "no-text"


@pytest.mark.parametrize("payload", [b"", b"  \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n"])
def test_empty_capture(normalizer, payload):
    with pytest.raises(NotNormalizable) as caught:
        normalizer.normalize(payload, meta(headers=UTF8))
    assert caught.value.reason == "empty"


@pytest.mark.parametrize("payload, headers, mimetype", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", (("Content-Type", "image/png"),), "image/png"),
    (b'{"privacy": "policy"}', (("Content-Type", "application/json"),), None),
    (b"body { color: red }", (), "text/css"),
    (b"Our privacy policy, in plain text.\n", (("Content-Type", "text/plain"),), None),
    (b"\x00\x01\x02binary", (), "application/octet-stream"),
])
def test_non_html_capture_is_unsupported(normalizer, payload, headers, mimetype):
    with pytest.raises(NotNormalizable) as caught:
        normalizer.normalize(payload, meta(headers=headers, mimetype=mimetype))
    assert caught.value.reason == "unsupported-type"


def test_mislabelled_html_is_sniffed(normalizer):
    # Archives record 'unk' or octet-stream for some HTML pages; the markup decides.
    result = normalizer.normalize(fixture("policy.html"), meta(headers=(("Content-Type", "application/octet-stream"),),
                                                              mimetype="unk"))
    assert result.extraction == "readability"
    assert "Information we collect" in result.body


def test_cdx_mimetype_is_used_when_headers_are_missing(normalizer):
    result = normalizer.normalize(fixture("policy.html"), meta(mimetype="text/html"))
    assert result.title == "Privacy Policy | Example Widgets"


def test_capture_metadata_is_validated():
    with pytest.raises(ValueError, match="14 digits"):
        CaptureMeta(site="example.com", original_url=URL, timestamp="2014")
    with pytest.raises(ValueError):
        CaptureMeta(site="", original_url=URL, timestamp=TS)


# --- PDF ------------------------------------------------------------------------------------------

def test_pdf_capture_becomes_markdown(normalizer):
    payload = minimal_pdf(["Privacy Policy of Example", "We collect your e-mail address.", "We never sell it."],
                          title="Example Privacy Policy")
    result = normalizer.normalize(payload, meta(headers=(("Content-Type", "application/pdf"),)))
    assert result.extraction == "pdf"
    assert result.encoding is None
    assert result.title == "Example Privacy Policy"
    assert "We collect your e-mail address." in result.body
    assert result.body.endswith("\n\n")
    assert result.document == render_document("example.com", URL, TS, result.title, result.body)


def test_pdf_is_recognised_by_its_signature_and_titled_by_its_first_line(normalizer):
    payload = minimal_pdf(["Data protection notice", "Your data stays with us."])
    result = normalizer.normalize(payload, meta(mimetype="application/octet-stream"))
    assert result.extraction == "pdf"
    assert result.title == "Data protection notice"


def test_damaged_pdf_is_not_normalizable(normalizer):
    with pytest.raises(NotNormalizable) as caught:
        normalizer.normalize(b"%PDF-1.4\nthis is not really a pdf", meta(headers=(("Content-Type", "application/pdf"),)))
    assert caught.value.reason in {"pdf-unreadable", "no-text"}


def test_pdf_extraction_runs_out_of_process_under_the_timeout():
    payload = minimal_pdf(["Privacy Policy of Example", "We never sell it."])
    # Starting the extraction process alone takes longer than this: the timeout must end it.
    with Normalizer(workers=1, timeout=0.001) as impatient:
        with pytest.raises(NotNormalizable) as caught:
            impatient.normalize(payload, meta(headers=(("Content-Type", "application/pdf"),)))
    assert caught.value.reason == "pdf-timeout"


# --- bounded work for huge pages ----------------------------------------------------------------------

def test_huge_page_is_reduced_before_extraction(normalizer):
    from crawler.normalizer.oversize import MAX_DOCUMENT_CHARS

    policy = "".join(f"<p>Paragraph {n} of our privacy policy explains what we collect and why.</p>" for n in range(40))
    bulk = "<script>var blob = '" + "x" * MAX_DOCUMENT_CHARS + "';</script>"
    page = f"<html><head><title>Privacy</title>{bulk}</head><body><article>{policy}</article></body></html>"
    result = normalizer.normalize(page.encode(), meta(headers=UTF8))
    assert result.extraction == "readability-oversize"
    assert "Paragraph 39 of our privacy policy" in result.body
    # Small pages are never touched.
    small = normalizer.normalize(f"<html><body><article>{policy}</article></body></html>".encode(), meta(headers=UTF8))
    assert small.extraction == "readability"


def test_huge_markup_skips_readability_and_is_extracted_whole(normalizer):
    from crawler.normalizer.oversize import MAX_DOCUMENT_CHARS

    # Dense markup well past the limit: Readability would take minutes on it (see oversize.py).
    filler = "<div><p>More words of the page.</p></div>" * (MAX_DOCUMENT_CHARS // 30)
    page = (f"<html><head><title>Privacy</title><style>p{{}}</style></head><body><h1>Privacy policy</h1>"
            f"<p>We collect your e-mail address.</p>{filler}</body></html>")
    result = normalizer.normalize(page.encode(), meta(headers=UTF8))
    assert result.extraction == "fallback-oversize"
    assert result.body.startswith("# Privacy policy\n\nWe collect your e-mail address.")
    assert "p{}" not in result.body


def test_reduction_cuts_bulk_then_falls_back_to_a_cut_whole_body():
    from crawler.normalizer.oversize import reduce

    assert reduce("<p>short</p>", limit=100) is None
    page = "<p>keep</p><style>" + "a{}" * 50 + "</style><!--" + "c" * 50 + "--><p>also kept</p>"
    reduced = reduce(page, limit=60)
    assert reduced.html == "<p>keep</p><style></style><p>also kept</p>" and reduced.readability
    text = "<p>" + "word " * 30 + "</p><p>" + "more " * 30 + "</p>"
    reduced = reduce(text, limit=100, fallback_limit=200)
    assert not reduced.readability
    assert len(reduced.html) <= 200 and reduced.html.endswith("</p>") and reduced.html.startswith("<p>word")


# --- decoding like a browser ----------------------------------------------------------------------

def test_windows_1252_bytes_labelled_iso_8859_1_decode_as_windows_1252(normalizer):
    result = normalizer.normalize(fixture("windows-1252-labelled-latin1.html"), meta())
    assert result.encoding == "windows-1252"
    assert result.title == "Privacy \u2013 Caf\u00e9"
    # 0x93/0x94/0x96/0x80/0x92 are curly quotes, an en dash, the euro sign and an apostrophe, not C1 controls.
    assert "We \u201cvalue\u201d your privacy \u2013 really. Caf\u00e9 visitors\u2019 data costs \u20ac0" in result.body
    assert not any("\x80" <= ch <= "\x9f" for ch in result.body)


def test_utf8_bom_wins_over_meta(normalizer):
    result = normalizer.normalize(fixture("utf8-bom.html"), meta(headers=(("Content-Type", "text/html; charset=iso-8859-1"),)))
    assert result.encoding == "utf-8"
    assert result.title == "Privacy \u2013 Caf\u00e9"
    assert "\ufeff" not in result.document
    assert "\u201cvalue\u201d" in result.body


def test_shift_jis_declared_in_meta(normalizer):
    result = normalizer.normalize(fixture("shift-jis.html"), meta(headers=(("Content-Type", "text/html"),)))
    assert result.encoding == "shift_jis"
    assert result.title == "\u30d7\u30e9\u30a4\u30d0\u30b7\u30fc\u30dd\u30ea\u30b7\u30fc"
    assert "\u500b\u4eba\u60c5\u5831\u4fdd\u8b77\u65b9\u91dd" in result.body


def test_http_charset_wins_over_meta(normalizer):
    payload = fixture("utf8-labelled-latin1.html")  # UTF-8 bytes, <meta ... charset=iso-8859-1>
    declared = normalizer.normalize(payload, meta(headers=(("Content-Type", 'text/html; charset="UTF-8"'),)))
    assert declared.encoding == "utf-8"
    assert "Caf\u00e9 visitors\u2019" in declared.body
    # Without the header a browser believes the meta: the corpus would hold mojibake, and so do we.
    undeclared = normalizer.normalize(payload, meta())
    assert undeclared.encoding == "windows-1252"
    assert "Caf\u00c3\u00a9" in undeclared.body


def test_undeclared_encoding_is_decoded_as_chromium_en_us_does(normalizer):
    text = ("Nous respectons votre vie priv\u00e9e. Les donn\u00e9es collect\u00e9es \u2013 nom, adresse, "
            "num\u00e9ro de t\u00e9l\u00e9phone \u2013 sont conserv\u00e9es \u00ab en s\u00e9curit\u00e9 \u00bb et "
            "ne sont jamais c\u00e9d\u00e9es \u00e0 des tiers. Vos pr\u00e9f\u00e9rences sont modifiables.")
    page = f"<html><head><title>Confidentialit\u00e9</title></head><body><p>{text}</p></body></html>"
    result = normalizer.normalize(page.encode("cp1252"), meta())
    assert result.encoding == "windows-1252"
    assert result.title == "Confidentialit\u00e9"
    assert "\u00ab en s\u00e9curit\u00e9 \u00bb" in result.body
    # Chromium's detector never answers UTF-8 for a web page: unlabelled UTF-8 shows as windows-1252 mojibake.
    result = normalizer.normalize(page.encode("utf-8"), meta())
    assert result.encoding == "windows-1252"
    assert result.title == "Confidentialit\u00c3\u00a9"


# --- Chromium, not the spec DOM, where the two differ (crawler/normalizer/chromium.js) ------------------

def _policy(links: str = "", head: str = "", title: str = "Privacy") -> bytes:
    paragraphs = "".join(f"<p>Paragraph {n}: we collect your e-mail address only to answer you, and we keep "
                         f"it no longer than we need to.</p>" for n in range(5))
    return (f"<html><head><title>{title}</title>{head}</head><body><article><h1>Privacy policy</h1>"
            f"{paragraphs}<p>Contact: {links}</p></article></body></html>").encode()


@pytest.mark.parametrize("href, shown", [
    # Chromium's host canonicalizer percent-escapes these; the WHATWG parser keeps them.
    ("http://privacy!desk.example.com/form", "http://privacy%21desk.example.com/form"),
    ("http://Legal(EU).example.com/?a=1", "http://legal%28eu%29.example.com/?a=1"),
    ("//privacy,desk.example.com/x", "https://privacy%2Cdesk.example.com/x"),  # scheme of the snapshot URL
    # The WHATWG parser rejects a space in a host (the link stays as written); Chromium escapes it.
    ("http://privacy desk.example.com/", "http://privacy%20desk.example.com/"),
    # Chromium rejects '~' in a host (the link stays as written); the WHATWG parser accepts it.
    ("http://privacy~desk.example.com/", "http://privacy~desk.example.com/"),
    # UTS #46 transitional processing: sharp s maps to "ss" instead of becoming punycode.
    ("http://stra\u00dfe.example/datenschutz", "http://strasse.example/datenschutz"),
    # Ordinary links are unchanged.
    ("/contact?x=1", "https://web.archive.org/contact?x=1"),
])
def test_links_resolve_as_chromium_serializes_them(normalizer, href, shown):
    result = normalizer.normalize(_policy(f'<a href="{href}">write to us</a>'), meta(headers=UTF8))
    assert f"[write to us]({shown})" in result.body


def test_title_control_characters_are_whitespace_as_in_chromium(normalizer):
    result = normalizer.normalize(_policy(title="\x01Privacy\x1f\x7f Policy\x0b!"), meta(headers=UTF8))
    # U+0001, U+001F and U+007F are whitespace to Chromium; U+000B (vertical tab) is not.
    assert result.title == "Privacy Policy\x0b!"


def test_noscript_is_parsed_with_scripting_enabled_as_in_chromium(normalizer):
    # With scripting disabled (jsdom's default) the <p> ends the head and lands in the body, where
    # Readability appends it to the article; Chromium keeps it as the noscript's text, which is removed.
    head = "<noscript><p>Please enable JavaScript to read this policy.</p></noscript><meta name=x content=y>"
    result = normalizer.normalize(_policy(head=head), meta(headers=UTF8))
    assert "Paragraph 4" in result.body
    assert "enable JavaScript" not in result.body
