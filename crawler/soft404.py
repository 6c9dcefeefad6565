"""Soft 404s: an archived ``200 OK`` whose page says the policy is not there.

Sites often answer a removed page with a friendly "page not found" and status 200; the archive keeps it
as a normal capture. Treating it as a version would record a "change" to an error page and back. A page
counts as a soft 404 when its title or first heading says so and its text is short: a real privacy
policy that merely mentions "404" is long.
"""

from __future__ import annotations

import re

_NOT_FOUND = re.compile(
    r"\b(404|page not found|not found|page (?:cannot|can't|could not) be found|no longer available|"
    r"page (?:does not|doesn't) exist|seite nicht gefunden|page introuvable|p[aá]gina no encontrada)\b",
    re.IGNORECASE,
)
MAX_WORDS = 150


def looks_like_soft_404(title: str, body: str) -> bool:
    words = len(body.split())
    if words > MAX_WORDS:
        return False
    heading = next((line.lstrip("#").strip() for line in body.splitlines() if line.strip()), "")
    return bool(_NOT_FOUND.search(title) or _NOT_FOUND.search(heading))
