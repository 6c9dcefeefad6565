"""The normalizer: one archived capture's bytes -> its corpus markdown document.

The steps are the reference pipeline's (see docs of the corpus form in ``core.document``):
decode like a browser, parse with jsdom at the raw snapshot URL, Readability.js, html2text. Only the
Readability step runs in Node (a worker pool); decoding and html2text are cheap and run in the
calling thread.
"""

from __future__ import annotations

import os
from types import TracebackType

from crawler.normalizer import content, oversize
from crawler.normalizer.encoding import decode_html
from crawler.normalizer.markdown import check_html2text, to_markdown
from crawler.normalizer.model import CaptureMeta, Normalized
from crawler.normalizer.pdf import extract_pdf
from crawler.normalizer.pool import WorkerPool
from core.document import content_sha256, render_document, snapshot_url, to_comparable
from core.errors import NotNormalizable

# Bump whenever the output for some capture can change (pinned Readability/jsdom/html2text versions,
# decoding rules, fallback or PDF handling), so stored history can be re-normalized.
NORMALIZER_VERSION = "2"


def _is_blank(payload: bytes) -> bool:
    for bom in (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe"):
        if payload.startswith(bom):
            payload = payload[len(bom):]
            break
    return not payload.strip(b" \t\n\r\x0c\x00")


def _result(meta: CaptureMeta, title: str, body: str, extraction: str, encoding: str | None) -> Normalized:
    comparable_title = to_comparable(title, meta.timestamp)
    comparable_body = to_comparable(body, meta.timestamp)
    return Normalized(
        title=title,
        body=body,
        document=render_document(meta.site, meta.original_url, meta.timestamp, title, body),
        extraction=extraction,
        comparable_title=comparable_title,
        comparable_body=comparable_body,
        content_sha256=content_sha256(comparable_title, comparable_body),
        encoding=encoding,
        normalizer_version=NORMALIZER_VERSION,
    )


class Normalizer:
    """Owns the Readability worker pool; ``normalize`` is blocking and safe to call from many threads.

    ``workers`` Node processes (default: one per core) run extractions; further calls wait their turn.
    A worker exceeding ``timeout`` seconds on a document is killed and replaced; a PDF extraction runs
    in its own process under the same timeout; documents above ``oversize.MAX_DOCUMENT_CHARS`` are
    reduced first (see ``oversize.py``).
    """

    def __init__(self, workers: int | None = None, timeout: float = 60.0):
        check_html2text()
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.timeout = timeout
        self._pool = WorkerPool(self.workers, timeout)

    def normalize(self, payload: bytes, meta: CaptureMeta) -> Normalized:
        """Raises NotNormalizable (reasons: empty, unsupported-type, no-text, pdf-*, extractor-*)."""
        if _is_blank(payload):
            raise NotNormalizable("capture body is empty", reason="empty")
        kind = content.classify(payload, meta.headers, meta.mimetype)
        if kind == content.PDF:
            title, body = extract_pdf(payload, self.timeout)
            return _result(meta, title, body, "pdf", None)
        text, encoding = decode_html(payload, content.content_types(meta.headers, meta.mimetype))
        if not text.strip():
            raise NotNormalizable("capture body is empty", reason="empty")
        reduced = oversize.reduce(text)
        url = snapshot_url(meta.timestamp, meta.original_url)
        if reduced is None:
            extracted = self._pool.extract(text, url)
        else:
            extracted = self._pool.extract(reduced.html, url, readability=reduced.readability)
        body = to_markdown(extracted["content"])
        if not body.strip():
            raise NotNormalizable("extracted article has no text", reason="no-text")
        extraction = extracted["extraction"] if reduced is None else f"{extracted['extraction']}-oversize"
        return _result(meta, extracted["title"], body, extraction, encoding)

    def close(self) -> None:
        """Stop the workers. Idempotent; later ``normalize`` calls raise PolicytrackError."""
        self._pool.close()

    def __enter__(self) -> "Normalizer":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def normalize(payload: bytes, meta: CaptureMeta, normalizer: Normalizer) -> Normalized:
    """Convenience form of ``normalizer.normalize(payload, meta)``."""
    return normalizer.normalize(payload, meta)
