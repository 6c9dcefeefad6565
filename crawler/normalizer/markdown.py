"""Readability's article HTML -> markdown, exactly as the corpus converted it.

The corpus used Python html2text 2020.1.16 with ``body_width = 0`` and ``ignore_images = True`` and
every other option at its default; other releases escape and wrap differently, so the version is
checked rather than trusted.
"""

from __future__ import annotations

import html2text

from core.errors import ConfigurationError

HTML2TEXT_VERSION = (2020, 1, 16)


def check_html2text() -> None:
    if tuple(html2text.__version__) != HTML2TEXT_VERSION:
        found = ".".join(map(str, html2text.__version__))
        raise ConfigurationError(f"html2text {found} is installed but the corpus form needs 2020.1.16; "
                                 "run 'make install'")


def to_markdown(html: str) -> str:
    # A converter per call: HTML2Text keeps parse state on the instance, and calls come from many threads.
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    return converter.handle(html)
