"""Decode an archived HTML capture to text the way a browser does.

The corpus documents were extracted by a browser, so the only decoding that reproduces them is the
browser's: a byte-order mark, else the HTTP ``charset``, else a ``<meta>`` declaration, else
detection. Labels are resolved with the WHATWG Encoding Standard's table, which is *not* Python's:
``iso-8859-1`` and ``ascii`` mean windows-1252, ``gb2312`` means GBK, ``shift_jis`` means Windows-31J,
and windows-125x bytes that Python calls undefined decode to C1 controls instead of failing.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

# WHATWG encoding name -> (Python codec, labels). Labels are compared ASCII-lowercased and trimmed.
_ENCODINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "UTF-8": ("utf-8", ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8",
                        "x-unicode20utf8")),
    "IBM866": ("cp866", ("866", "cp866", "csibm866", "ibm866")),
    "ISO-8859-2": ("iso8859_2", ("csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592",
                                 "iso_8859-2", "iso_8859-2:1987", "l2", "latin2")),
    "ISO-8859-3": ("iso8859_3", ("csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593",
                                 "iso_8859-3", "iso_8859-3:1988", "l3", "latin3")),
    "ISO-8859-4": ("iso8859_4", ("csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594",
                                 "iso_8859-4", "iso_8859-4:1988", "l4", "latin4")),
    "ISO-8859-5": ("iso8859_5", ("csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144",
                                 "iso8859-5", "iso88595", "iso_8859-5", "iso_8859-5:1988")),
    "ISO-8859-6": ("iso8859_6", ("arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic",
                                 "ecma-114", "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127",
                                 "iso8859-6", "iso88596", "iso_8859-6", "iso_8859-6:1987")),
    "ISO-8859-7": ("iso8859_7", ("csisolatingreek", "ecma-118", "elot_928", "greek", "greek8",
                                 "iso-8859-7", "iso-ir-126", "iso8859-7", "iso88597", "iso_8859-7",
                                 "iso_8859-7:1987", "sun_eu_greek")),
    "ISO-8859-8": ("iso8859_8", ("csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8",
                                 "iso-8859-8-e", "iso-ir-138", "iso8859-8", "iso88598", "iso_8859-8",
                                 "iso_8859-8:1988", "visual")),
    "ISO-8859-8-I": ("iso8859_8", ("csiso88598i", "iso-8859-8-i", "logical")),
    "ISO-8859-10": ("iso8859_10", ("csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10",
                                   "iso885910", "l6", "latin6")),
    "ISO-8859-13": ("iso8859_13", ("iso-8859-13", "iso8859-13", "iso885913")),
    "ISO-8859-14": ("iso8859_14", ("iso-8859-14", "iso8859-14", "iso885914")),
    "ISO-8859-15": ("iso8859_15", ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915",
                                   "iso_8859-15", "l9")),
    "ISO-8859-16": ("iso8859_16", ("iso-8859-16",)),
    "KOI8-R": ("koi8_r", ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r")),
    "KOI8-U": ("koi8_u", ("koi8-ru", "koi8-u")),
    "macintosh": ("mac_roman", ("csmacintosh", "mac", "macintosh", "x-mac-roman")),
    "windows-874": ("cp874", ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620",
                              "windows-874")),
    "windows-1250": ("cp1250", ("cp1250", "windows-1250", "x-cp1250")),
    "windows-1251": ("cp1251", ("cp1251", "windows-1251", "x-cp1251")),
    "windows-1252": ("cp1252", ("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819",
                                "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1",
                                "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252",
                                "x-cp1252")),
    "windows-1253": ("cp1253", ("cp1253", "windows-1253", "x-cp1253")),
    "windows-1254": ("cp1254", ("cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9",
                                "iso88599", "iso_8859-9", "iso_8859-9:1989", "l5", "latin5",
                                "windows-1254", "x-cp1254")),
    "windows-1255": ("cp1255", ("cp1255", "windows-1255", "x-cp1255")),
    "windows-1256": ("cp1256", ("cp1256", "windows-1256", "x-cp1256")),
    "windows-1257": ("cp1257", ("cp1257", "windows-1257", "x-cp1257")),
    "windows-1258": ("cp1258", ("cp1258", "windows-1258", "x-cp1258")),
    "x-mac-cyrillic": ("mac_cyrillic", ("x-mac-cyrillic", "x-mac-ukrainian")),
    "GBK": ("gb18030", ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80",
                        "gbk", "iso-ir-58", "x-gbk")),
    "gb18030": ("gb18030", ("gb18030",)),
    "Big5": ("big5hkscs", ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5")),
    "EUC-JP": ("euc_jp", ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp")),
    "ISO-2022-JP": ("iso2022_jp", ("csiso2022jp", "iso-2022-jp")),
    "Shift_JIS": ("cp932", ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis",
                            "windows-31j", "x-sjis")),
    "EUC-KR": ("cp949", ("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean",
                         "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949")),
    "replacement": ("", ("csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr",
                         "replacement")),
    "UTF-16BE": ("utf-16-be", ("unicodefffe", "utf-16be")),
    "UTF-16LE": ("utf-16-le", ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff",
                               "utf-16", "utf-16le")),
    "x-user-defined": ("", ("x-user-defined",)),
}

_LABELS: dict[str, str] = {label: name for name, (_, labels) in _ENCODINGS.items() for label in labels}
# Python codec name (as codecs.lookup normalizes it) -> WHATWG name, for detector results.
_FROM_PYTHON: dict[str, str] = {}
for _name, (_codec, _) in _ENCODINGS.items():
    if _codec:
        _FROM_PYTHON.setdefault(codecs.lookup(_codec).name, _name)
for _alias, _name in {"ascii": "windows-1252", "latin-1": "windows-1252", "iso8859-1": "windows-1252",
                      "shift_jis": "Shift_JIS", "gb2312": "GBK", "gbk": "GBK", "big5": "Big5",
                      "euc_kr": "EUC-KR", "iso8859-9": "windows-1254", "iso8859-11": "windows-874",
                      "tis-620": "windows-874"}.items():
    _FROM_PYTHON[codecs.lookup(_alias).name] = _name

_ASCII_WS = b"\t\n\x0c\r "


def lookup(label: str | None) -> str | None:
    """WHATWG "get an encoding": the encoding name for ``label``, or None if it is not a known label."""
    if not label:
        return None
    return _LABELS.get(label.strip("\t\n\x0c\r ").lower())


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
    if name == "x-user-defined":
        return "".join(chr(b) if b < 0x80 else chr(0xF780 + b - 0x80) for b in data)
    codec = _ENCODINGS[name][0]
    errors = "policytrack-c1" if codec.startswith("cp125") or codec == "cp874" else "replace"
    return data.decode(codec, errors=errors)


def bom_encoding(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "UTF-8"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "UTF-16BE"
    if data.startswith(codecs.BOM_UTF16_LE):
        return "UTF-16LE"
    return None


_BOM_LENGTH = {"UTF-8": 3, "UTF-16BE": 2, "UTF-16LE": 2}


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
        if charset in ("UTF-16BE", "UTF-16LE"):
            return "UTF-8"
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


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: bytes) -> str:
    """Undeclared bytes: ASCII or valid UTF-8 decide themselves; otherwise ask charset-normalizer.

    Browsers never guess UTF-16 without a BOM and fall back to windows-1252 for Western locales,
    so anything the detector names that the WHATWG table lacks also ends as windows-1252.
    """
    if data.isascii():
        return "windows-1252"
    if _is_utf8(data):
        return "UTF-8"
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        return "windows-1252"
    try:
        name = _FROM_PYTHON.get(codecs.lookup(best.encoding).name)
    except LookupError:
        name = None
    if name is None or name.startswith("UTF-16"):
        return "windows-1252"
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
