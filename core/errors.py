"""Every error policytrack raises on purpose derives from :class:`PolicytrackError`.

Two families matter to callers:

* :class:`RecordedOutcome` -- something about *one capture or page* that is data, not a failure
  (an archived error page, a blocked URL, an empty body). The crawler records the reason and moves on.
* everything else -- a failure of the run (archive unreachable, bad configuration, unknown site).
  The CLI turns these into one line on stderr and a non-zero exit.
"""

from __future__ import annotations


class PolicytrackError(Exception):
    """Root of policytrack's own errors; ``str(err)`` is a complete one-line message for users."""


class ConfigurationError(PolicytrackError):
    """A setting, URL or argument is invalid."""


class UnknownSite(PolicytrackError):
    """The named site is not tracked."""

    def __init__(self, hostname: str):
        super().__init__(f"unknown site {hostname!r}: add it first with 'policytrack add {hostname} URL'")
        self.hostname = hostname


class InvalidSite(PolicytrackError):
    """A hostname or page URL given by the user cannot be tracked."""


class NoVersion(PolicytrackError):
    """A query asked for a version that does not exist (no capture yet, or a date before the first one)."""


class NoRun(PolicytrackError):
    """A crawl run asked for by id does not exist."""


class ArchiveError(PolicytrackError):
    """The archive could not be used for the whole run (unreachable, refusing, misconfigured)."""


class RecordedOutcome(PolicytrackError):
    """A per-capture or per-page outcome that is recorded with its reason; the crawl goes on."""

    reason: str = "unknown"

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class NotNormalizable(RecordedOutcome):
    """A capture that yields no document: empty body, not HTML/PDF, nothing extractable."""


class MalformedCdxRow(RecordedOutcome):
    """A CDX line that cannot be parsed; carries the offending line."""

    reason = "malformed-cdx"

    def __init__(self, message: str, line: str):
        super().__init__(f"{message}: {line[:200]!r}")
        self.line = line


class BlockedUrl(RecordedOutcome):
    """The archive refuses to show this URL (robots.txt or an administrative exclusion)."""

    reason = "blocked"
