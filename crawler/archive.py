"""Where the archive lives and how its URLs are built. Configuration, not code.

``--archive`` / ``POLICYTRACK_ARCHIVE`` accepts:

* ``https://web.archive.org`` (default) or any other Wayback Machine host: CDX at ``/cdx/search/cdx``,
  raw captures at ``/web/{timestamp}id_/{url}``;
* ``pywb:http://HOST:PORT/COLL`` for a pywb (or OpenWayback-style) collection: CDX at ``/COLL/cdx``,
  raw captures at ``/COLL/{timestamp}id_/{url}``.

``id_`` asks for the capture exactly as archived: no rewritten links, no injected banner.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from core.errors import ConfigurationError

DEFAULT_ARCHIVE = "https://web.archive.org"
IA_CDX_PAGE_SIZE = 5000


@dataclass(frozen=True)
class Archive:
    kind: str  # "wayback" (Internet Archive dialect) or "pywb"
    base: str  # scheme://host[:port] for wayback; scheme://host[:port]/COLL for pywb

    @classmethod
    def parse(cls, spec: str | None) -> "Archive":
        """None (no archive given) is the default; a given one that is blank is an error like any other
        malformed spec, never taken for the default."""
        spec = DEFAULT_ARCHIVE if spec is None else spec.strip()
        kind = "wayback"
        if spec.startswith("pywb:"):
            kind, spec = "pywb", spec[len("pywb:"):]
        parts = urlsplit(spec)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"invalid archive {spec!r}: expected https://web.archive.org or pywb:http://HOST:PORT/COLLECTION"
            )
        try:
            if parts.port == 0:
                raise ValueError("port 0")
        except ValueError:
            raise ConfigurationError(f"invalid archive {spec!r}: the port must be a number from 1 to 65535") from None
        path = parts.path.rstrip("/")
        if kind == "pywb" and not path:
            raise ConfigurationError(f"invalid archive {spec!r}: a pywb archive needs a collection, e.g. pywb:http://127.0.0.1:8080/my-coll")
        if kind == "wayback" and path:
            raise ConfigurationError(f"invalid archive {spec!r}: give only the Wayback host, e.g. https://web.archive.org")
        return cls(kind=kind, base=f"{parts.scheme}://{parts.netloc}{path}")

    @property
    def spec(self) -> str:
        return f"pywb:{self.base}" if self.kind == "pywb" else self.base

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def cdx_url(self, url: str, resume_key: str | None = None, since: str | None = None,
                until: str | None = None) -> str:
        """CDX query for every capture of exactly ``url`` (from ``since`` to ``until``, inclusive, if given).

        On the Internet Archive, paging uses ``showResumeKey``/``resumeKey``: the ``page`` parameter works on
        the compressed index blocks and misses the most recent captures, and ``limit`` alone silently
        truncates. ``resolveRevisits`` turns ``warc/revisit`` rows into the mimetype/status they revisit.
        """
        window = {name: value for name, value in (("from", since), ("to", until)) if value}
        if self.kind == "pywb":
            return f"{self.base}/cdx?" + urlencode({"url": url, "output": "json", **window})
        params = {"url": url, "limit": IA_CDX_PAGE_SIZE, "showResumeKey": "true", "resolveRevisits": "true",
                  **window}
        if resume_key:
            params["resumeKey"] = resume_key
        return f"{self.base}/cdx/search/cdx?" + urlencode(params)

    def homepage_cdx_url(self, url: str, resume_key: str | None = None, since: str | None = None) -> str:
        """CDX query for a homepage's captures, one row per distinct payload (discovery's one listing);
        ``since``: only the captures from that timestamp on (inclusive), for a crawl's incremental check.

        The Internet Archive collapses adjacent rows with the same digest itself (``collapse=digest``);
        pywb has no collapse, and the discovery spider drops adjacent repeats the same way.
        """
        if self.kind == "pywb":
            return self.cdx_url(url, since=since)
        params = {"url": url, "limit": IA_CDX_PAGE_SIZE, "showResumeKey": "true", "collapse": "digest",
                  "filter": "statuscode:[23].."}
        if since:
            params["from"] = since
        if resume_key:
            params["resumeKey"] = resume_key
        return f"{self.base}/cdx/search/cdx?" + urlencode(params)

    def capture_url(self, timestamp: str, url: str) -> str:
        prefix = self.base if self.kind == "pywb" else f"{self.base}/web"
        return f"{prefix}/{timestamp}id_/{url}"

    def is_cdx_url(self, url: str) -> bool:
        return url.startswith(f"{self.base}/cdx")
