"""A contractor as a vCard 4.0 (RFC 6350), the card phones and address books import.

Rules followed (section numbers of RFC 6350):

* lines end in CRLF and are folded so no line is longer than 75 octets of UTF-8, never inside a character;
  a continuation line starts with one space (3.2);
* in text values backslash, comma and semicolon are escaped with a backslash and a line break is written
  ``\\n`` (3.4); ORG is a structured value, so its one component is escaped the same way; CATEGORIES is a
  comma-separated list, each entry escaped;
* URL is a URI, which is not backslash-escaped: a comma or semicolon in it is percent-encoded (``%2C``,
  ``%3B``) so no reader takes it for a list or component separator;
* empty properties are left out; FN, UID and REV are always there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_LINE_OCTETS = 75
CRLF = "\r\n"


@dataclass(frozen=True)
class Card:
    """What goes on the card."""

    uid: str
    name: str
    revised: datetime
    company: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    notes: str = ""
    categories: Sequence[str] = ()


def escape_text(value: str) -> str:
    """A text value escaped per RFC 6350 3.4 (any line break, CRLF included, becomes ``\\n``)."""
    escaped = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return escaped.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def uri_value(url: str) -> str:
    """A URI with the characters vCard readers split values on percent-encoded."""
    return url.replace(",", "%2C").replace(";", "%3B")


def fold(line: str) -> str:
    """``line`` folded into lines of at most 75 octets, CRLF + space between them, never inside a character."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            pieces.append("".join(current))
            current, size = [], 0
            limit = MAX_LINE_OCTETS - 1  # the leading space counts
        current.append(char)
        size += octets
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces)


def timestamp(moment: datetime) -> str:
    """A REV timestamp in UTC, e.g. ``20240131T083000Z``."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _categories(values: Sequence[str]) -> str:
    return ",".join(escape_text(c) for c in values)


# The optional properties, in the order they are written: (property and parameters, Card field, value encoder).
OPTIONAL_PROPERTIES: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("ORG", "company", escape_text),
    ("TEL;TYPE=work;VALUE=text", "phone", escape_text),
    ("EMAIL;TYPE=work", "email", escape_text),
    ("URL", "website", uri_value),
    ("NOTE", "notes", escape_text),
    ("CATEGORIES", "categories", _categories),
)


def _properties(card: Card) -> Iterable[str]:
    yield "BEGIN:VCARD"
    yield "VERSION:4.0"
    yield "FN:" + escape_text(card.name)
    for prop, field, encode in OPTIONAL_PROPERTIES:
        value = getattr(card, field)
        if value:  # empty properties are left out
            yield f"{prop}:{encode(value)}"
    yield "UID:" + card.uid
    yield "REV:" + timestamp(card.revised)
    yield "END:VCARD"


def render(card: Card) -> str:
    """The vCard text: every line folded and ended with CRLF."""
    return "".join(fold(line) + CRLF for line in _properties(card))
