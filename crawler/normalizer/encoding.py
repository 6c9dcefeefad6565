"""Decode an archived HTML capture to text the way the browser that made the corpus did.

The corpus documents were extracted by headless Chromium with an en-US profile, so the only decoding
that reproduces them is Chromium's: a byte-order mark, else the HTTP ``charset``, else a ``<meta>``
declaration (prescan), else Chromium's detector for unlabelled documents, else windows-1252.

Labels are resolved with the WHATWG Encoding Standard's table through ``webencodings`` (``iso-8859-1``
and ``ascii`` mean windows-1252, ``gb2312`` means GBK, ``shift_jis`` means Windows-31J...). The meta
prescan is our own because no library does Chromium's: w3lib matches a regex over the first 4 KiB and
html5lib's (private) prescan stops at 1024 bytes, while Chromium keeps reading a long ``<head>``.

Unlabelled documents: Chromium runs Compact Encoding Detection (CED) over the start of the document
with no language hint for http(s) pages, and *refuses a UTF-8 answer* (``text_encoding_detector.cc``:
detection is for legacy encodings only), so unlabelled UTF-8 becomes the locale default, windows-1252
for en-US. CED has no Python binding; ``chardet`` (restricted to the modern web's encodings) stands in
for it, and where it has only thin evidence for anything but windows-1252 the en-US default wins, as
CED's answer then is its default.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

import webencodings

# The WHATWG GBK decoder is the gb18030 decoder (Python's gbk codec lacks the 0x80 euro and 4-byte forms).
_PYTHON_CODEC = {"gbk": "gb18030"}
# The en-US default of Chromium (and of the WHATWG "locale fallback" for most locales).
DEFAULT_ENCODING = "windows-1252"
# The detector reads this much of an unlabelled document: Chromium detects on the first buffer it gets.
_DETECT_BYTES = 64 * 1024
# Below this chardet confidence an answer other than windows-1252 is too thin to move off the default.
_MIN_CONFIDENCE = 0.05
_ASCII_WS = b"\t\n\x0c\r "
# chardet answers with Python codec names; these are the ones that are not also WHATWG labels.
_FROM_PYTHON_CODEC = {"cp949": "euc-kr", "cp932": "shift_jis", "big5hkscs": "big5", "mac-roman": "macintosh"}


def lookup(label: str | None) -> str | None:
    """WHATWG "get an encoding": the (lowercase) encoding name for ``label``, or None if unknown."""
    if not label:
        return None
    found = webencodings.lookup(label)
    return found.name if found is not None else None


def _c1_passthrough(error: UnicodeDecodeError) -> tuple[str, int]:
    """windows-125x positions Python leaves undefined are C1 controls in the WHATWG indexes."""
    byte = error.object[error.start]
    if 0x80 <= byte <= 0x9F:
        return chr(byte), error.start + 1
    return "\ufffd", error.start + 1


codecs.register_error("policytrack-c1", _c1_passthrough)


def decode_as(data: bytes, name: str) -> str:
    """Decode with a WHATWG encoding (errors become U+FFFD, as in browsers)."""
    if name == "replacement":
        return "\ufffd" if data else ""
    info = codecs.lookup(_PYTHON_CODEC[name]) if name in _PYTHON_CODEC else webencodings.lookup(name).codec_info
    errors = "policytrack-c1" if info.name.startswith("cp125") or info.name == "cp874" else "replace"
    return info.decode(data, errors)[0]


def bom_encoding(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16be"
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16le"
    return None


_BOM_LENGTH = {"utf-8": 3, "utf-16be": 2, "utf-16le": 2}


def content_type_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type value (quoted or not), unresolved."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            return value.strip() or None
    return None


def extract_from_meta_content(content: bytes) -> str | None:
    """WHATWG "extract a character encoding from a meta element" (the ``content`` attribute)."""
    pos = 0
    lower = content.lower()
    while True:
        pos = lower.find(b"charset", pos)
        if pos < 0:
            return None
        pos += 7
        while pos < len(content) and content[pos] in _ASCII_WS:
            pos += 1
        if pos < len(content) and content[pos] == ord("="):
            break
    pos += 1
    while pos < len(content) and content[pos] in _ASCII_WS:
        pos += 1
    if pos >= len(content):
        return None
    quote = content[pos]
    if quote in b"\"'":
        end = content.find(bytes([quote]), pos + 1)
        if end < 0:
            return None
        return lookup(content[pos + 1:end].decode("latin-1"))
    end = pos
    while end < len(content) and content[end] not in _ASCII_WS + b";":
        end += 1
    return lookup(content[pos:end].decode("latin-1"))


class _Prescan:
    """WHATWG "prescan a byte stream to determine its encoding", over a bytes object.

    Beyond the first 1024 bytes it keeps going only while it is still inside the head (as Chromium's
    meta-charset scanner does, and as the parser's "change the encoding" step would honour), stopping
    at the first element that cannot be in a head.
    """

    _HEAD_TAGS = frozenset({b"html", b"head", b"meta", b"title", b"script", b"style", b"link", b"base",
                            b"noscript", b"object", b"param", b"template", b"bgsound", b"basefont"})
    _RAW_TEXT = (b"script", b"style", b"title", b"textarea", b"noscript", b"template")

    def __init__(self, data: bytes, unconditional: int = 1024):
        self.data = data
        self.lower = data.lower()
        self.unconditional = unconditional
        self.pos = 0

    def run(self) -> str | None:
        data, lower, n = self.data, self.lower, len(self.data)
        while self.pos < n:
            if lower.startswith(b"<!--", self.pos):
                end = data.find(b"-->", self.pos + 2)
                self.pos = n if end < 0 else end + 3
            elif lower.startswith(b"<meta", self.pos) and self.pos + 5 < n and data[self.pos + 5] in _ASCII_WS + b"/":
                self.pos += 6
                found = self._meta()
                if found:
                    return found
            elif data.startswith(b"<", self.pos) and self.pos + 1 < n and (
                (chr(data[self.pos + 1]).isascii() and chr(data[self.pos + 1]).isalpha())
                or (data[self.pos + 1] == ord("/") and self.pos + 2 < n
                    and chr(data[self.pos + 2]).isascii() and chr(data[self.pos + 2]).isalpha())
            ):
                closing = data[self.pos + 1] == ord("/")
                start = self.pos + (2 if closing else 1)
                end = start
                while end < n and data[end] not in _ASCII_WS + b"/>":
                    end += 1
                name = lower[start:end]
                if (not closing and self.pos >= self.unconditional and name not in self._HEAD_TAGS):
                    return None
                self.pos = end
                while self._attribute() is not None:
                    pass
                if not closing and name in self._RAW_TEXT:
                    close = lower.find(b"</" + name, self.pos)
                    self.pos = n if close < 0 else close
            elif data.startswith((b"<!", b"</", b"<?"), self.pos):
                end = data.find(b">", self.pos + 1)
                self.pos = n if end < 0 else end + 1
            else:
                self.pos += 1
        return None

    def _meta(self) -> str | None:
        seen: set[bytes] = set()
        got_pragma = False
        need_pragma: bool | None = None
        charset: str | None = None
        while True:
            attr = self._attribute()
            if attr is None:
                break
            name, value = attr
            if name in seen:
                continue
            seen.add(name)
            if name == b"http-equiv":
                if value.lower() == b"content-type":
                    got_pragma = True
            elif name == b"content":
                if charset is None:
                    found = extract_from_meta_content(value)
                    if found is not None:
                        charset, need_pragma = found, True
            elif name == b"charset":
                charset, need_pragma = lookup(value.decode("latin-1")), False
        if need_pragma is None or (need_pragma and not got_pragma) or charset is None:
            return None
        if charset in ("utf-16be", "utf-16le"):
            return "utf-8"
        if charset == "x-user-defined":
            return "windows-1252"
        return charset

    def _attribute(self) -> tuple[bytes, bytes] | None:
        """WHATWG "get an attribute"; None at the end of the tag (position is then after '>')."""
        data, n = self.data, len(self.data)
        while self.pos < n and data[self.pos] in _ASCII_WS + b"/":
            self.pos += 1
        if self.pos >= n:
            return None
        if data[self.pos] == ord(">"):
            self.pos += 1
            return None
        name = bytearray()
        value = bytearray()
        while True:
            if self.pos >= n:
                return None
            c = data[self.pos]
            if c == ord("=") and name:
                self.pos += 1
                break
            if c in _ASCII_WS:
                while self.pos < n and data[self.pos] in _ASCII_WS:
                    self.pos += 1
                if self.pos >= n:
                    return None
                if data[self.pos] != ord("="):
                    return bytes(name), b""
                self.pos += 1
                break
            if c in b"/>":
                return bytes(name), b""
            name.append(c + 0x20 if 0x41 <= c <= 0x5A else c)
            self.pos += 1
        while self.pos < n and data[self.pos] in _ASCII_WS:
            self.pos += 1
        if self.pos >= n:
            return None
        c = data[self.pos]
        if c in b"\"'":
            end = data.find(bytes([c]), self.pos + 1)
            if end < 0:
                self.pos = n
                return None
            value = bytearray(data[self.pos + 1:end])
            self.pos = end + 1
            return bytes(name), bytes(value)
        if c == ord(">"):
            return bytes(name), b""
        while self.pos < n and data[self.pos] not in _ASCII_WS + b">":
            value.append(data[self.pos])
            self.pos += 1
        return bytes(name), bytes(value)


def meta_encoding(data: bytes) -> str | None:
    """The encoding a ``<meta charset>`` / ``http-equiv`` declaration in the head names, if any."""
    return _Prescan(data).run()


def _python_codec_encoding(codec: str | None) -> str | None:
    try:
        return _FROM_PYTHON_CODEC.get(codecs.lookup(codec or "").name)
    except LookupError:
        return None


def detect_encoding(data: bytes) -> str:
    """An unlabelled document's encoding as Chromium (en-US) settles it; see the module docstring."""
    sample = data[:_DETECT_BYTES]
    if sample.isascii():
        return DEFAULT_ENCODING
    import chardet
    from chardet import EncodingEra

    guess = chardet.detect(sample, encoding_era=EncodingEra.MODERN_WEB, prefer_superset=True)
    name = lookup(guess["encoding"]) or _python_codec_encoding(guess["encoding"])
    if name is None or name in ("utf-8", "utf-16be", "utf-16le", "replacement", "x-user-defined"):
        return DEFAULT_ENCODING
    if name != DEFAULT_ENCODING and (guess["confidence"] or 0.0) < _MIN_CONFIDENCE:
        return DEFAULT_ENCODING
    return name


def decode_html(data: bytes, content_types: Iterable[str | None] = ()) -> tuple[str, str]:
    """Decode an HTML payload; returns ``(text, WHATWG encoding name)``.

    ``content_types`` are the capture's Content-Type values in order of authority; the first one with
    a charset the WHATWG table knows is used (an unknown label is ignored, as browsers do).
    """
    name = bom_encoding(data)
    if name is not None:
        return decode_as(data[_BOM_LENGTH[name]:], name), name
    for content_type in content_types:
        name = lookup(content_type_charset(content_type))
        if name is not None:
            return decode_as(data, name), name
    name = meta_encoding(data) or detect_encoding(data)
    return decode_as(data, name), name
