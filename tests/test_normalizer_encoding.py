"""Browser-compatible decoding and content-type decisions (pure functions, no Node needed)."""

from __future__ import annotations

import pytest

from crawler.normalizer.content import HTML, PDF, classify, content_types
from crawler.normalizer.encoding import content_type_charset, decode_as, decode_html, lookup, meta_encoding
from core.errors import NotNormalizable


@pytest.mark.parametrize("label, name", [
    ("ISO-8859-1", "windows-1252"),
    (" latin1\t", "windows-1252"),
    ("us-ascii", "windows-1252"),
    ("utf8", "UTF-8"),
    ("x-sjis", "Shift_JIS"),
    ("gb2312", "GBK"),
    ("ks_c_5601-1987", "EUC-KR"),
    ("iso-8859-9", "windows-1254"),
    ("tis-620", "windows-874"),
    ("utf-16", "UTF-16LE"),
    ("no-such-charset", None),
    ("", None),
])
def test_whatwg_labels(label, name):
    assert lookup(label) == name


def test_windows_1252_bytes_python_calls_undefined_are_c1_controls():
    assert decode_as(b"\x93ok\x94 \x81\x8d\x8f\x90\x9d", "windows-1252") == "\u201cok\u201d \x81\x8d\x8f\x90\x9d"


def test_invalid_utf8_becomes_replacement_characters():
    assert decode_as(b"caf\xc3 ok", "UTF-8") == "caf\ufffd ok"


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
    (b'<meta charset="shift_jis">', "Shift_JIS"),
    (b"<META CHARSET=ISO-8859-1>", "windows-1252"),
    (b'<meta http-equiv="Content-Type" content="text/html; charset=euc-jp">', "EUC-JP"),
    (b"<meta content='text/html;charset=koi8-r' http-equiv=content-type>", "KOI8-R"),
    # content= without the http-equiv pragma does not count
    (b'<meta content="text/html; charset=euc-jp">', None),
    # a declaration inside a comment does not count
    (b'<!-- <meta charset="euc-jp"> --><meta charset="big5">', "Big5"),
    # UTF-16 in a meta can only be a lie (the bytes were ASCII-compatible enough to read it)
    (b'<meta charset="utf-16">', "UTF-8"),
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
    assert meta_encoding(b"<html><head>" + padding + b'<meta charset="euc-kr"></head>') == "EUC-KR"
    assert meta_encoding(b"<html><head>" + padding + b'</head><body><p>x</p><meta charset="euc-kr">') is None
    # scripts are skipped: markup inside them is not a declaration
    assert meta_encoding(b"<head><script>document.write('<meta charset=euc-kr>')</script></head>") is None


def test_decoding_precedence_bom_then_header_then_meta_then_detection():
    body = "<meta charset=\"iso-8859-1\"><p>caf\u00e9 \u2013 \u201cok\u201d</p>"
    utf8 = body.encode("utf-8")
    # BOM beats a header that says otherwise.
    assert decode_html(b"\xef\xbb\xbf" + utf8, ["text/html; charset=windows-1252"]) == (body, "UTF-8")
    # Header beats meta.
    assert decode_html(utf8, ["text/html; charset=utf-8"]) == (body, "UTF-8")
    # An unknown header label is ignored: the meta decides.
    text, name = decode_html(utf8, ["text/html; charset=bogus"])
    assert name == "windows-1252" and "caf\u00c3\u00a9" in text
    # No declaration anywhere: detection.
    bare = "<p>caf\u00e9 \u2013 \u201cok\u201d</p>".encode("utf-8")
    assert decode_html(bare, [])[1] == "UTF-8"
    assert decode_html(b"<p>plain ascii</p>", []) == ("<p>plain ascii</p>", "windows-1252")


def test_utf16_with_bom():
    text = "<p>\u00e9t\u00e9</p>"
    assert decode_html(b"\xff\xfe" + text.encode("utf-16-le"), []) == (text, "UTF-16LE")
    assert decode_html(b"\xfe\xff" + text.encode("utf-16-be"), []) == (text, "UTF-16BE")


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
