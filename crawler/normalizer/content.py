"""Decide what kind of document a capture is: HTML, PDF, or something we do not normalize.

Archives label captures imperfectly (CDX ``unk``, ``application/octet-stream``, ``text/plain`` for pages
served by misconfigured servers), so a declared type that could be anything is settled by sniffing the
bytes with the HTML and PDF signatures of the WHATWG MIME Sniffing Standard.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import NotNormalizable

HTML = "html"
PDF = "pdf"

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"})
_PDF_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/acrobat", "text/pdf"})
# Types that say nothing reliable about the payload: sniff instead.
_VAGUE_TYPES = frozenset({"", "unk", "unknown", "none", "application/octet-stream", "binary/octet-stream",
                          "application/unknown", "text/plain", "warc/revisit", "application/x-unknown",
                          "application/binary", "*/*"})
# WHATWG MIME Sniffing "identify an unknown MIME type": tags that mark a resource as HTML when they
# are the first thing after leading whitespace and are followed by a space or '>'.
_HTML_SIGNATURES = (b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div",
                    b"<font", b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p",
                    b"<!--", b"<meta", b"<link", b"<center", b"<form", b"<frameset")
_TAG_TERMINATORS = b" \t\n\x0c\r>"


def header_values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    name = name.lower()
    return [value for key, value in headers if key.strip().lower() == name]


def content_types(headers: Sequence[tuple[str, str]], mimetype: str | None) -> list[str]:
    """Candidate Content-Type values, most authoritative first.

    The archived response's own ``Content-Type`` (the last one wins when repeated, as in browsers),
    then Wayback's ``X-Archive-Orig-Content-Type`` copy, then the CDX mimetype.
    """
    found = list(reversed(header_values(headers, "content-type")))
    found += list(reversed(header_values(headers, "x-archive-orig-content-type")))
    if mimetype:
        found.append(mimetype)
    return [value for value in found if value and value.strip()]


def essence(content_type: str) -> str:
    """``Text/HTML; charset=x`` -> ``text/html``."""
    return content_type.split(";", 1)[0].strip().lower()


def looks_like_pdf(payload: bytes) -> bool:
    # Readers accept the header anywhere in the first KiB; archives sometimes keep junk before it.
    return b"%PDF-" in payload[:1024]


def looks_like_html(payload: bytes) -> bool:
    head = payload[:4096]
    for bom in (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe"):
        if head.startswith(bom):
            head = head[len(bom):]
            if bom != b"\xef\xbb\xbf":
                head = head.replace(b"\x00", b"")
            break
    head = head.lstrip(b" \t\n\x0c\r").lower()
    for signature in _HTML_SIGNATURES:
        if head.startswith(signature):
            rest = head[len(signature):len(signature) + 1]
            if signature == b"<!--" or not rest or rest in _TAG_TERMINATORS:
                return True
    # Fragments of sloppy old pages often start with text and still contain markup further on.
    return b"<html" in head or b"<body" in head or b"<p>" in head or b"<br" in head


def classify(payload: bytes, headers: Sequence[tuple[str, str]], mimetype: str | None) -> str:
    """``HTML`` or ``PDF``; raises NotNormalizable('unsupported-type') for anything else.

    The first declared type that says something specific decides; vague ones (``unk``,
    ``application/octet-stream``, ``text/plain``...) defer to the next, then to sniffing.
    """
    declared = [essence(value) for value in content_types(headers, mimetype)]
    specific = next((kind for kind in declared if kind not in _VAGUE_TYPES), "")
    if specific in _PDF_TYPES or payload.lstrip(b" \t\n\r\x0c\x00").startswith(b"%PDF-"):
        return PDF
    if specific in _HTML_TYPES:
        return HTML
    if not specific:
        if looks_like_html(payload):
            return HTML
        if looks_like_pdf(payload):
            return PDF
    shown = specific or (declared[0] if declared else "no content type")
    raise NotNormalizable(f"capture is not HTML or PDF ({shown})", reason="unsupported-type")
