"""Range parsing (RFC 9110 section 14) and conditional requests (section 13), table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Headers

from gateway.conditional import (
    evaluate_preconditions,
    format_etag,
    http_date,
    if_range_allows,
    parse_http_date,
)
from gateway.ranges import MAX_RANGES, ByteRange, RangeOutcome, coalesce, parse_range_header

SIZE = 1000
FULL, PARTIAL, UNSAT = RangeOutcome.FULL, RangeOutcome.PARTIAL, RangeOutcome.UNSATISFIABLE


@pytest.mark.parametrize(
    ("header", "outcome", "ranges"),
    [
        (None, FULL, []),
        ("", FULL, []),
        ("bytes=0-99", PARTIAL, [(0, 99)]),
        ("bytes=0-0", PARTIAL, [(0, 0)]),
        ("bytes=500-", PARTIAL, [(500, 999)]),
        ("bytes=-100", PARTIAL, [(900, 999)]),
        ("bytes=-5000", PARTIAL, [(0, 999)]),  # suffix longer than the object: all of it
        ("bytes=900-5000", PARTIAL, [(900, 999)]),  # last clamped
        ("bytes=999-999", PARTIAL, [(999, 999)]),
        ("BYTES = 0-9", PARTIAL, [(0, 9)]),  # unit is case-insensitive, whitespace tolerated
        ("bytes= 0-9 ", PARTIAL, [(0, 9)]),
        ("bytes=1000-", UNSAT, []),
        ("bytes=1000-2000", UNSAT, []),
        ("bytes=-0", UNSAT, []),
        ("bytes=1000-,2000-2001", UNSAT, []),
        ("bytes=5-1", FULL, []),  # last < first: invalid, ignored
        ("bytes=abc", FULL, []),
        ("bytes=1-2-3", FULL, []),
        ("bytes=-", FULL, []),
        ("bytes=", FULL, []),
        ("bytes=0x10-20", FULL, []),
        ("bytes=+1-2", FULL, []),
        ("bytes=١-٢", FULL, []),  # non-ASCII digits are not digits here
        ("items=0-9", FULL, []),
        ("0-9", FULL, []),
        ("bytes=0-9,abc", FULL, []),  # one bad spec invalidates the header
        ("bytes=0-9,200-209", PARTIAL, [(0, 9), (200, 209)]),
        ("bytes=0-9,,200-209", PARTIAL, [(0, 9), (200, 209)]),  # empty list elements are allowed
        ("bytes=0-9,2000-3000", PARTIAL, [(0, 9)]),  # unsatisfiable members are dropped
        ("bytes=0-99,50-150", PARTIAL, [(0, 150)]),  # overlap coalesced
        ("bytes=0-9,10-19", PARTIAL, [(0, 19)]),  # adjacent coalesced
        ("bytes=0-9,50-59", PARTIAL, [(0, 59)]),  # gap smaller than a part header coalesced
        ("bytes=0-9,500-509,-10", PARTIAL, [(0, 9), (500, 509), (990, 999)]),
        ("bytes=500-509,0-9", FULL, []),  # descending: one pass cannot serve it in order
        ("bytes=" + ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(MAX_RANGES)), PARTIAL,
         [(i * 100, i * 100 + 1) for i in range(MAX_RANGES)]),
        ("bytes=" + ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(MAX_RANGES + 1)), FULL, []),
        ("bytes=" + ",".join(["0-1"] * 500), FULL, []),  # the multi-range DoS shape
        ("bytes=0-" + "9" * 2000, FULL, []),  # absurdly long header: ignored
    ],
)
def test_parse_range_header(header: str | None, outcome: RangeOutcome, ranges: list[tuple[int, int]]) -> None:
    result = parse_range_header(header, SIZE)
    assert result.outcome is outcome
    assert [(r.first, r.last) for r in result.ranges] == ranges


def test_huge_numbers_are_clamped_not_trusted() -> None:
    result = parse_range_header("bytes=10-99999999999999999999", SIZE)
    assert [(r.first, r.last) for r in result.ranges] == [(10, 999)]


def test_empty_object_ignores_ranges() -> None:
    assert parse_range_header("bytes=0-10", 0).outcome is FULL


def test_coalesced_response_never_exceeds_the_object() -> None:
    result = parse_range_header("bytes=0-999,0-999,0-999,0-999", SIZE)
    assert [(r.first, r.last) for r in result.ranges] == [(0, 999)]


def test_byte_range_helpers() -> None:
    assert ByteRange(5, 9).length == 5
    assert ByteRange(5, 9).content_range(10) == "bytes 5-9/10"
    assert coalesce([ByteRange(300, 310), ByteRange(0, 5)], gap=0) == [ByteRange(0, 5), ByteRange(300, 310)]


# --- conditional requests -----------------------------------------------------------------------

ETAG = "d41d8cd98f00b204e9800998ecf8427e"
MODIFIED = datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)  # sub-second part must not matter
DATE = http_date(MODIFIED)
EARLIER = http_date(MODIFIED - timedelta(seconds=1))
LATER = http_date(MODIFIED + timedelta(days=1))


@pytest.mark.parametrize(
    ("headers", "method", "expected"),
    [
        ({}, "GET", None),
        ({"If-None-Match": f'"{ETAG}"'}, "GET", 304),
        ({"If-None-Match": f'"{ETAG}"'}, "HEAD", 304),
        ({"If-None-Match": f'W/"{ETAG}"'}, "GET", 304),  # weak comparison
        ({"If-None-Match": f'"other", "{ETAG}"'}, "GET", 304),
        ({"If-None-Match": "*"}, "GET", 304),
        ({"If-None-Match": '"other"'}, "GET", None),
        ({"If-None-Match": ETAG}, "GET", None),  # unquoted is not a match
        ({"If-Modified-Since": DATE}, "GET", 304),
        ({"If-Modified-Since": LATER}, "GET", 304),
        ({"If-Modified-Since": EARLIER}, "GET", None),
        ({"If-Modified-Since": "yesterday-ish"}, "GET", None),  # invalid dates are ignored
        # If-None-Match wins over If-Modified-Since.
        ({"If-None-Match": '"other"', "If-Modified-Since": LATER}, "GET", None),
        ({"If-Match": f'"{ETAG}"'}, "GET", None),
        ({"If-Match": '"other"'}, "GET", 412),
        ({"If-Match": f'W/"{ETAG}"'}, "GET", 412),  # If-Match uses strong comparison
        ({"If-Match": "*"}, "GET", None),
        ({"If-Unmodified-Since": EARLIER}, "GET", 412),
        ({"If-Unmodified-Since": DATE}, "GET", None),
        ({"If-Match": f'"{ETAG}"', "If-Unmodified-Since": EARLIER}, "GET", None),  # If-Match wins
    ],
)
def test_preconditions(headers: dict[str, str], method: str, expected: int | None) -> None:
    assert evaluate_preconditions(Headers(headers), method, ETAG, MODIFIED) == expected


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (None, True),
        (f'"{ETAG}"', True),
        ('"other"', False),
        (f'W/"{ETAG}"', False),  # weak tags never validate a range
        (DATE, True),
        (EARLIER, False),
        (LATER, False),  # a date must match exactly
        ("garbage", False),
    ],
)
def test_if_range(value: str | None, allowed: bool) -> None:
    assert if_range_allows(value, ETAG, MODIFIED) is allowed


def test_http_dates() -> None:
    assert DATE == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert parse_http_date(DATE) == MODIFIED.replace(microsecond=0)
    assert parse_http_date("Sunday, 01-Mar-26 12:00:00 GMT") == MODIFIED.replace(microsecond=0)
    assert parse_http_date("nonsense") is None
    assert format_etag(ETAG) == format_etag(f'"{ETAG}"') == f'"{ETAG}"'
