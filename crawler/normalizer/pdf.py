"""PDF captures -> a title and a markdown body, through pypdf's text extraction.

Some sites publish their policy only as a PDF. There is no corpus form to match for these, so the
body is the extracted text with whitespace tidied: pages become paragraphs separated by blank lines,
and the body ends with a blank line like html2text's output does.
"""

from __future__ import annotations

import io
import logging
import re

from core.errors import NotNormalizable

_BLANK_RUNS = re.compile(r"\n{3,}")
_TITLE_LIMIT = 300


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def pdf_to_markdown(payload: bytes) -> tuple[str, str]:
    """``(title, body)``; raises NotNormalizable('pdf-unreadable' | 'pdf-encrypted' | 'no-text')."""
    from pypdf import PdfReader

    # pypdf logs every recoverable oddity of real-world files as a warning; they are not ours to report.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(payload))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotNormalizable("PDF is encrypted with a password", reason="pdf-encrypted")
        pages = [_tidy(page.extract_text() or "") for page in reader.pages]
        metadata = reader.metadata
        meta_title = metadata.title if metadata is not None else None
    except NotNormalizable:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf fails in many ways on damaged archived files
        raise NotNormalizable(f"unreadable PDF: {type(exc).__name__}: {exc}", reason="pdf-unreadable") from None
    body = "\n\n".join(page for page in pages if page)
    if not body.strip():
        raise NotNormalizable("PDF has no extractable text (scanned?)", reason="no-text")
    title = " ".join((meta_title or "").split())
    if not title:
        title = next(line.strip() for line in body.split("\n") if line.strip())
    return title[:_TITLE_LIMIT], body + "\n\n"
