"""PDF captures -> a title and a markdown body, through pypdf's text extraction.

Some sites publish their policy only as a PDF. There is no corpus form to match for these, so the
body is the extracted text with whitespace tidied: pages become paragraphs separated by blank lines,
and the body ends with a blank line like html2text's output does.

pypdf is pure Python and a damaged or hostile file can keep it busy or growing for as long as it
likes, so :func:`extract_pdf` runs it in a child process (``python -m crawler.normalizer.pdf``) with a
timeout and an address-space limit, like the Node step: only that document fails.
"""

from __future__ import annotations

import io
import json
import logging
import re
import resource
import subprocess
import sys

from core.errors import NotNormalizable

# Address-space limit of the extraction process: pypdf on a sane policy PDF stays far below it.
PDF_MEMORY_LIMIT = 1 << 30

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


def extract_pdf(payload: bytes, timeout: float) -> tuple[str, str]:
    """:func:`pdf_to_markdown` in a child process; also raises NotNormalizable('pdf-timeout')."""
    try:
        done = subprocess.run([sys.executable, "-m", "crawler.normalizer.pdf"], input=payload,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NotNormalizable(f"PDF extraction did not finish within {timeout:g}s", reason="pdf-timeout") from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise NotNormalizable(f"PDF extraction failed: {detail[0][:300]}", reason="pdf-unreadable") from None
    if "reason" in answer:
        raise NotNormalizable(answer["error"], reason=answer["reason"])
    return answer["title"], answer["body"]


def main() -> int:
    """Child side of :func:`extract_pdf`: PDF bytes on stdin, one JSON object on stdout.

    The memory limit is set here, in the child, rather than with ``preexec_fn``: the parent calls from
    many threads, where a ``preexec_fn`` can deadlock between fork and exec.
    """
    resource.setrlimit(resource.RLIMIT_AS, (PDF_MEMORY_LIMIT, PDF_MEMORY_LIMIT))
    try:
        title, body = pdf_to_markdown(sys.stdin.buffer.read())
        answer = {"title": title, "body": body}
    except NotNormalizable as exc:
        answer = {"reason": exc.reason, "error": str(exc)}
    except MemoryError:
        answer = {"reason": "pdf-unreadable", "error": "PDF extraction ran out of memory"}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
