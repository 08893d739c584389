"""``Range: bytes=...`` parsing per RFC 9110 section 14, bounded against multi-range abuse.

The parser only decides *what* to send; it never touches the store. Anything
it does not understand is ignored (the client gets the whole object, which is
always a correct answer), so a strange header can never turn into an error
page or an expensive response.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_RANGES = 8
# Ranges closer than this are merged: a part header costs about this much.
COALESCE_GAP = 80
MAX_HEADER_LENGTH = 1024


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte span, already clamped to the representation's size."""

    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.first}-{self.last}/{size}"


class RangeOutcome(Enum):
    FULL = "full"  # no usable Range: send 200 with the whole object
    PARTIAL = "partial"  # send 206 (one range) or multipart/byteranges (several)
    UNSATISFIABLE = "unsatisfiable"  # send 416 with Content-Range: bytes */size


@dataclass(frozen=True)
class RangeResult:
    outcome: RangeOutcome
    ranges: tuple[ByteRange, ...] = ()


FULL = RangeResult(RangeOutcome.FULL)
UNSATISFIABLE = RangeResult(RangeOutcome.UNSATISFIABLE)


def parse_range_header(value: str | None, size: int, max_ranges: int = MAX_RANGES) -> RangeResult:
    """Resolve a Range header against an object of ``size`` bytes.

    Invalid syntax, other units, more than ``max_ranges`` specs or ranges in
    descending order (which one pass over the object cannot serve in the
    requested order) give FULL. If no spec is satisfiable the result is
    UNSATISFIABLE. Satisfiable ranges are sorted and overlapping or nearly
    adjacent ones merged, which RFC 9110 permits and which keeps a response
    from ever being larger than the object plus a few part headers.
    """
    if not value or len(value) > MAX_HEADER_LENGTH or size <= 0:
        return FULL
    unit, sep, spec_list = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return FULL
    specs = [item.strip() for item in spec_list.split(",")]
    specs = [item for item in specs if item]  # RFC list syntax tolerates empty elements
    if not specs or len(specs) > max_ranges:
        return FULL
    satisfiable: list[ByteRange] = []
    for spec in specs:
        parsed = _parse_spec(spec)
        if parsed is None:
            return FULL
        resolved = _resolve(parsed, size)
        if resolved is not None:
            satisfiable.append(resolved)
    if not satisfiable:
        return UNSATISFIABLE
    if any(b.first < a.first for a, b in zip(satisfiable, satisfiable[1:], strict=False)):
        return FULL
    return RangeResult(RangeOutcome.PARTIAL, tuple(coalesce(satisfiable)))


def coalesce(ranges: list[ByteRange], gap: int = COALESCE_GAP) -> list[ByteRange]:
    """Sort and merge ranges that overlap or lie within ``gap`` bytes of each other."""
    merged: list[ByteRange] = []
    for current in sorted(ranges, key=lambda r: r.first):
        if merged and current.first <= merged[-1].last + 1 + gap:
            last = merged[-1]
            merged[-1] = ByteRange(last.first, max(last.last, current.last))
        else:
            merged.append(current)
    return merged


def _parse_spec(spec: str) -> tuple[int | None, int | None] | None:
    """``a-b`` -> (a, b); ``a-`` -> (a, None); ``-n`` -> (None, n); None when malformed."""
    first_text, sep, last_text = spec.partition("-")
    if not sep:
        return None
    first_text, last_text = first_text.strip(), last_text.strip()
    if first_text == "":
        if not _is_digits(last_text):
            return None
        return (None, int(last_text))
    if not _is_digits(first_text):
        return None
    if last_text == "":
        return (int(first_text), None)
    if not _is_digits(last_text):
        return None
    first, last = int(first_text), int(last_text)
    if last < first:
        return None  # RFC 9110: such a range-spec makes the whole header invalid
    return (first, last)


def _resolve(spec: tuple[int | None, int | None], size: int) -> ByteRange | None:
    first, last = spec
    if first is None:
        suffix = last or 0
        if suffix == 0:
            return None
        return ByteRange(max(size - suffix, 0), size - 1)
    if first >= size:
        return None
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))


def _is_digits(text: str) -> bool:
    return bool(text) and text.isascii() and text.isdigit()
