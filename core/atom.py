"""Atom (RFC 4287) building blocks shared by the scheduler's feed file and the web view's feeds.

Standard library ``xml.etree``: it escapes and encodes correctly, and an Atom feed is a dozen elements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A child Atom element ``tag`` of ``parent`` with optional text and attributes."""
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        child.text = text
    return child


def iso(when: datetime) -> str:
    """An Atom date: UTC, to the second, with a Z."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(change_id: int) -> str:
    """The stable id of a change's entry in every feed."""
    return f"urn:policytrack:change:{change_id}"
