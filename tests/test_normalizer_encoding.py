"""Browser-compatible decoding and content-type decisions (pure functions, no Node needed)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crawler.normalizer.content import HTML, PDF, classify, content_types
from crawler.normalizer.encoding import content_type_charset, decode_as, decode_html, lookup, meta_encoding
from core.errors import NotNormalizable


@pytest.mark.parametrize("label, name", [
    ("ISO-8859-1", "windows-1252"),
    (" latin1\t", "windows-1252"),
    ("us-ascii", "windows-1252"),
    ("utf8", "utf-8"),
    ("x-sjis", "shift_jis"),
    ("gb2312", "gbk"),
    ("ks_c_5601-1987", "euc-kr"),
    ("iso-8859-9", "windows-1254"),
    ("tis-620", "windows-874"),
    ("utf-16", "utf-16le"),
    ("no-such-charset", None),
    ("", None),
])
def test_whatwg_labels(label, name):
    assert lookup(label) == name


def test_windows_1252_bytes_python_calls_undefined_are_c1_controls():
    assert decode_as(b"\x93ok\x94 \x81\x8d\x8f\x90\x9d", "windows-1252") == "\u201cok\u201d \x81\x8d\x8f\x90\x9d"


def test_invalid_utf8_becomes_replacement_characters():
    assert decode_as(b"caf\xc3 ok", "utf-8") == "caf\ufffd ok"


@pytest.mark.parametrize("value, charset", [
    ("text/html; charset=UTF-8", "UTF-8"),
    ('text/html;charset="iso-8859-1"', "iso-8859-1"),
    ("text/html; Charset='Shift_JIS' ; foo=bar", "Shift_JIS"),
    ("text/html", None),
    (None, None),
])
def test_content_type_charset(value, charset):
    assert content_type_charset(value) == charset


@pytest.mark.parametrize("html, name", [
    (b'<meta charset="shift_jis">', "shift_jis"),
    (b"<META CHARSET=ISO-8859-1>", "windows-1252"),
    (b'<meta http-equiv="Content-Type" content="text/html; charset=euc-jp">', "euc-jp"),
    (b"<meta content='text/html;charset=koi8-r' http-equiv=content-type>", "koi8-r"),
    # content= without the http-equiv pragma does not count
    (b'<meta content="text/html; charset=euc-jp">', None),
    # a declaration inside a comment does not count
    (b'<!-- <meta charset="euc-jp"> --><meta charset="big5">', "big5"),
    # UTF-16 in a meta can only be a lie (the bytes were ASCII-compatible enough to read it)
    (b'<meta charset="utf-16">', "utf-8"),
    (b'<meta charset="x-user-defined">', "windows-1252"),
    # an unknown label is skipped and the next declaration used
    (b'<meta charset="klingon"><meta charset="windows-1251">', "windows-1251"),
    # attribute values are found in other tags without being mistaken for a meta
    (b'<a title="<meta charset=euc-kr>">x</a>', None),
    (b"<p>no declaration</p>", None),
])
def test_meta_prescan(html, name):
    assert meta_encoding(html) == name


def test_meta_late_in_a_long_head_still_counts_but_not_in_the_body():
    padding = b"<script>" + b"var x = 1;\n" * 200 + b"</script>"
    assert meta_encoding(b"<html><head>" + padding + b'<meta charset="euc-kr"></head>') == "euc-kr"
    assert meta_encoding(b"<html><head>" + padding + b'</head><body><p>x</p><meta charset="euc-kr">') is None
    # scripts are skipped: markup inside them is not a declaration
    assert meta_encoding(b"<head><script>document.write('<meta charset=euc-kr>')</script></head>") is None


def test_decoding_precedence_bom_then_header_then_meta_then_detection():
    body = "<meta charset=\"iso-8859-1\"><p>caf\u00e9 \u2013 \u201cok\u201d</p>"
    utf8 = body.encode("utf-8")
    # BOM beats a header that says otherwise.
    assert decode_html(b"\xef\xbb\xbf" + utf8, ["text/html; charset=windows-1252"]) == (body, "utf-8")
    # Header beats meta.
    assert decode_html(utf8, ["text/html; charset=utf-8"]) == (body, "utf-8")
    # An unknown header label is ignored: the meta decides.
    text, name = decode_html(utf8, ["text/html; charset=bogus"])
    assert name == "windows-1252" and "caf\u00c3\u00a9" in text
    # No declaration anywhere: Chromium's detector refuses to answer UTF-8 for web pages, so unlabelled
    # UTF-8 decodes with the en-US default, windows-1252 (the mojibake a browser shows).
    bare = "<p>caf\u00e9 \u2013 \u201cok\u201d</p>".encode("utf-8")
    assert decode_html(bare, []) == (decode_as(bare, "windows-1252"), "windows-1252")
    assert decode_html(b"<p>plain ascii</p>", []) == ("<p>plain ascii</p>", "windows-1252")


def test_utf16_with_bom():
    text = "<p>\u00e9t\u00e9</p>"
    assert decode_html(b"\xff\xfe" + text.encode("utf-16-le"), []) == (text, "utf-16le")
    assert decode_html(b"\xfe\xff" + text.encode("utf-16-be"), []) == (text, "utf-16be")


# --- content type -----------------------------------------------------------------------------------

def test_content_types_in_order_of_authority():
    headers = [("X-Archive-Orig-Content-Type", "text/html; charset=utf-8"), ("content-type", "text/html"),
               ("Content-Type", "text/html; charset=shift_jis")]
    assert content_types(headers, "text/html") == [
        "text/html; charset=shift_jis", "text/html", "text/html; charset=utf-8", "text/html"]


@pytest.mark.parametrize("payload, headers, mimetype, kind", [
    (b"<html><body>x</body></html>", [("Content-Type", "text/html")], None, HTML),
    (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'/>", [("Content-Type", "application/xhtml+xml")], None, HTML),
    (b"  \n<!DOCTYPE html><title>x</title>", [], "unk", HTML),
    (b"<p>Sloppy page", [("Content-Type", "text/plain")], None, HTML),
    (b"<html>x</html>", [("Content-Type", "application/octet-stream")], "text/html", HTML),
    (b"%PDF-1.4 ...", [("Content-Type", "application/pdf")], None, PDF),
    (b"%PDF-1.7 ...", [], "application/octet-stream", PDF),
    (b"\r\n%PDF-1.7 ...", [("Content-Type", "text/html")], None, PDF),
    (b"<html><p>Every PDF file starts with %PDF-1.x</p></html>", [("Content-Type", "text/html")], None, HTML),
    (b"<html><p>Every PDF file starts with %PDF-1.x</p></html>", [], "unk", HTML),
    (b"\x00junk before the header %PDF-1.3 ...", [], "application/octet-stream", PDF),
])
def test_classify(payload, headers, mimetype, kind):
    assert classify(payload, headers, mimetype) == kind


@pytest.mark.parametrize("payload, headers, mimetype", [
    (b"GIF89a...", [("Content-Type", "image/gif")], None),
    (b"<html>but declared as css</html>", [("Content-Type", "text/css")], None),
    (b"just words", [], None),
    (b"<rss version='2.0'></rss>", [], "application/rss+xml"),
])
def test_classify_rejects(payload, headers, mimetype):
    with pytest.raises(NotNormalizable) as caught:
        classify(payload, headers, mimetype)
    assert caught.value.reason == "unsupported-type"


# --- unlabelled pages: as Chromium (en-US) decodes them -----------------------------------------------

REALPAGES = Path(__file__).resolve().parent.parent.parent / "shared" / "realpages" / "pages"
needs_realpages = pytest.mark.skipif(not REALPAGES.is_dir(), reason=f"real pages not found in {REALPAGES}")


class _Text(HTMLParser):
    """The visible text of a page: what is left once scripts, styles and tags are dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _real_text(page: str, limit: int = 3000) -> str:
    parser = _Text()
    parser.feed((REALPAGES / page).read_text("utf-8"))
    return " ".join(" ".join(parser.parts).split())[:limit]


def _unlabelled(text: str, codec: str) -> bytes:
    """A page holding ``text`` in ``codec`` with no charset anywhere (characters it lacks are dropped)."""
    page = f"<html><head><title>Policy</title></head><body><p>{text}</p></body></html>"
    return page.encode(codec, "ignore")


@needs_realpages
@pytest.mark.parametrize("page, codec, name", [
    ("r-lemonde-1.html", "cp1252", "windows-1252"),  # French
    ("r-heise.html", "cp1252", "windows-1252"),  # German: charset-normalizer called it cp1250
    ("r-aktualne.html", "cp1250", "windows-1250"),  # Czech
    ("t-archive.org.przepisy.pl.pierogi.html", "cp1250", "windows-1250"),  # Polish
    ("r-yahoo-4.html", "cp932", "shift_jis"),  # Japanese
    ("t-football.ua.podolski.html", "koi8_r", "koi8-r"),  # Russian
])
def test_unlabelled_real_text_decodes_as_chromium_does(page, codec, name):
    payload = _unlabelled(_real_text(page), codec)
    text, found = decode_html(payload, ["text/html"])
    assert found == name
    assert text == payload.decode(codec)


# No Korean or simplified-Chinese page is among the shared real pages: a privacy notice written for this.
KOREAN = ("개인정보 처리방침. 회사는 이용자의 개인정보를 중요시하며, 정보통신망 이용촉진 및 정보보호에 관한 법률을 "
          "준수하고 있습니다. 회사는 개인정보처리방침을 통하여 고객님께서 제공하시는 개인정보가 어떠한 용도와 방식으로 "
          "이용되고 있으며, 개인정보보호를 위해 어떠한 조치가 취해지고 있는지 알려드립니다. 수집하는 개인정보 항목: "
          "이름, 이메일 주소, 전화번호, 서비스 이용 기록, 접속 로그, 쿠키, 접속 IP 정보.")
CHINESE = ("隐私政策。我们非常重视您的个人信息和隐私保护。本政策说明我们如何收集、使用、存储和共享您的个人信息，"
           "以及您享有的相关权利。我们收集的信息包括您的姓名、电子邮件地址、电话号码、设备信息、日志信息和位置信息。"
           "我们使用这些信息来提供、维护和改进我们的服务，并保护我们和用户的安全。未经您的同意，我们不会向第三方出售"
           "您的个人信息。")


@pytest.mark.parametrize("text, codec, name", [(KOREAN, "cp949", "euc-kr"), (CHINESE, "gb18030", "gb18030")])
def test_unlabelled_cjk_text_decodes_as_chromium_does(text, codec, name):
    payload = _unlabelled(text, codec)
    assert decode_html(payload, []) == (payload.decode(codec), name)


@pytest.mark.parametrize("text", [
    "Our na\u00efve policy: we don\u2019t sell data. \u00a9 2009 M\u00fcller GmbH",
    "Copyright \u00a9 2010 Acme",
    "\u201cQuoted\u201d \u2014 and 10\u20ac",
])
def test_short_unlabelled_latin_text_keeps_the_en_us_default(text):
    # Too little text for a detector to move off the default: Chromium en-US reads windows-1252.
    payload = _unlabelled(text, "cp1252")
    assert decode_html(payload, []) == (payload.decode("cp1252"), "windows-1252")
